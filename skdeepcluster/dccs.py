"""Deep image clustering with category-style representation (Zhao et al., ECCV 2020)."""

from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._base import BaseDeepClusterer, SoftAssignmentMixin
from .nn.augment import ImageAugmenter, TabularAugmenter, apply_color_mode, check_crop_scale
from .nn.backbones import MLP, ResNetEncoder, build_encoder, flat_size
from .nn.losses import GlobalMIEstimator, gradient_penalty, kl_categorical
from .nn.training import Step, train

__all__ = ["DCCSClustering"]

# The official encoder for 28x28 images: two unpadded 4x4 stride-2 convolutions
# (64 and 128 channels, giving a 5x5x128 map), then FC 1024 and the output.
_CONV_LAYERS = ((64, 4, 2, 0), (128, 4, 2, 0))
_CONV_HIDDEN = (1024,)
_TABULAR_HIDDEN = (512, 512)
_CRITIC_HIDDEN = (1024, 512)
_MI_HIDDEN = (1024, 512)
# Images at least this wide get the pre-activation ResNet encoder.
_RESNET_MIN_SIZE = 32
# crop_scale="auto": the official (0.4, 1) from the paper's smallest images
# (28 px) up; a crop of 40% of a smaller image keeps too few pixels to show
# the same object, so those get (0.7, 1).
_OFFICIAL_CROP_SCALE = (0.4, 1.0)
_SMALL_IMAGE_CROP_SCALE = (0.7, 1.0)
_SMALL_IMAGE_SIZE = 28


class _DCCSNet(nn.Module):
    """Encoder (style and category parts), prior critic and MI discriminator."""

    def __init__(self, input_shape, style_dim, n_clusters):
        super().__init__()
        latent = style_dim + n_clusters
        if len(input_shape) == 3 and min(input_shape[1:]) >= _RESNET_MIN_SIZE:
            self.encoder = ResNetEncoder(input_shape, latent)
        elif len(input_shape) == 3:
            self.encoder = build_encoder(input_shape, latent, _CONV_LAYERS, _CONV_HIDDEN)
        else:
            self.encoder = build_encoder(input_shape, latent, hidden=_TABULAR_HIDDEN)
        self.critic = MLP([latent, *_CRITIC_HIDDEN, 1], activation="leaky_relu")
        self.mi = GlobalMIEstimator(flat_size(self.encoder.feature_shape), latent, _MI_HIDDEN)
        self.style_dim = style_dim
        for module in self.modules():  # Xavier-normal, as the official code
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_normal_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x, return_features=False):
        """``z = [z_s, z_c]`` (``z_c`` as logits) of inputs already passed through ``DCCSClustering._prepare``."""
        return self.encoder(x, return_features=return_features)

    def representation(self, z):
        """``[z_s, softmax(z_c)]``, the vector matched to the prior."""
        return torch.cat([z[:, :self.style_dim], z[:, self.style_dim:].softmax(dim=1)], dim=1)


class DCCSClustering(SoftAssignmentMixin, BaseDeepClusterer):
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
      augmentations on the device (random resized crop, by default of scale
      0.4-1, colour jitter, channel shuffle for colour images, optional
      flips), so that
      ``z_c`` keeps what augmentations preserve and ``z_s`` the rest.

    Labels are ``argmax z_c``; :meth:`predict_proba` gives ``softmax(z_c)``.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters (the size of ``z_c``).
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` when 2-D input rows are images; see the user guide.
    style_dim : int, default=50
        Size of the style part ``z_s``.
    style_std : float, default=0.1
        Standard deviation of the style prior.
    beta_mi : float, default=0.5
        Weight of the mutual-information loss.
    beta_adv : float, default=1.0
        Weight of the adversarial prior-matching loss (critic and encoder).
    beta_aug : float, default=2.0
        Weight of the augmentation-invariance loss (the official value for
        MNIST; the authors use 4 for CIFAR-10).
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
        images at least 28 pixels high and wide (the paper's smallest) and
        ``(0.7, 1.0)`` for smaller ones, where 40% of an 8x8 image is a 5x5
        patch that no longer shows the object: on scikit-learn's digits the
        official range leaves two clusters empty (ACC 0.71 against 0.79 for
        seed 0, 100 epochs).  Unused for tabular input.
    hflip : bool, default=False
        Also flip the augmented view left-right at random.  Off by default,
        because digits and characters change meaning when mirrored; turn it
        on for natural images (the official code flips every set but MNIST).
    max_epochs : int, default=100
        Passes over the data (critic and encoder batches together).  The
        official code runs up to 3000 epochs on a GPU; this default keeps a
        CPU fit of small data sets to minutes.
    batch_size : int, default=64
    learning_rate : float, default=1e-3
        Adam learning rate of both optimisers (betas 0.5 and 0.9).  The
        official code uses 1e-4 over up to 3000 GPU epochs; within the
        default 100 epochs that leaves the encoder barely trained (digits ACC
        0.57 against 0.71 with 1e-3), so pass ``learning_rate=1e-4`` with many
        more epochs to follow the paper's schedule.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, batches, augmentations and prior samples; CPU
        fits with the same seed are identical.
    verbose : int, default=0
        Print a progress line every ``verbose`` epochs.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample.
    module_ : torch.nn.Module
        The trained networks (on the CPU).
    history_ : list of dict
        Per-epoch mean of every loss term (``critic``, ``gradient_penalty``,
        ``adversarial``, ``mi``, ``augmentation``), time and samples/s.
    n_iter_ : int
        Epochs run.
    n_features_in_ : int
        Values per sample.
    image_shape_ : tuple of int or None
        ``(C, H, W)`` of the training images, None for tabular data.
    device_ : torch.device
        Device the model was trained on.
    label_map_ : ndarray of shape (n_clusters,)
        Label given to each entry of ``z_c``.
    input_offset_, input_scale_ : float or ndarray
        Input scaling learned in ``fit``.

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
        "beta_aug": [Interval(Real, 0, None, closed="left")],
        "gp_weight": [Interval(Real, 0, None, closed="left")],
        "n_critic": [Interval(Integral, 0, None, closed="left")],
        "color_mode": [StrOptions({"grayscale", "rgb"})],
        "crop_scale": [StrOptions({"auto"}), tuple],
        "hflip": ["boolean"],
    }

    def __init__(self, n_clusters=10, *, image_shape=None, style_dim=50, style_std=0.1,
                 beta_mi=0.5, beta_adv=1.0, beta_aug=2.0, gp_weight=10.0, n_critic=4,
                 color_mode="grayscale", crop_scale="auto", hflip=False, max_epochs=100,
                 batch_size=64, learning_rate=1e-3, device="auto", random_state=None, verbose=0):
        self.n_clusters = n_clusters
        self.image_shape = image_shape
        self.style_dim = style_dim
        self.style_std = style_std
        self.beta_mi = beta_mi
        self.beta_adv = beta_adv
        self.beta_aug = beta_aug
        self.gp_weight = gp_weight
        self.n_critic = n_critic
        self.color_mode = color_mode
        self.crop_scale = crop_scale
        self.hflip = hflip
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # --------------------------------------------------------------- input
    def _prepare(self, x):
        """Scaled input (images in [0, 1]) to the encoder's input: colour mode, then [-1, 1]."""
        if x.dim() != 4:
            return x
        return 2.0 * apply_color_mode(x, self.color_mode) - 1.0

    def _crop_scale(self, spatial):
        """The crop's area range for images of size ``spatial = (H, W)`` (None: tabular)."""
        if self.crop_scale == "auto":
            if spatial is None:
                return None
            small = min(spatial) < _SMALL_IMAGE_SIZE
            return _SMALL_IMAGE_CROP_SCALE if small else _OFFICIAL_CROP_SCALE
        return check_crop_scale(self.crop_scale, "'auto'")

    def _augmenter(self, X):
        image = X.dim() == 4
        crop_scale = self._crop_scale(X.shape[2:] if image else None)  # validates it
        if not image:
            return TabularAugmenter()
        colour = X.shape[1] == 3
        return ImageAugmenter(crop_scale=crop_scale,
                              hflip=0.5 if self.hflip else 0.0,
                              brightness=0.4, contrast=0.4, saturation=0.4, hue=0.125,
                              channel_shuffle=colour)

    def _prior(self, n, like, generator):
        style = self.style_std * torch.randn(n, self.style_dim, device=like.device,
                                             dtype=like.dtype, generator=generator)
        category = torch.randint(self.n_clusters, (n,), device=like.device, generator=generator)
        onehot = nn.functional.one_hot(category, self.n_clusters).to(like.dtype)
        return torch.cat([style, onehot], dim=1)

    # ----------------------------------------------------------------- fit
    def _fit_module(self, X, generator):
        device = X.device
        augment = self._augmenter(X)
        input_shape = tuple(self._prepare(X[:1]).shape[1:])
        net = _DCCSNet(input_shape, self.style_dim, self.n_clusters).to(device)
        self.module_ = net
        betas = (0.5, 0.9)
        critic_opt = torch.optim.Adam(net.critic.parameters(), lr=self.learning_rate, betas=betas)
        encoder_opt = torch.optim.Adam([*net.encoder.parameters(), *net.mi.parameters()],
                                       lr=self.learning_rate, betas=betas)
        adversarial = self.beta_adv > 0 and self.n_critic > 0

        def critic_loss(idx):
            with torch.no_grad():
                fake = net.representation(net(self._prepare(X[idx])))
            real = self._prior(len(idx), fake, generator)
            terms = {"critic": self.beta_adv * (net.critic(fake).mean() - net.critic(real).mean())}
            if self.gp_weight:
                terms["gradient_penalty"] = self.beta_adv * self.gp_weight * gradient_penalty(
                    net.critic, real, fake, generator)
            return terms

        def encoder_loss(idx):
            x = X[idx]
            z, features = net(self._prepare(x), return_features=True)
            terms = {}
            if adversarial:
                terms["adversarial"] = -self.beta_adv * net.critic(net.representation(z)).mean()
            if self.beta_mi:
                terms["mi"] = self.beta_mi * net.mi(features, z, generator)
            if self.beta_aug:
                z_aug = net(self._prepare(augment(x, generator)))
                terms["augmentation"] = self.beta_aug * kl_categorical(
                    z[:, self.style_dim:], z_aug[:, self.style_dim:])
            return terms

        steps = {"encoder": Step(encoder_opt, encoder_loss)}
        schedule = ["encoder"]
        if adversarial:
            steps["critic"] = Step(critic_opt, critic_loss)
            schedule = ["critic"] * self.n_critic + ["encoder"]
        train(steps, schedule, X.shape[0], batch_size=self.batch_size, max_epochs=self.max_epochs,
              device=device, generator=generator, amp=device.type == "cuda", verbose=self.verbose,
              history=self.history_)

    # ----------------------------------------------------------- inference
    def _inference(self, module, x):
        z = module(self._prepare(x))
        return {"embedding": module.representation(z),
                "proba": z[:, self.style_dim:].softmax(dim=1)}
