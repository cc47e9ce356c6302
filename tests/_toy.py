"""A small but real clusterer used only to test the shared base class.

An encoder with a softmax head trained to make confident, balanced
assignments that are invariant to augmentation (an IMSAT-style objective).
"""

import torch
from torch import nn

from skdeepcluster._base import BaseDeepClusterer, SoftAssignmentMixin
from skdeepcluster.nn.augment import ImageAugmenter, TabularAugmenter
from skdeepcluster.nn.backbones import build_encoder
from skdeepcluster.nn.losses import entropy, kl_categorical, marginal_entropy
from skdeepcluster.nn.loop import Step, train


class ToyClusterer(SoftAssignmentMixin, BaseDeepClusterer):
    def __init__(self, n_clusters=3, *, image_shape=None, max_epochs=15, batch_size=64,
                 learning_rate=1e-2, device="auto", random_state=None, verbose=0):
        self.n_clusters = n_clusters
        self.image_shape = image_shape
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _fit_module(self, X, generator):
        shape = tuple(X.shape[1:])
        self.module_ = nn.Sequential(build_encoder(shape, 16, conv_layers=((8, 3, 2),), hidden=(32,)),
                                     nn.ReLU(), nn.Linear(16, self.n_clusters)).to(X.device)
        augment = TabularAugmenter(0.1, 0.0) if len(shape) == 1 else ImageAugmenter(noise=0.05)
        opt = torch.optim.Adam(self.module_.parameters(), lr=self.learning_rate)

        def loss(idx):
            x = X[idx]
            logits = self.module_(x)
            probs = logits.softmax(1)
            return {
                "entropy": entropy(probs),
                "balance": -marginal_entropy(probs),
                "invariance": kl_categorical(logits, self.module_(augment(x, generator))),
            }

        train({"main": Step(opt, loss)}, ["main"], len(X), batch_size=self.batch_size,
              max_epochs=self.max_epochs, device=X.device, generator=generator,
              verbose=self.verbose, history=self.history_)

    def _inference(self, module, x):
        logits = module(x)
        return {"embedding": logits, "proba": logits.softmax(1)}
