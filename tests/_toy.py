"""A small but real clusterer used only to test the shared base class.

An encoder with a softmax head trained to make confident, balanced
assignments that are invariant to augmentation (an IMSAT-style objective).
It implements the whole method contract of ``BaseDeepClusterer``, so the
base's warm starts, checkpoints and data-parallel fits run through it too.
"""

import torch
from torch import nn

from skdeepcluster._framework.base import BaseDeepClusterer, SoftAssignmentMixin
from skdeepcluster.nn.augment import ImageAugmenter, TabularAugmenter
from skdeepcluster.nn.backbones import build_encoder
from skdeepcluster.nn.distributed import gather_rows
from skdeepcluster.nn.loop import Step
from skdeepcluster.nn.losses import entropy, kl_categorical, marginal_entropy


class ToyClusterer(SoftAssignmentMixin, BaseDeepClusterer):
    def __init__(
        self,
        n_clusters=3,
        *,
        image_shape=None,
        max_epochs=15,
        batch_size=64,
        learning_rate=1e-2,
        device="auto",
        random_state=None,
        n_init=1,
        combine="consensus",
        verbose=0,
        max_device_bytes=None,
        warm_start=False,
        checkpoint_path=None,
        checkpoint_every=1,
    ):
        self.n_clusters = n_clusters
        self.image_shape = image_shape
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state
        self.n_init = n_init
        self.combine = combine
        self.verbose = verbose
        self.max_device_bytes = max_device_bytes
        self.warm_start = warm_start
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every

    def _build_module(self, X):
        shape = tuple(X.shape[1:])
        return nn.Sequential(
            build_encoder(shape, 16, conv_layers=((8, 3, 2),), hidden=(32,)),
            nn.ReLU(),
            nn.Linear(16, self.n_clusters_),
        ).to(X.device)

    def _train_module(self, module, X, trainer):
        augment = TabularAugmenter(0.1, 0.0) if X.dim() == 2 else ImageAugmenter(noise=0.05)
        opt = torch.optim.Adam(module.parameters(), lr=self.learning_rate)

        def loss(idx):
            x = X[idx]
            logits = module(x)
            probs = logits.softmax(1)
            return {
                "entropy": entropy(probs),
                "balance": -marginal_entropy(gather_rows(probs)),  # the whole batch's
                "invariance": kl_categorical(logits, module(augment(x, trainer.generator))),
            }

        trainer({"main": Step(opt, loss)}, batch_size=self.batch_size, max_epochs=self.max_epochs)

    def _inference(self, module, x):
        logits = module(x)
        return {"embedding": logits, "proba": logits.softmax(1)}
