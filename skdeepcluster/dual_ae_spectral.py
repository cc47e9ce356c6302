"""Deep spectral clustering using a dual autoencoder network (Yang et al., CVPR 2019)."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import BaseDeepClusterer
from .nn.backbones import MLP, build_decoder, build_encoder, flat_size
from .nn.losses import (
    CholeskyOrthonorm,
    GlobalMIEstimator,
    LocalMIEstimator,
    kl_normal,
    knn_affinity,
    spectral_loss,
)
from .nn.training import Step, train

__all__ = ["DualAESpectralClustering"]

# The paper's Table 2 for 28x28 input: four 3x3 convolutions of 16, 16, 32
# and 32 channels; as in the released code, the first and third downsample.
_CONV_LAYERS = ((16, 3, 2), (16, 3, 1), (32, 3, 2), (32, 3, 1))
_TABULAR_HIDDEN = (256, 256)
_SPECTRAL_HIDDEN = (512, 512, 256)


class _DualAESpectralNet(nn.Module):
    """Encoder (mean and log-variance), decoder, MI critics and spectral net."""

    def __init__(self, input_shape, latent_dim, n_clusters):
        super().__init__()
        tabular = len(input_shape) == 1
        hidden = _TABULAR_HIDDEN if tabular else ()
        # Local MI uses the middle layer's feature map, as the paper says.
        self.encoder = build_encoder(input_shape, 2 * latent_dim, _CONV_LAYERS, hidden,
                                     feature_layer=len(_CONV_LAYERS) // 2 - 1)
        self.decoder = build_decoder(input_shape, latent_dim, _CONV_LAYERS, hidden,
                                     output_activation=None if tabular else "sigmoid")
        self.mi_global = GlobalMIEstimator(flat_size(input_shape), latent_dim)
        self.mi_local = None if tabular else LocalMIEstimator(self.encoder.feature_shape[0], latent_dim,
                                                                  hidden=128)
        # Four fully connected layers (ReLU between them), then the orthonormal output.
        self.spectral = MLP([latent_dim, *_SPECTRAL_HIDDEN, n_clusters])
        self.orthonorm = CholeskyOrthonorm(n_clusters)
        # Joint phase: the prior of z given the spectral output y is N(y M, I).
        self.prior_mean = nn.Linear(n_clusters, latent_dim, bias=False)
        self.latent_dim = latent_dim

    def encode(self, x):
        out, features = self.encoder(x, return_features=True)
        mu, logvar = out.split(self.latent_dim, dim=1)
        return mu, logvar.clamp(-10.0, 10.0), features

    def embed(self, z):
        return self.orthonorm(self.spectral(z))


class DualAESpectralClustering(BaseDeepClusterer):
    """Deep spectral clustering using a dual autoencoder network (DSCDAN).

    A variational encoder maps each sample to a latent code ``z``.  A *dual*
    decoder reconstructs the input from ``z`` and from a noisy code
    ``z * eps`` (multiplicative Gaussian noise), and the mutual information
    between the input and ``z`` is maximised with a Jensen-Shannon estimator
    with shuffled negatives, both globally (a discriminator on ``(x, z)``)
    and locally (a 1x1-convolution discriminator on the encoder's feature map
    with ``z`` at every position); a KL term pulls ``z`` towards ``N(0, I)``.
    A SpectralNet then maps ``z`` to an orthonormal embedding ``y``
    minimising ``sum_ij W_ij ||y_i - y_j||^2`` on a k-nearest-neighbour
    Gaussian affinity, and both networks are trained jointly.  Labels are
    k-means on ``y``.

    Training runs in three phases: ``pretrain_epochs`` of the dual
    autoencoder alone, ``spectral_epochs`` of the spectral net on the frozen
    codes, then ``max_epochs`` of joint training, where the KL term's prior
    becomes ``N(y M, I)`` with a learned ``M`` (the paper's rewritten KL, which
    ties the latent space to the spectral embedding; for one-hot ``y`` this
    is one learned Gaussian per cluster, as in the released code).

    Every loss weight can be set to 0 to switch its term off, so the paper's
    ablation runs from the public API: ``mi_global_weight=mi_local_weight=0,
    dual_weight=0, spectral_weight=0`` is a plain (variational) ConvAE;
    add the MI weights back for ConvAE+MI, ``dual_weight`` for +RS, and
    ``spectral_weight`` for the full model (+SN); ``spectral_weight=0``
    clusters the spectral embedding learned on the autoencoder's codes alone.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters.
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` when 2-D input rows are images; see the user guide.
    latent_dim : int, default=120
        Size of ``z`` (the paper's 120).
    noise_std : float, default=0.5
        Standard deviation of the multiplicative noise ``eps ~ N(1, noise_std^2)``.
    dual_weight : float, default=1.0
        Weight of the relative reconstruction loss ``||G(z) - G(z * eps)||^2``.
    mi_global_weight : float, default=0.5
        Weight of the global mutual-information term.
    mi_local_weight : float, default=1.0
        Weight of the local mutual-information term (images only).
    kl_weight : float, default=0.1
        Weight of the KL term.
    spectral_weight : float, default=1.0
        Weight of the spectral loss in the joint phase.
    n_neighbors : int, default=3
        Neighbours in the affinity (the paper's 3).
    pretrain_epochs : int, default=60
        Epochs of dual-autoencoder training.
    spectral_epochs : int, default=40
        Epochs of spectral-net training on the frozen codes.
    max_epochs : int, default=20
        Epochs of joint training.
    batch_size : int, default=256
        Batch size of the autoencoder phase.
    spectral_batch_size : int, default=1024
        Batch size of the spectral and joint phases (the affinity is built
        within each batch, so larger batches hold more true neighbours).
    learning_rate : float, default=1e-3
        Adam learning rate.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, batches, noise and k-means; CPU fits with the
        same seed are identical.
    verbose : int, default=0
        Print a progress line every ``verbose`` epochs.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample.
    cluster_centers_ : ndarray of shape (n_clusters, n_clusters)
        k-means centres in the spectral embedding.
    module_ : torch.nn.Module
        The trained networks (on the CPU).
    history_ : list of dict
        Per-epoch mean of every loss term, with ``phase``
        (``"autoencoder"``, ``"spectral"`` or ``"joint"``), time and samples/s.
    n_iter_ : int
        Epochs run, all phases.
    n_features_in_ : int
        Values per sample.
    image_shape_ : tuple of int or None
        ``(C, H, W)`` of the training images, None for tabular data.
    device_ : torch.device
        Device the model was trained on.
    label_map_ : ndarray of shape (n_clusters,)
        Label given to each k-means cluster.
    input_offset_, input_scale_ : float or ndarray
        Input scaling learned in ``fit``.

    See Also
    --------
    DCCSClustering : Category-style representation clustering.

    References
    ----------
    .. [1] X. Yang, C. Deng, F. Zheng, J. Yan and W. Liu, "Deep Spectral
       Clustering using Dual Autoencoder Network", CVPR 2019.
    .. [2] U. Shaham, K. Stanton, H. Li, B. Nadler, R. Basri and Y. Kluger,
       "SpectralNet: Spectral Clustering using Deep Neural Networks", ICLR 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeepcluster import DualAESpectralClustering
    >>> X = load_digits().images[:300]
    >>> est = DualAESpectralClustering(n_clusters=10, pretrain_epochs=2,
    ...                                spectral_epochs=2, max_epochs=1,
    ...                                random_state=0)
    >>> est.fit_predict(X).shape
    (300,)
    >>> est.transform(X).shape
    (300, 10)
    """

    _parameter_constraints = {
        **BaseDeepClusterer._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "dual_weight": [Interval(Real, 0, None, closed="left")],
        "mi_global_weight": [Interval(Real, 0, None, closed="left")],
        "mi_local_weight": [Interval(Real, 0, None, closed="left")],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "spectral_weight": [Interval(Real, 0, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
        "spectral_epochs": [Interval(Integral, 0, None, closed="left")],
        "spectral_batch_size": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(self, n_clusters=10, *, image_shape=None, latent_dim=120, noise_std=0.5,
                 dual_weight=1.0, mi_global_weight=0.5, mi_local_weight=1.0, kl_weight=0.1,
                 spectral_weight=1.0, n_neighbors=3, pretrain_epochs=60, spectral_epochs=40,
                 max_epochs=20, batch_size=256, spectral_batch_size=1024, learning_rate=1e-3,
                 device="auto", random_state=None, verbose=0):
        self.n_clusters = n_clusters
        self.image_shape = image_shape
        self.latent_dim = latent_dim
        self.noise_std = noise_std
        self.dual_weight = dual_weight
        self.mi_global_weight = mi_global_weight
        self.mi_local_weight = mi_local_weight
        self.kl_weight = kl_weight
        self.spectral_weight = spectral_weight
        self.n_neighbors = n_neighbors
        self.pretrain_epochs = pretrain_epochs
        self.spectral_epochs = spectral_epochs
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.spectral_batch_size = spectral_batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------- losses
    def _autoencoder_terms(self, net, x, encoded, generator, prior_mean=0.0):
        """Dual reconstruction, global and local MI, and KL terms for a batch.

        ``encoded`` is ``net.encode(x)``.
        """
        mu, logvar, features = encoded
        eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
        z = mu + (0.5 * logvar).exp() * eps
        recon = net.decoder(z)
        terms = {"reconstruction": (recon - x).flatten(1).pow(2).sum(1).mean()}
        if self.dual_weight:
            noise = 1.0 + self.noise_std * torch.randn(z.shape, device=z.device, dtype=z.dtype,
                                                       generator=generator)
            noisy = net.decoder(z * noise)
            terms["dual"] = self.dual_weight * (recon - noisy).flatten(1).pow(2).sum(1).mean()
        if self.mi_global_weight:
            terms["mi_global"] = self.mi_global_weight * net.mi_global(x, z, generator)
        if self.mi_local_weight and net.mi_local is not None:
            terms["mi_local"] = self.mi_local_weight * net.mi_local(features, z, generator)
        if self.kl_weight:
            terms["kl"] = self.kl_weight * kl_normal(mu, logvar, prior_mean)
        return terms

    # ---------------------------------------------------------------- fit
    def _fit_module(self, X, generator):
        n = X.shape[0]
        device = X.device
        net = _DualAESpectralNet(tuple(X.shape[1:]), self.latent_dim, self.n_clusters).to(device)
        self.module_ = net
        amp = device.type == "cuda"
        common = dict(device=device, generator=generator, amp=amp, verbose=self.verbose,
                      history=self.history_)
        ae_params = [*net.encoder.parameters(), *net.decoder.parameters(),
                     *net.mi_global.parameters(),
                     *(net.mi_local.parameters() if net.mi_local is not None else [])]
        lr = self.learning_rate

        # Phase 1: the dual autoencoder with MI and KL(q(z|x) || N(0, I)).
        ae_opt = torch.optim.Adam(ae_params, lr=lr)

        def ae_loss(idx):
            x = X[idx]
            return self._autoencoder_terms(net, x, net.encode(x), generator)

        self._run_phase("autoencoder", {"ae": Step(ae_opt, ae_loss)}, n, self.batch_size,
                        self.pretrain_epochs, **common)

        # Phase 2: the spectral net on the frozen codes.
        net.eval()
        with torch.no_grad():
            codes = torch.cat([net.encode(X[i:i + 1024])[0] for i in range(0, n, 1024)])
        net.train()
        sn_opt = torch.optim.Adam(net.spectral.parameters(), lr=lr)

        def sn_loss(idx):
            z = codes[idx]
            return {"spectral": spectral_loss(net.embed(z), knn_affinity(z, self.n_neighbors))}

        self._run_phase("spectral", {"sn": Step(sn_opt, sn_loss)}, n, self.spectral_batch_size,
                        self.spectral_epochs, **common)

        # Phase 3: joint training, the KL prior now centred on y M.
        joint_opt = torch.optim.Adam([*ae_params, *net.spectral.parameters(),
                                      *net.prior_mean.parameters()], lr=lr)

        def joint_loss(idx):
            x = X[idx]
            encoded = net.encode(x)
            mu = encoded[0]
            y = net.embed(mu)
            terms = self._autoencoder_terms(net, x, encoded, generator, prior_mean=net.prior_mean(y))
            if self.spectral_weight:
                terms["spectral"] = self.spectral_weight * spectral_loss(
                    y, knn_affinity(mu, self.n_neighbors))
            return terms

        self._run_phase("joint", {"joint": Step(joint_opt, joint_loss)}, n,
                        self.spectral_batch_size, self.max_epochs, **common)

        # Read-out: orthonormalise over the whole training set, then k-means.  In
        # float64, as inference on the CPU runs, so the stored map matches it.
        net.eval()
        exact = copy.deepcopy(net).double()
        with torch.no_grad():
            hidden = torch.cat([exact.spectral(exact.encode(X[i:i + 1024].double())[0])
                                for i in range(0, n, 1024)])
            exact.orthonorm.set_weight(hidden)
            net.orthonorm.weight.copy_(exact.orthonorm.weight)
            embedding = exact.orthonorm(hidden).cpu().numpy()
        del exact
        seed = int(torch.randint(np.iinfo(np.int32).max, (1,), generator=generator, device=device))
        kmeans = KMeans(self.n_clusters, n_init=10, random_state=seed).fit(embedding)
        self.cluster_centers_ = kmeans.cluster_centers_

    def _run_phase(self, phase, steps, n, batch_size, epochs, **common):
        if epochs == 0:
            return
        start = len(common["history"])
        train(steps, list(steps), n, batch_size=batch_size, max_epochs=epochs,
              first_epoch=start, **common)
        for record in common["history"][start:]:
            record["phase"] = phase

    # ---------------------------------------------------------- inference
    def _inference(self, module, x):
        mu, _, _ = module.encode(x)
        y = module.embed(mu)
        centers = torch.as_tensor(self.cluster_centers_, dtype=y.dtype, device=y.device)
        return {"embedding": y, "labels": torch.cdist(y, centers).argmin(dim=1)}
