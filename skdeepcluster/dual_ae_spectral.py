"""Deep spectral clustering using a dual autoencoder network (Yang et al., CVPR 2019)."""

import copy
import warnings
from numbers import Integral, Real

import torch
from sklearn.cluster import KMeans
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from torch import nn

from ._framework.base import BaseDeepClusterer
from ._framework.docs import shared_parameters
from ._framework.rules import Rule
from .nn.backbones import MLP, CholeskyOrthonorm, build_decoder, build_encoder, flat_size
from .nn.critics import GlobalMIEstimator, LocalMIEstimator
from .nn.data import map_chunks
from .nn.distributed import gather_rows
from .nn.latent import gaussian_sample
from .nn.loop import Step, adam, epochs_for_updates, generator_seed
from .nn.losses import contrastive_loss, kl_normal, spectral_loss
from .nn.neighbors import cosine_neighbors, knn_affinity, nearest_neighbors

__all__ = ["DualAESpectralClustering"]

# The paper's Table 2 for 28x28 input: four 3x3 convolutions of 16, 16, 32
# and 32 channels; as in the released code, the first and third downsample.
_CONV_LAYERS = ((16, 3, 2), (16, 3, 1), (32, 3, 2), (32, 3, 1))
_TABULAR_HIDDEN = (256, 256)
_SPECTRAL_HIDDEN = (512, 512, 256)
# SpectralNet's Siamese net (theirs: 1024-1024-512-10 for MNIST; narrower here,
# which trained as well in a fifth of the time on MNIST-test codes).
_SIAMESE_HIDDEN = (512, 512)
_SIAMESE_DIM = 10
# The values the "auto" rules (_auto_rules) key on; each parameter's entry says why.
_PAPER_CODE, _PAPER_INPUT, _MIN_CODE = 120, 784, 10
_PRETRAIN_UPDATES, _PRETRAIN_MAX_EPOCHS = 400, 100
_JOINT_UPDATES, _JOINT_MAX_EPOCHS = 50, 50
_BATCH, _NEIGHBORS = 256, 3
_SMALL_SET, _SMALL_BATCH, _SMALL_NEIGHBORS = 1024, 64, 10


def _auto_affinity_neighbors(est, facts, resolved):
    """``affinity_neighbors="auto"``: the paper's 3, 10 on small sets (or the deprecated alias)."""
    if est.n_neighbors not in ("deprecated", "auto"):
        return est.n_neighbors
    return _SMALL_NEIGHBORS if facts.n_samples < _SMALL_SET else _NEIGHBORS


def _auto_code_size(n_values):
    """``latent_dim="auto"``: the paper's ratio of code values to input values, within bounds."""
    paper = round(n_values * _PAPER_CODE / _PAPER_INPUT)
    return int(min(_PAPER_CODE, max(min(n_values, _MIN_CODE), paper)))


class _DualAESpectralNet(nn.Module):
    """Encoder (mean and log-variance), decoder, MI critics and spectral net."""

    def __init__(self, input_shape, latent_dim, n_clusters, siamese):
        super().__init__()
        tabular = len(input_shape) == 1
        hidden = _TABULAR_HIDDEN if tabular else ()
        # Local MI uses the middle layer's feature map, as the paper says.
        self.encoder = build_encoder(
            input_shape,
            2 * latent_dim,
            _CONV_LAYERS,
            hidden,
            feature_layer=len(_CONV_LAYERS) // 2 - 1,
        )
        self.decoder = build_decoder(
            input_shape,
            latent_dim,
            _CONV_LAYERS,
            hidden,
            output_activation=None if tabular else "sigmoid",
        )
        self.mi_global = GlobalMIEstimator(flat_size(input_shape), latent_dim)
        self.mi_local = (
            None
            if tabular
            else LocalMIEstimator(self.encoder.feature_shape[0], latent_dim, hidden=64)
        )
        # SpectralNet's Siamese net: the space the affinity is measured in.
        self.siamese = MLP([latent_dim, *_SIAMESE_HIDDEN, _SIAMESE_DIM]) if siamese else None
        # Four fully connected layers (ReLU between them), then the orthonormal output.
        affinity_dim = _SIAMESE_DIM if siamese else latent_dim
        self.spectral = MLP([affinity_dim, *_SPECTRAL_HIDDEN, n_clusters])
        self.orthonorm = CholeskyOrthonorm(n_clusters)
        # Joint phase: the prior of z given the spectral output y is N(y M, I).
        self.prior_mean = nn.Linear(n_clusters, latent_dim, bias=False)
        self.latent_dim = latent_dim

    def autoencoder_parameters(self):
        """The dual autoencoder's parameters: encoder, decoder and MI critics."""
        local = [] if self.mi_local is None else list(self.mi_local.parameters())
        return [
            *self.encoder.parameters(),
            *self.decoder.parameters(),
            *self.mi_global.parameters(),
            *local,
        ]

    def encode(self, x):
        out, features = self.encoder(x, return_features=True)
        mu, logvar = out.split(self.latent_dim, dim=1)
        return mu, logvar.clamp(-10.0, 10.0), features

    def affinity_space(self, z):
        """Where affinities are measured: the Siamese embedding of ``z``, or ``z`` itself."""
        return z if self.siamese is None else self.siamese(z)

    def embed(self, z):
        return self.orthonorm(self.spectral(self.affinity_space(z)))


@shared_parameters(
    draws="initialisation, batches, noise, pairs and k-means",
    warm_note="; warm starting continues the joint phase (phase 4) for\n"
    '        ``max_epochs`` more (``"auto"``: its count again), without repeating\n'
    "        the three before it",
)
class DualAESpectralClustering(BaseDeepClusterer):
    """Deep spectral clustering using a dual autoencoder network (DSCDAN).

    A variational encoder maps each sample to a latent code ``z``.  A *dual*
    decoder reconstructs the input from ``z`` and from a noisy code
    ``z * eps`` (multiplicative Gaussian noise), and the mutual information
    between the input and ``z`` is maximised with a Jensen-Shannon estimator
    with shuffled negatives, both globally (a discriminator on ``(x, z)``)
    and locally (a 1x1-convolution discriminator on the encoder's feature map
    with ``z`` at every position); a KL term pulls ``z`` towards ``N(0, I)``.
    A SpectralNet then maps the codes to an orthonormal embedding ``y``
    minimising ``sum_ij W_ij ||y_i - y_j||^2`` on a k-nearest-neighbour
    Gaussian affinity ``W``, and both networks are trained jointly.  Labels
    are k-means on ``y``.

    Training runs in four phases:

    1. ``pretrain_epochs`` of the dual autoencoder alone;
    2. with ``affinity="siamese"``, ``siamese_epochs`` of SpectralNet's
       Siamese net [2]_: the ``siamese_neighbors`` nearest neighbours of each
       code over the whole training set (exact, on the device) are positive
       pairs, random codes negative ones, and a contrastive loss (SpectralNet's
       margins 0.05 and 1) learns a space where the affinity is measured;
    3. ``spectral_epochs`` of the spectral net on the frozen codes, the
       affinity built within each batch of ``spectral_batch_size`` from the
       ``affinity_neighbors`` nearest neighbours in that space;
    4. ``max_epochs`` of joint training of the autoencoder and the spectral
       net, where the KL term's prior becomes ``N(y M, I)`` with a learned
       ``M`` (the paper's rewritten KL, which ties the latent space to the
       spectral embedding; for one-hot ``y`` this is one learned Gaussian per
       cluster, as in the released code).

    What this implementation chooses where the paper is silent or where it
    departs from it (each a parameter, so the paper's setting stays
    reachable):

    - ``affinity="siamese"`` measures the affinity in SpectralNet's Siamese
      space; ``affinity="knn"`` is the paper's Euclidean affinity on ``z``
      (the Siamese space clusters far better on MNIST; lab notes).  The
      spectral net takes
      the Siamese embedding as its input, and in the joint phase the graph
      stays that of the pretrained codes, as SpectralNet's does.
    - ``latent_dim="auto"`` keeps the paper's ratio of 120 code values for
      784 pixels (120 for 28x28, 10 for scikit-learn's 8x8 digits, at most
      120): 120 values for 64 pixels gave an over-complete code that clusters
      worse than the pixels.
    - ``pretrain_epochs="auto"`` and ``max_epochs="auto"`` give about 400
      autoencoder updates (at most 100 epochs) and 50 joint updates (at most
      50 epochs), so that a small data set trains as long as a large one.
    - ``batch_size="auto"`` and ``affinity_neighbors="auto"`` are 256 and the
      paper's 3, except on fewer than 1,024 samples: there batches of 64 (so
      the autoencoder gets its ~400 updates within 100 epochs rather than
      one update per epoch) and a 10-neighbour graph, which a whole-set
      spectral batch can afford and which connects the few images of each
      cluster (figures: lab notes, "Measurements behind the
      defaults"); ``batch_size=256, affinity_neighbors=3`` keeps the large
      sets' values on any set.
    - In the joint phase ``y`` enters the prior ``N(y M, I)`` as a target:
      the KL gradient does not reach the spectral net (with it, joint
      epochs lowered MNIST-test accuracy).  The spectral loss is
      normalised as in SpectralNet's released code (see
      :func:`skdeepcluster.nn.losses.spectral_loss`).

    Every loss weight can be set to 0 to switch its term off, so the paper's
    ablation runs from the public API: ``mi_global_weight=mi_local_weight=0,
    dual_weight=0, spectral_weight=0`` is a plain (variational) ConvAE;
    add the MI weights back for ConvAE+MI, ``dual_weight`` for +RS, and
    ``spectral_weight`` for the full model (+SN); ``spectral_weight=0``
    clusters the spectral embedding learned on the autoencoder's codes alone.
    ``affinity="knn", affinity_neighbors=3, latent_dim=120, pretrain_epochs=...,
    max_epochs=...`` follows the paper's equations.

    Parameters
    ----------
    n_clusters : int or "auto", default=10
        Number of clusters.
    <count>
    <image_shape>
    latent_dim : int or "auto", default="auto"
        Size of ``z``.  ``"auto"``: the paper's 120 for 28x28 images, the same
        ratio to the number of input values for other sizes, at least
        ``min(n_features, 10)`` and at most 120.
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
    affinity : {"siamese", "knn"}, default="siamese"
        Where the k-nearest-neighbour affinity is measured: in the embedding
        of SpectralNet's Siamese net trained on the codes, or (the paper's)
        between the codes ``z`` themselves.
    affinity_neighbors : int or "auto", default="auto"
        Neighbours of each row in the affinity graph built within a batch.
        ``"auto"``: the paper's 3, or 10 on fewer than 1,024 samples, which
        one spectral batch holds whole (scikit-learn's ``SpectralClustering``
        default; measured on COIL-20 with 10 images per object, lab notes).
    n_neighbors : int or "auto", default="deprecated"
        The former name of ``affinity_neighbors``.

        .. deprecated:: 0.1
           ``n_neighbors`` was renamed ``affinity_neighbors`` in 0.1 (in
           DCCSClustering and GATCluster ``n_neighbors`` counts the
           neighbours views are drawn from) and will be removed in 0.2.
    siamese_neighbors : int, default=3
        Nearest neighbours of each code (over the whole training set) taken
        as positive pairs by the Siamese net (SpectralNet uses 2 on MNIST).
    siamese_pairs : {"auto", "codes", "input"}, default="auto"
        Where those neighbours are found: among the pretrained codes
        (SpectralNet's), or among the input rows themselves (cosine).
        ``"auto"``: the input for feature rows (such as
        :class:`~skdeepcluster.PretrainedFeatures`' rows), whose own
        neighbours are more reliable than those of codes learned from them,
        the codes for images.
    pretrain_epochs : int or "auto", default="auto"
        Epochs of dual-autoencoder training; ``"auto"``: about 400 updates, at
        most 100 epochs (58 epochs for 1,797 samples, 11 for 10,000).
    siamese_epochs : int, default=20
        Epochs of Siamese training (unused with ``affinity="knn"``).
    spectral_epochs : int, default=40
        Epochs of spectral-net training on the frozen codes.
    max_epochs : int or "auto", default="auto"
        Epochs of joint training (0 skips it); ``"auto"``: about 50 updates,
        at most 50 epochs.
    batch_size : int or "auto", default="auto"
        Batch size of the autoencoder and Siamese phases.  ``"auto"``: 256, or
        64 on fewer than 1,024 samples, so a small set's autoencoder reaches
        its ~400 updates within the epoch cap.
    spectral_batch_size : int, default=1024
        Batch size of the spectral and joint phases (the affinity is built
        within each batch, so larger batches hold more true neighbours).
    learning_rate : float, default=1e-3
        Adam learning rate.
    <common parameters>

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
        (``"autoencoder"``, ``"siamese"``, ``"spectral"`` or ``"joint"``),
        time and samples/s.
    n_iter_ : int
        Epochs run, all phases.
    label_map_ : ndarray of shape (n_clusters,)
        Label given to each k-means cluster.
    <common attributes>

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
        "latent_dim": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "dual_weight": [Interval(Real, 0, None, closed="left")],
        "mi_global_weight": [Interval(Real, 0, None, closed="left")],
        "mi_local_weight": [Interval(Real, 0, None, closed="left")],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "spectral_weight": [Interval(Real, 0, None, closed="left")],
        "affinity_neighbors": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "n_neighbors": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            Hidden(StrOptions({"deprecated"})),
        ],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "spectral_epochs": [Interval(Integral, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "spectral_batch_size": [Interval(Integral, 2, None, closed="left")],
        "affinity": [StrOptions({"siamese", "knn"})],
        "siamese_neighbors": [Interval(Integral, 1, None, closed="left")],
        "siamese_pairs": [StrOptions({"auto", "codes", "input"})],
        "siamese_epochs": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters=10,
        *,
        image_shape=None,
        latent_dim="auto",
        noise_std=0.5,
        dual_weight=1.0,
        mi_global_weight=0.5,
        mi_local_weight=1.0,
        kl_weight=0.1,
        spectral_weight=1.0,
        affinity="siamese",
        affinity_neighbors="auto",
        n_neighbors="deprecated",
        siamese_neighbors=3,
        siamese_pairs="auto",
        pretrain_epochs="auto",
        siamese_epochs=20,
        spectral_epochs=40,
        max_epochs="auto",
        batch_size="auto",
        spectral_batch_size=1024,
        learning_rate=1e-3,
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
        self.latent_dim = latent_dim
        self.noise_std = noise_std
        self.dual_weight = dual_weight
        self.mi_global_weight = mi_global_weight
        self.mi_local_weight = mi_local_weight
        self.kl_weight = kl_weight
        self.spectral_weight = spectral_weight
        self.affinity = affinity
        self.affinity_neighbors = affinity_neighbors
        self.n_neighbors = n_neighbors
        self.siamese_neighbors = siamese_neighbors
        self.siamese_pairs = siamese_pairs
        self.pretrain_epochs = pretrain_epochs
        self.siamese_epochs = siamese_epochs
        self.spectral_epochs = spectral_epochs
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.spectral_batch_size = spectral_batch_size
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

    # ---------------------------------------------------------------- fit
    # Each rule's reason is in its parameter's entry above.
    _auto_rules = {
        "latent_dim": Rule(lambda est, facts, _: _auto_code_size(facts.n_values)),
        "affinity_neighbors": Rule(_auto_affinity_neighbors),
        "batch_size": Rule(
            lambda est, facts, _: _SMALL_BATCH if facts.n_samples < _SMALL_SET else _BATCH
        ),
        "pretrain_epochs": Rule(
            lambda est, facts, resolved: min(
                _PRETRAIN_MAX_EPOCHS,
                epochs_for_updates(facts.n_samples, resolved["batch_size"], _PRETRAIN_UPDATES),
            )
        ),
        "max_epochs": Rule(
            lambda est, facts, _: min(
                _JOINT_MAX_EPOCHS,
                epochs_for_updates(facts.n_samples, est.spectral_batch_size, _JOINT_UPDATES),
            )
        ),
        "siamese_pairs": Rule(lambda est, facts, _: "codes" if facts.image else "input"),
    }

    def _check_params(self):
        if self.n_neighbors == "deprecated":
            return
        if self.affinity_neighbors != "auto":
            raise ValueError(
                "n_neighbors is the deprecated name of affinity_neighbors; set only "
                f"affinity_neighbors (got n_neighbors={self.n_neighbors!r} and "
                f"affinity_neighbors={self.affinity_neighbors!r})."
            )
        warnings.warn(
            "n_neighbors was renamed affinity_neighbors in 0.1 and will be removed in 0.2; "
            "pass affinity_neighbors instead.",
            FutureWarning,
            stacklevel=4,  # _check_params, fit, its _fit_context wrapper: the line calling fit
        )

    def _build_module(self, data):
        return _DualAESpectralNet(
            tuple(data.shape[1:]),
            self.resolved_params_["latent_dim"],
            self.n_clusters_,
            self.affinity == "siamese",
        ).to(data.device)

    def _train_module(self, module, data, trainer):
        """The four phases; a resumed fit skips those its state finished."""
        self._train_autoencoder(module, data, trainer)
        codes = None  # the pretrained encoder's, which phases 2 and 3 leave as it is
        if module.siamese is not None and trainer.pending("siamese"):
            codes = self._pretrained_codes(module, data)
            self._train_siamese(module, data, codes, trainer)
        # Phase 4 changes the encoder: the graph space of phase 3 is kept in the fit's state.
        with torch.no_grad():
            space = trainer.cached(
                "space",
                lambda: module.affinity_space(
                    self._pretrained_codes(module, data) if codes is None else codes
                ),
            )
        self._train_spectral(module, space, trainer)
        self._train_jointly(module, data, space, trainer)

    def _pretrained_codes(self, module, data):
        """The encoder's mean codes of every training row (computed when needed, never stored)."""
        return torch.cat(map_chunks(lambda x: module.encode(x)[0], data, 1024, module=module))

    # --------------------------------------------------------------- phases
    def _train_autoencoder(self, module, data, trainer):
        """Phase 1: the dual autoencoder with MI and ``KL(q(z|x) || N(0, I))``."""
        generator = trainer.generator

        def loss(idx):
            x = data[idx]
            return self._autoencoder_terms(module, x, module.encode(x), generator)

        trainer(
            {"ae": Step(adam(module.autoencoder_parameters(), lr=self.learning_rate), loss)},
            phase="autoencoder",
            batch_size=self.resolved_params_["batch_size"],
            max_epochs=self.resolved_params_["pretrain_epochs"],
        )

    def _train_siamese(self, module, data, codes, trainer):
        """Phase 2, SpectralNet's Siamese net: each code's neighbours close, random codes apart."""
        k = min(self.siamese_neighbors, len(codes) - 1)
        if self.resolved_params_["siamese_pairs"] == "input":
            neighbors = cosine_neighbors(data, k)
        else:
            _, neighbors = nearest_neighbors(codes, k)
        generator = trainer.generator
        trainer(
            {
                "siamese": Step(
                    adam(module.siamese.parameters(), lr=self.learning_rate),
                    lambda idx: self._siamese_terms(module, codes, neighbors, idx, generator),
                )
            },
            phase="siamese",
            batch_size=self.resolved_params_["batch_size"],
            max_epochs=self.siamese_epochs,
        )

    def _train_spectral(self, module, space, trainer):
        """Phase 3: the spectral net on the frozen codes' graph space."""
        trainer(
            {
                "sn": Step(
                    adam(module.spectral.parameters(), lr=self.learning_rate),
                    lambda idx: {"spectral": self._spectral_term(module, space[idx])},
                )
            },
            phase="spectral",
            batch_size=self.spectral_batch_size,
            max_epochs=self.spectral_epochs,
        )

    def _train_jointly(self, module, data, space, trainer):
        """Phase 4: the autoencoder and the spectral net together, the KL prior on ``y M``."""
        params = [
            *module.autoencoder_parameters(),
            *module.spectral.parameters(),
            *module.prior_mean.parameters(),
        ]
        generator = trainer.generator
        trainer(
            {
                "joint": Step(
                    adam(params, lr=self.learning_rate),
                    lambda idx: self._joint_terms(module, data[idx], space[idx], generator),
                )
            },
            phase="joint",
            batch_size=self.spectral_batch_size,
            max_epochs=self.resolved_params_["max_epochs"],
        )

    # ---------------------------------------------------------------- losses
    def _autoencoder_terms(self, module, x, encoded, generator, prior_mean=0.0):
        """Dual reconstruction, global and local MI, and KL terms for a batch.

        ``encoded`` is ``module.encode(x)``.
        """
        mu, logvar, features = encoded
        z = gaussian_sample(mu, logvar, generator)
        recon = module.decoder(z)
        terms = {"reconstruction": (recon - x).flatten(1).pow(2).sum(1).mean()}
        if self.dual_weight:
            noise = 1.0 + self.noise_std * torch.randn(
                z.shape, device=z.device, dtype=z.dtype, generator=generator
            )
            noisy = module.decoder(z * noise)
            terms["dual"] = self.dual_weight * (recon - noisy).flatten(1).pow(2).sum(1).mean()
        if self.mi_global_weight:
            terms["mi_global"] = self.mi_global_weight * module.mi_global(x, z, generator)
        if self.mi_local_weight and module.mi_local is not None:
            terms["mi_local"] = self.mi_local_weight * module.mi_local(features, z, generator)
        if self.kl_weight:
            terms["kl"] = self.kl_weight * kl_normal(mu, logvar, prior_mean)
        return terms

    def _siamese_terms(self, module, codes, neighbors, idx, generator):
        """Contrastive loss of the codes ``idx``: their neighbours positive, random codes not."""
        n, k = len(codes), neighbors.shape[1]
        random_codes = torch.randint(n, (len(idx), k), device=codes.device, generator=generator)
        partners = torch.cat([neighbors[idx], random_codes], dim=1)
        out = module.siamese(torch.cat([codes[idx], codes[partners.flatten()]]))
        anchor, others = out[: len(idx)], out[len(idx) :].view(len(idx), 2 * k, -1)
        return {"siamese": contrastive_loss(anchor, others[:, :k], others[:, k:])}

    def _spectral_term(self, module, own):
        """SpectralNet's loss of a batch's graph-space rows ``own`` (the whole batch's graph)."""
        a = gather_rows(own)  # the whole batch's graph and orthonormalisation
        y = module.orthonorm(gather_rows(module.spectral(own)))
        return spectral_loss(y, knn_affinity(a, self.resolved_params_["affinity_neighbors"]))

    def _joint_terms(self, module, x, space_rows, generator):
        """Phase 4's terms: the autoencoder's, the KL prior centred on ``y M``, the spectral loss.

        ``y`` enters the prior as a target (no gradient into the spectral net
        through the KL term, which is far larger than the spectral loss and
        would rewrite the embedding).  With the Siamese affinity the graph
        stays that of the pretrained codes (``space_rows``), as SpectralNet's;
        the paper's affinity follows ``z``.
        """
        encoded = module.encode(x)
        a = module.affinity_space(encoded[0])
        hidden, own = gather_rows(module.spectral(a), own=True)  # the whole batch's
        y = module.orthonorm(hidden)
        terms = self._autoencoder_terms(
            module, x, encoded, generator, prior_mean=module.prior_mean(y[own].detach())
        )
        if self.spectral_weight:
            graph = gather_rows(a if module.siamese is None else space_rows)
            affinity = knn_affinity(graph, self.resolved_params_["affinity_neighbors"])
            terms["spectral"] = self.spectral_weight * spectral_loss(y, affinity)
        return terms

    # ------------------------------------------------------------- read-out
    def _read_out(self, module, data, generator):
        """Orthonormalise over the whole training set, then k-means.

        In float64, as inference on the CPU runs, so the stored map matches it.
        """
        module.eval()
        exact = copy.deepcopy(module).double()
        hidden = torch.cat(
            map_chunks(
                lambda x: exact.spectral(exact.affinity_space(exact.encode(x.double())[0])),
                data,
                1024,
            )
        )
        with torch.no_grad():
            exact.orthonorm.set_weight(hidden)
            module.orthonorm.weight.copy_(exact.orthonorm.weight)
            embedding = exact.orthonorm(hidden).cpu().numpy()
        kmeans = KMeans(self.n_clusters_, n_init=10, random_state=generator_seed(generator))
        kmeans.fit(embedding)
        self.cluster_centers_ = kmeans.cluster_centers_

    # ---------------------------------------------------------- inference
    def _inference(self, module, x):
        mu, _, _ = module.encode(x)
        y = module.embed(mu)
        centers = torch.as_tensor(self.cluster_centers_, dtype=y.dtype, device=y.device)
        return {"embedding": y, "labels": torch.cdist(y, centers).argmin(dim=1)}
