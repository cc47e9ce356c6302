"""Encoders and decoders built from an input shape and a latent size.

Image shapes are ``(C, H, W)``; a tabular input is described by the 1-tuple
``(n_features,)``.  Convolutional stacks take a list of layer specs
``(out_channels, kernel_size, stride[, padding])``; padding defaults to
``(kernel_size - 1) // 2``.  A stride is dropped to 1 (and the padding to the
default) where the layer would shrink the map below 2x2, so the same spec
builds for 28x28, 32x32, 16x16, 8x8 and odd shapes alike.  Also the layers and
helpers those networks share: batch-norm statistics, and SpectralNet's orthonormalising
output layer (:class:`CholeskyOrthonorm`).
"""

import contextlib
import math

import torch
from torch import nn

__all__ = [
    "MLP",
    "ConvEncoder",
    "ConvDecoder",
    "MLPEncoder",
    "ResNetEncoder",
    "VGGEncoder",
    "VGG_LAYOUTS",
    "vgg_layout",
    "build_encoder",
    "build_decoder",
    "conv_output_size",
    "batch_statistics",
    "recompute_batch_norm",
    "CholeskyOrthonorm",
]


def _activation(name):
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "elu":
        return nn.ELU()
    raise ValueError(f"unknown activation {name!r}")


class MLP(nn.Sequential):
    """A stack of ``Linear`` layers with optional batch norm and activations.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first: ``(in, hidden..., out)``.
    activation : {"relu", "leaky_relu", "elu"}, default="relu"
        Non-linearity between layers.
    batchnorm : bool, default=False
        Batch-normalise every hidden layer.
    final_activation : bool, default=False
        Also apply the activation (and batch norm) after the last layer.
    """

    def __init__(self, sizes, activation="relu", batchnorm=False, final_activation=False):
        layers = []
        n_layers = len(sizes) - 1
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < n_layers - 1 or final_activation:
                if batchnorm:
                    layers.append(nn.BatchNorm1d(b))
                layers.append(_activation(activation))
        super().__init__(*layers)


def conv_output_size(size, kernel_size, stride, padding=None):
    """Spatial size after a convolution (padding defaults to ``(kernel_size - 1) // 2``)."""
    padding = (kernel_size - 1) // 2 if padding is None else padding
    return (size + 2 * padding - kernel_size) // stride + 1


def _plan(spatial, conv_layers):
    """Resolve strides so that no map shrinks below 2x2.

    Returns the per-layer ``(channels, kernel, stride, padding)`` and the
    ``(H, W)`` of each layer's output.
    """
    h, w = spatial
    plan, sizes = [], []
    for channels, kernel, stride, *pad in conv_layers:
        padding = pad[0] if pad else (kernel - 1) // 2
        if (
            min(
                conv_output_size(h, kernel, stride, padding),
                conv_output_size(w, kernel, stride, padding),
            )
            < 2
        ):
            stride, padding = 1, (kernel - 1) // 2
        plan.append((channels, kernel, stride, padding))
        h, w = (
            conv_output_size(h, kernel, stride, padding),
            conv_output_size(w, kernel, stride, padding),
        )
        sizes.append((h, w))
    return plan, sizes


class ConvEncoder(nn.Module):
    """Convolutional encoder: conv stack, flatten, fully connected head.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)``.
    latent_dim : int
        Size of the output vector.
    conv_layers : sequence of (int, int, int), default=((32, 3, 2), (64, 3, 2))
        ``(out_channels, kernel_size, stride)`` per convolution.
    hidden : sequence of int, default=()
        Widths of fully connected layers between the flattened map and the
        output.
    activation : {"relu", "leaky_relu", "elu"}, default="leaky_relu"
    batchnorm : bool, default=True
        Batch norm after every convolution and hidden layer.
    feature_layer : int, default=-1
        Index of the convolution whose (activated) output ``forward`` returns
        as the feature map with ``return_features=True``.

    Attributes
    ----------
    feature_shape : tuple of int
        Shape ``(C', H', W')`` of that feature map (the "local" map
        mutual-information estimators use).
    """

    def __init__(
        self,
        input_shape,
        latent_dim,
        conv_layers=((32, 3, 2), (64, 3, 2)),
        hidden=(),
        activation="leaky_relu",
        batchnorm=True,
        feature_layer=-1,
    ):
        super().__init__()
        channels = input_shape[0]
        plan, sizes = _plan(input_shape[1:], conv_layers)
        blocks = []
        for out_channels, kernel, stride, padding in plan:
            block = [nn.Conv2d(channels, out_channels, kernel, stride, padding, bias=not batchnorm)]
            if batchnorm:
                block.append(nn.BatchNorm2d(out_channels))
            block.append(_activation(activation))
            blocks.append(nn.Sequential(*block))
            channels = out_channels
        self.feature_layer = feature_layer % len(blocks)
        self.conv_front = nn.Sequential(*blocks[: self.feature_layer + 1])
        self.conv_back = nn.Sequential(*blocks[self.feature_layer + 1 :])
        self.feature_shape = (plan[self.feature_layer][0], *sizes[self.feature_layer])
        h, w = sizes[-1]
        flat = channels * h * w
        self.head = MLP([flat, *hidden, latent_dim], activation=activation, batchnorm=batchnorm)

    def forward(self, x, return_features=False):
        features = self.conv_front(x)
        z = self.head(self.conv_back(features).flatten(1))
        return (z, features) if return_features else z


class ConvDecoder(nn.Module):
    """Convolutional decoder mirroring :class:`ConvEncoder`.

    A fully connected layer maps the latent vector to the encoder's last map
    shape, transposed convolutions undo each stride, and the result is cropped
    to the exact ``output_shape`` (so odd sizes come out right).

    Parameters
    ----------
    output_shape : tuple of int
        ``(C, H, W)`` of the reconstruction.
    latent_dim : int
    conv_layers : sequence of (int, int, int), default=((32, 3, 2), (64, 3, 2))
        The *encoder's* spec; the decoder runs it backwards.
    hidden : sequence of int, default=()
        The encoder's fully connected widths, run backwards.
    activation : {"relu", "leaky_relu", "elu"}, default="leaky_relu"
    batchnorm : bool, default=True
    output_activation : {"sigmoid", None}, default=None
        Applied to the output (``"sigmoid"`` for data scaled to [0, 1]).
    """

    def __init__(
        self,
        output_shape,
        latent_dim,
        conv_layers=((32, 3, 2), (64, 3, 2)),
        hidden=(),
        activation="leaky_relu",
        batchnorm=True,
        output_activation=None,
    ):
        super().__init__()
        self.output_shape = tuple(output_shape)
        plan, sizes = _plan(output_shape[1:], conv_layers)
        h, w = sizes[-1]
        last_channels = plan[-1][0]
        self.start_shape = (last_channels, h, w)
        self.head = MLP(
            [latent_dim, *reversed(hidden), last_channels * h * w],
            activation=activation,
            batchnorm=batchnorm,
            final_activation=True,
        )
        layers = []
        channels = last_channels
        for i in reversed(range(len(plan))):
            _, kernel, stride, padding = plan[i]
            out_channels = plan[i - 1][0] if i > 0 else output_shape[0]
            is_last = i == 0
            # A transposed convolution undoes each encoder layer's size change (also
            # the shrink of an even kernel at stride 1); the surplus is cropped.
            layers.append(
                nn.ConvTranspose2d(
                    channels, out_channels, kernel, stride, padding, output_padding=stride - 1
                )
            )
            if not is_last:
                if batchnorm:
                    layers.append(nn.BatchNorm2d(out_channels))
                layers.append(_activation(activation))
            channels = out_channels
        self.deconv = nn.Sequential(*layers)
        self.output_activation = output_activation

    def forward(self, z):
        x = self.head(z).view(-1, *self.start_shape)
        x = self.deconv(x)
        x = x[..., : self.output_shape[1], : self.output_shape[2]]
        if self.output_activation == "sigmoid":
            x = torch.sigmoid(x)
        return x


class MLPEncoder(nn.Module):
    """Fully connected encoder whose last hidden layer can be returned as a feature.

    Parameters
    ----------
    n_features : int
    latent_dim : int
    hidden : sequence of int, default=(256,)
    activation : {"relu", "leaky_relu", "elu"}, default="leaky_relu"
    batchnorm : bool, default=True

    Attributes
    ----------
    feature_shape : tuple of int
        ``(width,)`` of the feature ``forward`` returns with ``return_features=True``
        (the last hidden layer, or the input when there is none).
    """

    def __init__(
        self, n_features, latent_dim, hidden=(256,), activation="leaky_relu", batchnorm=True
    ):
        super().__init__()
        sizes = [n_features, *hidden]
        self.body = (
            MLP(sizes, activation=activation, batchnorm=batchnorm, final_activation=True)
            if hidden
            else nn.Identity()
        )
        self.head = nn.Linear(sizes[-1], latent_dim)
        self.feature_shape = (sizes[-1],)

    def forward(self, x, return_features=False):
        features = self.body(x)
        z = self.head(features)
        return (z, features) if return_features else z


class _PreActBlock(nn.Module):
    """Pre-activation residual block: (BN, ReLU, conv 3x3) twice, optional 2x average-pool down.

    With ``first=True`` the block takes raw images: no normalisation or
    activation before its first convolution (SN-GAN's "optimized" block).
    """

    def __init__(self, in_channels, out_channels, down, first=False):
        super().__init__()
        pre = [] if first else [nn.BatchNorm2d(in_channels), nn.ReLU()]
        self.residual = nn.Sequential(
            *pre,
            nn.Conv2d(in_channels, out_channels, 3, 1, 1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1),
            *([nn.AvgPool2d(2)] if down else []),
        )
        shortcut = []
        if in_channels != out_channels:
            shortcut.append(nn.Conv2d(in_channels, out_channels, 1))
        if down:
            shortcut.append(nn.AvgPool2d(2))
        self.shortcut = nn.Sequential(*shortcut)

    def forward(self, x):
        return self.residual(x) + self.shortcut(x)


class ResNetEncoder(nn.Module):
    """Pre-activation ResNet encoder for images of 32x32 pixels and more (SN-GAN style).

    Residual blocks halve the map until it is at most 7 pixels wide (three
    for 32x32, four for 64x64 or 96x96), their widths doubling up to
    ``max_channels``; one more block at full width, then batch norm, ReLU,
    global average pooling and a linear layer (a 1x1 convolution on the
    pooled map).  The first block takes the raw image.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)``.
    latent_dim : int
    max_channels : int, default=512

    Attributes
    ----------
    feature_shape : tuple of int
        Shape of the last downsampling block's output, which ``forward``
        returns with ``return_features=True``.
    """

    def __init__(self, input_shape, latent_dim, max_channels=512):
        super().__init__()
        size = min(input_shape[1:])
        n_down = 0
        while size > 7:
            size //= 2
            n_down += 1
        n_down = max(n_down, 1)
        widths = [max(max_channels // 2 ** (n_down - 1 - i), 16) for i in range(n_down)]
        blocks, channels = [], input_shape[0]
        for i, width in enumerate(widths):
            blocks.append(_PreActBlock(channels, width, down=True, first=i == 0))
            channels = width
        self.down = nn.Sequential(*blocks)
        self.top = nn.Sequential(
            _PreActBlock(channels, channels, down=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(channels, latent_dim)
        h, w = input_shape[1] // 2**n_down, input_shape[2] // 2**n_down
        self.feature_shape = (channels, h, w)

    def forward(self, x, return_features=False):
        features = self.down(x)
        z = self.head(self.top(features))
        return (z, features) if return_features else z


class VGGEncoder(nn.Module):
    """VGG-style feature map: unpadded 3x3 convolutions with batch norm and ReLU, max-pooling.

    ``layout`` lists the stages, each a sequence of convolution widths
    followed by a 2x2 max-pool (a stage given as ``(widths, False)`` has no
    pool); a final 1x1 convolution (batch norm, ReLU) maps to
    ``feature_dim`` channels.  GATCluster's released networks are
    ``VGG_LAYOUTS["96"]`` (STL-10, 96x96 to a 6x6 map) and
    ``VGG_LAYOUTS["128"]`` (ImageNet-10 at 128x128, also 6x6).  For other
    sizes, :func:`vgg_layout` fits stages of the same style to the image.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)``.
    feature_dim : int
        Channels of the output map.
    layout : sequence
        Stages: ``(widths, pool)`` pairs.

    Attributes
    ----------
    feature_shape : tuple of int
        ``(feature_dim, H', W')`` of the output map.
    """

    def __init__(self, input_shape, feature_dim, layout):
        super().__init__()
        layers, channels = [], input_shape[0]
        h, w = input_shape[1:]
        for widths, pool in layout:
            for width in widths:
                layers += [nn.Conv2d(channels, width, 3), nn.BatchNorm2d(width), nn.ReLU()]
                channels, h, w = width, h - 2, w - 2
            if pool:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
        if min(h, w) < 1:
            raise ValueError(f"images of shape {tuple(input_shape)} are too small for this layout")
        layers += [nn.Conv2d(channels, feature_dim, 1), nn.BatchNorm2d(feature_dim), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.feature_shape = (feature_dim, h, w)

    def forward(self, x):
        return self.net(x)


# GATCluster's released layouts: STL-10 (96 px) and ImageNet-10 (resized to 128 px).
VGG_LAYOUTS = {
    "96": (((64, 64, 64), True), ((128, 128, 128), True), ((256, 256, 256), True)),
    "128": (
        ((64, 64, 64), True),
        ((128, 128, 128), True),
        ((256, 256, 256), True),
        ((256, 256), False),
    ),
}


def vgg_layout(size, widths=(64, 128, 256), convs_per_stage=2, min_size=4):
    """Stages of unpadded 3x3 convolutions and 2x2 max-pools fitted to ``size`` pixels.

    Stage ``i`` has up to ``convs_per_stage`` convolutions of ``widths[i]``
    channels, each taken while the map stays at least ``min_size`` wide, and
    a max-pool when the halved map still is; building stops at the first
    stage that fits no convolution.  28 px: 28-24, pool 12, 12-8, pool 4 (a
    4x4 map); 32 px: a 5x5 map; 16 px: 16-12, pool 6, 6-4; 8 px: 8-4.
    """
    layout = []
    for width in widths:
        n_convs = 0
        while n_convs < convs_per_stage and size - 2 >= min_size:
            size -= 2
            n_convs += 1
        if not n_convs:
            break
        pool = size // 2 >= min_size
        size = size // 2 if pool else size
        layout.append(((width,) * n_convs, pool))
    if not layout:
        raise ValueError(
            f"images of {size} pixels are too small for a VGG encoder "
            f"(at least {min_size + 2} needed)"
        )
    return tuple(layout)


def build_encoder(
    input_shape,
    latent_dim,
    conv_layers=((32, 3, 2), (64, 3, 2)),
    hidden=(256,),
    activation="leaky_relu",
    batchnorm=True,
    feature_layer=-1,
):
    """A :class:`ConvEncoder` for image shapes, an :class:`MLPEncoder` for ``(n_features,)``.

    For tabular input the MLP's hidden widths are ``hidden``.
    """
    if len(input_shape) == 1:
        return MLPEncoder(input_shape[0], latent_dim, hidden, activation, batchnorm)
    return ConvEncoder(
        input_shape, latent_dim, conv_layers, hidden, activation, batchnorm, feature_layer
    )


def build_decoder(
    output_shape,
    latent_dim,
    conv_layers=((32, 3, 2), (64, 3, 2)),
    hidden=(256,),
    activation="leaky_relu",
    batchnorm=True,
    output_activation=None,
):
    """The decoder matching :func:`build_encoder` with the same arguments."""
    if len(output_shape) == 1:
        mlp = MLP(
            [latent_dim, *reversed(hidden), output_shape[0]],
            activation=activation,
            batchnorm=batchnorm,
        )
        if output_activation == "sigmoid":
            return nn.Sequential(mlp, nn.Sigmoid())
        return mlp
    return ConvDecoder(
        output_shape, latent_dim, conv_layers, hidden, activation, batchnorm, output_activation
    )


def flat_size(shape):
    """Number of values in a tensor of per-sample ``shape``."""
    return int(math.prod(shape))


def _batch_norms(module):
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@contextlib.contextmanager
def batch_statistics(module):
    """Within the block, ``module``'s batch norm layers normalise with each batch's own statistics.

    The layers are in training mode (the rest of ``module`` keeps its mode)
    and their running statistics are put back as they were afterwards, so
    a forward pass in the block reads the batch without changing the model.
    """
    norms = _batch_norms(module)
    saved = [(m, m.training, [b.clone() for b in m.buffers()]) for m in norms]
    for m in norms:
        m.train()
    try:
        yield module
    finally:
        for m, training, buffers in saved:
            m.train(training)
            with torch.no_grad():
                for buffer, value in zip(m.buffers(), buffers):
                    buffer.copy_(value)


@torch.no_grad()
def recompute_batch_norm(module, forward, batches):
    """Set the running statistics of ``module``'s batch norm layers to those of ``batches``.

    ``forward(x)`` runs ``module`` on a batch; the running mean and variance
    of every batch norm layer become the averages over ``batches`` of its
    batch statistics (precise batch norm, Wu & Johnson 2021), so evaluation
    mode normalises as the data seen here are, not as the last training
    batches were.  The layers' modes and momenta are restored afterwards.
    """
    norms = _batch_norms(module)
    saved = [(m, m.training, m.momentum) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
        m.train()
    try:
        for x in batches:
            forward(x)
    finally:
        for m, training, momentum in saved:
            m.momentum = momentum
            m.train(training)


class CholeskyOrthonorm(nn.Module):
    """Orthonormalising output layer of SpectralNet (Shaham et al. 2018).

    In training mode, for a batch ``Y`` of ``m`` rows it computes the Cholesky
    factor ``L`` of ``Y^T Y`` and returns ``Y sqrt(m) L^{-T}``, whose columns
    are orthonormal up to the factor ``sqrt(m)`` (``Y'^T Y' / m = I``).  The
    last weight is kept in a buffer and applied as a fixed linear map in
    evaluation mode, so new points go through the same transformation.

    Parameters
    ----------
    dim : int
        Number of columns of ``Y``.
    eps : float, default=1e-6
        Jitter, relative to the mean diagonal of ``Y^T Y``, added to its
        diagonal before the Cholesky factorisation.
    """

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.eye(dim))

    def _weight_for(self, y):
        m = y.shape[0]
        y64 = y.double()
        eye = torch.eye(y.shape[1], dtype=y64.dtype, device=y.device)
        gram = y64.T @ y64
        jitter = self.eps * gram.diagonal().mean().clamp_min(1e-12)  # relative to the scale
        chol = torch.linalg.cholesky(gram + jitter * eye)
        return (m**0.5) * torch.linalg.solve_triangular(chol, eye, upper=False).T

    @torch.no_grad()
    def set_weight(self, y):
        """Store the orthonormalising weight of ``y`` (e.g. the whole training set)."""
        self.weight.copy_(self._weight_for(y).to(self.weight.dtype))

    def forward(self, y):
        if self.training:
            weight = self._weight_for(y)
            self.weight.copy_(weight.detach().to(self.weight.dtype))
            return (y.double() @ weight).to(y.dtype)
        return y @ self.weight.to(y.dtype)
