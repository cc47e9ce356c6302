"""Deep image clustering with category-style representation (Zhao et al., ECCV 2020)."""

import copy
import math
from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._framework.base import BaseDeepClusterer, SoftAssignmentMixin
from ._framework.docs import shared_parameters
from ._framework.feature_rows import FeatureRowsMixin
from ._framework.rules import Rule
from .nn.augment import ImageAugmenter, TabularAugmenter, apply_color_mode, check_crop_scale
from .nn.backbones import MLP, ResNetEncoder, build_encoder, conv_output_size, flat_size
from .nn.critics import GlobalMIEstimator
from .nn.distributed import gather_rows
from .nn.loop import Step, adam, epochs_for_updates, warmup_cosine
from .nn.losses import gradient_penalty, kl_categorical, marginal_entropy

__all__ = ["DCCSClustering"]

# The official encoder for 28x28 images: two unpadded 4x4 stride-2 convolutions
# (64 and 128 channels, giving a 5x5x128 map), then FC 1024 and the output.
_CONV_LAYERS = ((64, 4, 2, 0), (128, 4, 2, 0))
_CONV_HIDDEN = (1024,)
_TABULAR_HIDDEN = (512, 512)
_CRITIC_HIDDEN = (1024, 512)
_MI_HIDDEN = (1024, 512)
# The conv encoder on images larger than 28 px: more unpadded 4x4 stride-2
# convolutions, widths doubling up to 512, while the map they give is at
# least this wide (32 px: 15, 6; 64 px: 31, 14, 6; 96 px: 47, 22, 10, 4).
_CONV_MIN_MAP = 4
_CONV_MAX_CHANNELS = 512
# The values the "auto" rules (_auto_rules) key on; each parameter's entry says why.
_RESNET_MIN_SIZE = 32
_OFFICIAL_CROP_SCALE = (0.4, 1.0)
_MILD_CROP_SCALE = (0.7, 1.0)
_SMALL_IMAGE_SIZE = 28
_LARGE_SET_IMAGES = 500
_OFFICIAL_BETA_AUG, _NEIGHBOR_BETA_AUG = 2.0, 0.5
_FLIP_MIN_SIZE = 32
_AUTO_UPDATES_PER_CLUSTER = 55
_AUTO_MIN_EPOCHS, _AUTO_MAX_EPOCHS = 100, 1000
_AUTO_BALANCE_IMAGES = 1000
_AUTO_BALANCE_MIN, _AUTO_BALANCE_MAX = 1.0, 4.0


def _conv_layers(spatial):
    """The official 28 px convolutions, more of them for larger images (``_CONV_MIN_MAP``)."""
    layers = list(_CONV_LAYERS)
    size = min(spatial)
    for _, kernel, stride, padding in layers:
        size = conv_output_size(size, kernel, stride, padding)
    kernel_stride_padding = (4, 2, 0)
    while conv_output_size(size, *kernel_stride_padding) >= _CONV_MIN_MAP:
        layers.append((min(2 * layers[-1][0], _CONV_MAX_CHANNELS), *kernel_stride_padding))
        size = conv_output_size(size, *kernel_stride_padding)
    return tuple(layers)


def _auto_crop_scale(est, facts):
    """``crop_scale="auto"``: the official range, milder for small images or few per cluster."""
    if not facts.image:
        return None
    small = facts.side < _SMALL_IMAGE_SIZE or facts.n_samples < _LARGE_SET_IMAGES * facts.n_clusters
    return _MILD_CROP_SCALE if small else _OFFICIAL_CROP_SCALE


def _auto_encoder(est, facts):
    """``encoder="auto"``: the official ResNet for images large enough, on a GPU."""
    input_shape = tuple(est._prepare(facts.data[:1]).shape[1:])
    large = len(input_shape) == 3 and min(input_shape[1:]) >= _RESNET_MIN_SIZE
    return "resnet" if large and facts.device.type == "cuda" else "conv"


def _auto_epochs(est, facts):
    """``max_epochs="auto"``: encoder updates per cluster, one per image at most."""
    encoder_updates = min(_AUTO_UPDATES_PER_CLUSTER * facts.n_clusters, facts.n_samples)
    batches_per_update = 1 + (est.n_critic if est.beta_adv > 0 else 0)
    return epochs_for_updates(
        facts.n_samples,
        est.batch_size,
        encoder_updates * batches_per_update,
        _AUTO_MIN_EPOCHS,
        _AUTO_MAX_EPOCHS,
    )


class _ModuleEncoder(nn.Module):
    """A user's backbone (images to features), a linear layer to ``z`` on its flattened output."""

    def __init__(self, backbone, input_shape, latent_dim):
        super().__init__()
        self.backbone = backbone
        was_training = backbone.training
        with torch.no_grad():
            out = backbone.eval()(torch.zeros(2, *input_shape))
        backbone.train(was_training)
        if not isinstance(out, torch.Tensor) or out.dim() < 2 or out.shape[0] != 2:
            raise ValueError(
                "encoder must map a batch of images (n, C, H, W) to a tensor of shape (n, ...); "
                f"on images of shape {tuple(input_shape)} it returned "
                f"{type(out).__name__ if not isinstance(out, torch.Tensor) else tuple(out.shape)}."
            )
        self.feature_shape = tuple(out.shape[1:])
        self.head = nn.Linear(flat_size(self.feature_shape), latent_dim)

    def forward(self, x, return_features=False):
        features = self.backbone(x)
        z = self.head(features.flatten(1))
        return (z, features) if return_features else z


class _DCCSNet(nn.Module):
    """Encoder (style and category parts), prior critic and MI discriminator."""

    def __init__(self, input_shape, style_dim, n_clusters, encoder="conv"):
        super().__init__()
        latent = style_dim + n_clusters
        if isinstance(encoder, nn.Module):
            self.encoder = _ModuleEncoder(encoder, input_shape, latent)
        elif len(input_shape) == 1:
            self.encoder = build_encoder(input_shape, latent, hidden=_TABULAR_HIDDEN)
        elif encoder == "resnet":
            self.encoder = ResNetEncoder(input_shape, latent)
        else:
            self.encoder = build_encoder(
                input_shape, latent, _conv_layers(input_shape[1:]), _CONV_HIDDEN
            )
        self.critic = MLP([latent, *_CRITIC_HIDDEN, 1], activation="leaky_relu")
        self.mi = GlobalMIEstimator(flat_size(self.encoder.feature_shape), latent, _MI_HIDDEN)
        self.style_dim = style_dim
        # the user's backbone keeps its own weights
        own = [
            self.encoder.head if isinstance(self.encoder, _ModuleEncoder) else self.encoder,
            self.critic,
            self.mi,
        ]
        for part in own:  # Xavier-normal, as the official code
            for module in part.modules():
                if isinstance(module, (nn.Linear, nn.Conv2d)):
                    nn.init.xavier_normal_(module.weight)
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)

    def forward(self, x, return_features=False):
        """``z = [z_s, z_c]`` (``z_c`` as logits) of inputs ``DCCSClustering._prepare`` gave."""
        return self.encoder(x, return_features=return_features)

    def representation(self, z):
        """``[z_s, softmax(z_c)]``, the vector matched to the prior."""
        return torch.cat([z[:, : self.style_dim], z[:, self.style_dim :].softmax(dim=1)], dim=1)


@shared_parameters(
    draws="initialisation, batches, augmentations and prior samples",
    warm_note=' (with the constant learning rate; ``lr_schedule="cosine"`` is planned\n'
    "        over the epochs so far, and the first 5 have already decayed it to zero)",
    neighbors_note="; the fewer the neighbours, the more of them share a\n        row's class "
    "(CIFAR-10's features: ACC 0.79-0.81 with 5, 0.76 with 20)",
)
class DCCSClustering(FeatureRowsMixin, SoftAssignmentMixin, BaseDeepClusterer):
    """Deep image clustering with category-style representation (DCCS).

    An encoder maps each image to ``z = [z_s, z_c]``: a *style* vector
    ``z_s`` and *category* logits ``z_c`` with one entry per cluster.  Three
    losses shape it:

    - a prior on ``[z_s, softmax(z_c)]`` (``z_s ~ N(0, style_std^2 I)``,
      ``z_c`` a uniformly drawn one-hot vector) imposed adversarially by a
      critic trained with WGAN-GP, ``n_critic`` critic steps per encoder step,
      which makes ``softmax(z_c)`` confident and the clusters balanced;
    - the mutual information between an intermediate encoder feature and
      ``z`` (Jensen-Shannon estimator with shuffled ``z`` as negatives; the
      discriminator trains with the encoder);
    - augmentation invariance of the category part only,
      ``KL(softmax z_c(x) || softmax z_c(aug(x)))``, with per-sample
      augmentations on the device (random resized crop, officially of scale
      0.4-1, colour jitter, channel shuffle for colour images, flips for
      photographs), so that
      ``z_c`` keeps what augmentations preserve and ``z_s`` the rest.

    By default a fourth term, not in the paper, keeps every category in use
    (``beta_balance``), and the defaults of ``max_epochs``, ``batch_size``,
    ``crop_scale`` and ``hflip`` depart from the official code's; each
    parameter says why and which value restores the paper.

    Labels are ``argmax z_c``; :meth:`predict_proba` gives ``softmax(z_c)``.

    Parameters
    ----------
    n_clusters : int or "auto", default=10
        Number of clusters (the size of ``z_c``).
    <count>
    <image_shape>
    style_dim : int, default=50
        Size of the style part ``z_s``.
    style_std : float, default=0.1
        Standard deviation of the style prior.
    beta_mi : float, default=0.5
        Weight of the mutual-information loss.
    beta_adv : float, default=1.0
        Weight of the adversarial prior-matching loss (critic and encoder).
    beta_aug : float or "auto", default="auto"
        Weight of the augmentation-invariance loss.  ``"auto"``: 2, the
        official value for MNIST (the authors use 4 for CIFAR-10), with
        augmented views; 0.5 with neighbour views (``views``), whose
        positive is another sample, and whose pull at 2 emptied 2-4 of 40
        clusters of 10 faces (ORL's features), at 0.5 at most one.
    beta_balance : float or "auto", default="auto"
        Weight of a guard against empty categories, not in the paper:
        ``KL(p || uniform) = log K - H(p)`` of the batch-mean assignment
        ``p = mean softmax(z_c)``, added to the encoder's loss (IIC, SCAN and
        GATCluster use this entropy).  The adversarial prior alone keeps the
        categories populated only while ``softmax(z_c)`` is soft; once it is
        confident its gradient no longer moves images into an empty category,
        and with 20 categories the official losses left up to 13 of 20
        empty.  ``"auto"`` is ``1000 / (n_samples / n_clusters)`` kept
        within 1-4: 4 up to 250 images per cluster, 1 from 1,000.  Small sets
        need the strong guard, while on large ones it pulls the batch toward
        uniform more than their clusters need and costs accuracy (figures:
        lab notes, "Measurements behind the defaults").  0 restores the
        paper's loss.
    gp_weight : float, default=10.0
        Weight of the critic's gradient penalty (WGAN-GP's lambda).
    n_critic : int, default=4
        Critic updates per encoder update; each update takes its own batch.
        0 (like ``beta_adv=0``) switches the prior-matching terms off.
    color_mode : {"grayscale", "rgb"}, default="grayscale"
        How colour images enter the encoder.  ``"grayscale"`` (the official
        code's default for every data set) converts them, after the channel
        shuffle of the augmented view, to one luma channel, so that clusters
        cannot form by colour, which differs within a category far more than
        shape does.  ``"rgb"`` keeps the channels.  One-channel and tabular
        input are unaffected.
    crop_scale : "auto" or (float, float), default="auto"
        Range of the area fraction kept by the random resized crop of the
        augmented view.  ``"auto"`` uses the official ``(0.4, 1.0)`` for
        images at least 28 pixels high and wide (the paper's smallest) when
        the set has at least 500 images per cluster, and ``(0.7, 1.0)``
        otherwise (not in the paper, whose sets all have thousands of images
        per cluster): 40% of an 8x8 image is a 5x5 patch that no longer
        shows the object, and a set with few images per cluster learns
        within a CPU schedule from milder crops, while a large one gains from
        the official range (figures: lab notes, "Measurements behind the
        defaults").  Unused for tabular input.
    hflip : "auto" or bool, default="auto"
        Also flip the augmented view left-right at random.  The official code
        flips every set but MNIST, whose digits change meaning when mirrored.
        ``"auto"`` (ours: the data set is not known) flips colour images and
        images at least 32 pixels high and wide, and no smaller one-channel
        images (digits, characters), whose meaning a mirror can change: flips
        helped objects and cost digits (figures: lab notes, "Measurements
        behind the defaults").  Fashion-MNIST (28 px) is
        the one official set this rule leaves unflipped.  ``True`` or
        ``False`` decides for every input; unused for tabular input.
    encoder : {"auto", "conv", "resnet"} or torch.nn.Module, default="auto"
        The image encoder.  ``"conv"`` is the official one for 28x28 images
        (two unpadded 4x4 stride-2 convolutions of 64 and 128 channels, FC
        1024, batch norm and leaky ReLU), given one more stride-2
        convolution (widths doubling up to 512) for every halving of larger
        images while the map stays at least 4 wide: 32 px images end on a
        6x6x128 map.  ``"resnet"`` is the official pre-activation ResNet
        for 32-96 px images (widths 128-512).  ``"auto"`` takes the ResNet
        for images of 32 px and more when fitting on CUDA and the conv
        encoder otherwise, where the ResNet is about 30 times slower (lab
        notes, "Measurements behind the defaults").  A module (for
        instance a pretrained backbone) maps a batch of prepared images
        ``(n, C, H, W)`` in [-1, 1] (``C = 1`` with
        ``color_mode="grayscale"``) to features ``(n, ...)``; a linear layer
        from the flattened features to ``z`` is added, the MI discriminator
        reads those features, and a copy of the module is trained (its own
        weights are its initialisation).  Tabular input always gets an MLP.
    <views>
    <init>
    max_epochs : int or "auto", default="auto"
        Passes over the data (critic and encoder batches together).  The
        official code runs up to 3000 epochs on a GPU, which a CPU cannot.
        ``"auto"`` (not in the paper) states the schedule in encoder updates
        instead: 55 per cluster (550 for 10 clusters, 1,100 for 20), at most
        one per training image, with at least 100 and at most 1,000 epochs
        (each encoder update takes ``1 + n_critic`` batches).  Categories
        take updates, not passes, to separate, so a small set trains as long
        as it needs: scikit-learn's digits about 200 epochs, COIL-20 500,
        MNIST's 10,000 test images 100.  An int fixes the epochs.
    batch_size : int, default=128
        Rows per batch.  The official code uses 64; a batch of 64 holds
        about three images of each of 20 categories, too few for the
        batch-mean assignment of ``beta_balance`` and for the critic to see
        a uniform categorical, and COIL-20 kept 1-4 of its 20 categories
        empty at 64 where 128 used all 20 (lab notes, "Measurements behind
        the defaults").
    learning_rate : float, default=1e-3
        Adam learning rate of both optimisers (betas 0.5 and 0.9).  The
        official code uses 1e-4 over up to 3000 GPU epochs; within a CPU
        schedule of a few hundred epochs that leaves the encoder barely
        trained, so pass ``learning_rate=1e-4`` with many more epochs to
        follow the paper's schedule.
    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"constant"`` (the official code) keeps ``learning_rate``;
        ``"cosine"`` warms both learning rates up linearly over the first 5%
        of the optimiser steps, then decays them to zero along a half
        cosine by the last step.  It gave no clear gain on digits, so it is
        not the default.
    <common parameters>

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample.
    module_ : torch.nn.Module
        The trained networks (on the CPU).
    history_ : list of dict
        Per-epoch mean of every loss term (``critic``, ``gradient_penalty``,
        ``adversarial``, ``mi``, ``balance``, ``augmentation``), time and
        samples/s.
    n_iter_ : int
        Epochs run.
    label_map_ : ndarray of shape (n_clusters,)
        Label given to each entry of ``z_c``.
    <common attributes>

    See Also
    --------
    DualAESpectralClustering : Spectral clustering on dual-autoencoder codes.

    References
    ----------
    .. [1] J. Zhao, D. Lu, K. Ma, Y. Zhang and Y. Zheng, "Deep Image
       Clustering with Category-Style Representation", ECCV 2020.
    .. [2] I. Gulrajani, F. Ahmed, M. Arjovsky, V. Dumoulin and A. Courville,
       "Improved Training of Wasserstein GANs", NeurIPS 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeepcluster import DCCSClustering
    >>> X = load_digits().images[:200]
    >>> est = DCCSClustering(n_clusters=10, max_epochs=2, random_state=0)
    >>> est.fit_predict(X).shape
    (200,)
    >>> est.predict_proba(X).shape
    (200, 10)
    >>> est.transform(X).shape
    (200, 60)
    """

    _parameter_constraints = {
        **BaseDeepClusterer._parameter_constraints,
        "style_dim": [Interval(Integral, 1, None, closed="left")],
        "style_std": [Interval(Real, 0, None, closed="neither")],
        "beta_mi": [Interval(Real, 0, None, closed="left")],
        "beta_adv": [Interval(Real, 0, None, closed="left")],
        "beta_aug": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "beta_balance": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "gp_weight": [Interval(Real, 0, None, closed="left")],
        "n_critic": [Interval(Integral, 0, None, closed="left")],
        "color_mode": [StrOptions({"grayscale", "rgb"})],
        "crop_scale": [StrOptions({"auto"}), tuple],
        "hflip": ["boolean", StrOptions({"auto"})],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
        "encoder": [StrOptions({"auto", "conv", "resnet"}), nn.Module],
        **FeatureRowsMixin._views_constraints,
        **FeatureRowsMixin._init_constraints,
    }

    def __init__(
        self,
        n_clusters=10,
        *,
        image_shape=None,
        style_dim=50,
        style_std=0.1,
        beta_mi=0.5,
        beta_adv=1.0,
        beta_aug="auto",
        beta_balance="auto",
        gp_weight=10.0,
        n_critic=4,
        color_mode="grayscale",
        crop_scale="auto",
        hflip="auto",
        encoder="auto",
        views="auto",
        n_neighbors="auto",
        init="auto",
        max_epochs="auto",
        batch_size=128,
        learning_rate=1e-3,
        lr_schedule="constant",
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
        self.style_dim = style_dim
        self.style_std = style_std
        self.beta_mi = beta_mi
        self.beta_adv = beta_adv
        self.beta_aug = beta_aug
        self.beta_balance = beta_balance
        self.gp_weight = gp_weight
        self.n_critic = n_critic
        self.color_mode = color_mode
        self.crop_scale = crop_scale
        self.hflip = hflip
        self.encoder = encoder
        self.views = views
        self.n_neighbors = n_neighbors
        self.init = init
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.device = device
        self.random_state = random_state
        self.n_init = n_init
        self.combine = combine
        self.verbose = verbose
        self.max_device_bytes = max_device_bytes
        self.warm_start = warm_start
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every

    # --------------------------------------------------------------- input
    def _prepare(self, x):
        """Scaled input (images in [0, 1]) to the encoder's input: colour mode, then [-1, 1]."""
        if x.dim() != 4:
            return x
        return 2.0 * apply_color_mode(x, self.color_mode) - 1.0

    def _augmenter(self, data):
        if data.dim() != 4:
            return TabularAugmenter()
        resolved = self.resolved_params_
        return ImageAugmenter(
            crop_scale=resolved["crop_scale"],
            hflip=0.5 if resolved["hflip"] else 0.0,
            brightness=0.4,
            contrast=0.4,
            saturation=0.4,
            hue=0.125,
            channel_shuffle=data.shape[1] == 3,
        )

    # ----------------------------------------------------------------- fit
    # Each rule's reason is in its parameter's entry above.
    _auto_rules = {
        **FeatureRowsMixin._views_rules,
        **FeatureRowsMixin._init_rules,
        "beta_aug": Rule(
            lambda est, facts, resolved: (
                _NEIGHBOR_BETA_AUG if resolved["views"] == "neighbors" else _OFFICIAL_BETA_AUG
            )
        ),
        "beta_balance": Rule(
            lambda est, facts, _: min(
                max(_AUTO_BALANCE_IMAGES * facts.n_clusters / facts.n_samples, _AUTO_BALANCE_MIN),
                _AUTO_BALANCE_MAX,
            )
        ),
        "crop_scale": Rule(
            lambda est, facts, _: _auto_crop_scale(est, facts),
            check=lambda est, value: check_crop_scale(value, "'auto'"),
        ),
        "hflip": Rule(
            lambda est, facts, _: (
                facts.image and (facts.channels == 3 or facts.side >= _FLIP_MIN_SIZE)
            ),
            check=lambda est, value: bool(value),
        ),
        "encoder": Rule(lambda est, facts, _: _auto_encoder(est, facts)),
        "max_epochs": Rule(lambda est, facts, _: _auto_epochs(est, facts)),
    }

    def _build_module(self, data):
        input_shape = tuple(self._prepare(data[:1]).shape[1:])
        encoder = self.resolved_params_["encoder"]
        if isinstance(encoder, nn.Module):  # a copy, on the CPU for _ModuleEncoder's shape probe
            encoder = copy.deepcopy(encoder).cpu()
        return _DCCSNet(input_shape, self.style_dim, self.n_clusters_, encoder).to(data.device)

    def _train_module(self, module, data, trainer):
        """Critic and encoder steps, ``n_critic`` of the one per update of the other."""
        generator = trainer.generator
        views = self._view_source(data, self._augmenter(data))
        self._warm_start(
            data,
            trainer,
            lambda idx: self._category_logits(module(self._prepare(data[idx]))),
            module.encoder.parameters(),
        )
        betas = (0.5, 0.9)
        critic_opt = adam(module.critic.parameters(), lr=self.learning_rate, betas=betas)
        encoder_opt = adam(
            [*module.encoder.parameters(), *module.mi.parameters()],
            lr=self.learning_rate,
            betas=betas,
        )

        def encoder_loss(idx):
            x = data[idx]
            return self._encoder_terms(module, x, lambda: views(idx, x, generator), generator)

        steps = {"encoder": Step(encoder_opt, encoder_loss)}
        schedule = ["encoder"]
        if self._adversarial:
            steps["critic"] = Step(
                critic_opt, lambda idx: self._critic_terms(module, data[idx], generator)
            )
            schedule = ["critic"] * self.n_critic + ["encoder"]
        trainer(
            steps,
            schedule=schedule,
            batch_size=self.batch_size,
            max_epochs=self.resolved_params_["max_epochs"],
            lr_schedule=warmup_cosine() if self.lr_schedule == "cosine" else None,
        )

    @property
    def _adversarial(self):
        """Whether the prior is matched adversarially (``beta_adv`` and ``n_critic`` above 0)."""
        return self.beta_adv > 0 and self.n_critic > 0

    def _category_logits(self, z):
        """``z_c``, the category part of ``z = [z_s, z_c]``."""
        return z[:, self.style_dim :]

    # ---------------------------------------------------------------- losses
    def _prior(self, n, like, generator):
        """``n`` draws of the prior: ``[z_s ~ N(0, style_std^2 I), one-hot z_c ~ U(K)]``."""
        style = self.style_std * torch.randn(
            n, self.style_dim, device=like.device, dtype=like.dtype, generator=generator
        )
        category = torch.randint(self.n_clusters_, (n,), device=like.device, generator=generator)
        onehot = nn.functional.one_hot(category, self.n_clusters_).to(like.dtype)
        return torch.cat([style, onehot], dim=1)

    def _critic_terms(self, module, x, generator):
        """The critic's WGAN-GP loss: encoded ``x`` as fakes against prior draws as reals."""
        with torch.no_grad():
            fake = module.representation(module(self._prepare(x)))
        real = self._prior(len(x), fake, generator)
        terms = {
            "critic": self.beta_adv * (module.critic(fake).mean() - module.critic(real).mean())
        }
        if self.gp_weight:
            terms["gradient_penalty"] = (
                self.beta_adv
                * self.gp_weight
                * gradient_penalty(module.critic, real, fake, generator)
            )
        return terms

    def _encoder_terms(self, module, x, view, generator):
        """The encoder's loss terms on a batch ``x``; ``view()`` draws its positive views.

        Adversarial (fool the critic), mutual information between a feature
        and ``z``, the balance guard and the augmentation invariance of ``z_c``.
        """
        z, features = module(self._prepare(x), return_features=True)
        beta_balance = self.resolved_params_["beta_balance"]
        beta_aug = self.resolved_params_["beta_aug"]
        terms = {}
        if self._adversarial:
            terms["adversarial"] = -self.beta_adv * module.critic(module.representation(z)).mean()
        if self.beta_mi:
            terms["mi"] = self.beta_mi * module.mi(features, z, generator)
        if beta_balance:
            terms["balance"] = beta_balance * self._balance_term(z)
        if beta_aug:
            z_view = module(self._prepare(view()))
            terms["augmentation"] = beta_aug * kl_categorical(
                self._category_logits(z), self._category_logits(z_view)
            )
        return terms

    def _balance_term(self, z):
        """``KL(p || U(K)) = log K - H(p)`` of the whole batch's mean assignment ``p``."""
        assignments = gather_rows(self._category_logits(z).softmax(dim=1))
        return math.log(self.n_clusters_) - marginal_entropy(assignments, 1e-12)

    # ----------------------------------------------------------- inference
    def _inference(self, module, x):
        z = module(self._prepare(x))
        return {
            "embedding": module.representation(z),
            "proba": self._category_logits(z).softmax(dim=1),
        }
