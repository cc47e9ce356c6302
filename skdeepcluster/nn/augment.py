"""Batched per-sample augmentations that run on the tensors' own device.

Every function takes a batch and draws *one set of random parameters per
sample* from the given ``torch.Generator`` (which must live on the batch's
device), so a batch on the GPU is augmented with a few kernel launches and
no Python loop over samples.  (torchvision's v2 transforms applied to a
batch tensor draw one set of parameters for the whole batch.)

Images are ``(N, C, H, W)`` float tensors with values in [0, 1]; tabular
rows are ``(N, D)``.
"""

import math
from numbers import Real

import torch
import torch.nn.functional as F

from .neighbors import cosine_neighbors

__all__ = [
    "random_resized_crop",
    "random_affine",
    "random_hflip",
    "color_jitter",
    "to_grayscale",
    "apply_color_mode",
    "check_crop_scale",
    "random_grayscale",
    "channel_shuffle",
    "gaussian_noise",
    "feature_dropout",
    "ImageAugmenter",
    "TabularAugmenter",
    "NeighborViews",
    "AugmentedViews",
]

_GREY_WEIGHTS = (0.299, 0.587, 0.114)


def _uniform(n, low, high, x, generator):
    return low + (high - low) * torch.rand(n, device=x.device, dtype=x.dtype, generator=generator)


def _sample(x, theta):
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_resized_crop(x, scale=(0.4, 1.0), ratio=(3 / 4, 4 / 3), generator=None):
    """Crop a random area and aspect ratio of each image, resized back to its size.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W)
    scale : (float, float), default=(0.4, 1.0)
        Range of the crop's area as a fraction of the image.
    ratio : (float, float), default=(3/4, 4/3)
        Range of the crop's aspect ratio (drawn log-uniformly).
    generator : torch.Generator, optional
    """
    n = x.shape[0]
    area = _uniform(n, scale[0], scale[1], x, generator)
    log_ratio = _uniform(n, math.log(ratio[0]), math.log(ratio[1]), x, generator)
    aspect = log_ratio.exp()
    w = (area * aspect).sqrt().clamp(max=1.0)
    h = (area / aspect).sqrt().clamp(max=1.0)
    cx = (1 - w) * _uniform(n, -1.0, 1.0, x, generator)
    cy = (1 - h) * _uniform(n, -1.0, 1.0, x, generator)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 2] = w, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    return _sample(x, theta)


def random_affine(x, degrees=10.0, translate=0.1, scale=(0.8, 1.2), shear=10.0, generator=None):
    """Random rotation, translation, scaling and shear of each image.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W)
    degrees : float, default=10
        Rotation drawn from ``[-degrees, degrees]``.
    translate : float, default=0.1
        Shift drawn from ``[-translate, translate]`` of the size, per axis.
    scale : (float, float), default=(0.8, 1.2)
    shear : float, default=10
        Horizontal shear angle drawn from ``[-shear, shear]`` degrees.
    generator : torch.Generator, optional
    """
    n = x.shape[0]
    angle = torch.deg2rad(_uniform(n, -degrees, degrees, x, generator))
    s = _uniform(n, scale[0], scale[1], x, generator)
    sh = torch.tan(torch.deg2rad(_uniform(n, -shear, shear, x, generator)))
    tx = 2 * _uniform(n, -translate, translate, x, generator)
    ty = 2 * _uniform(n, -translate, translate, x, generator)
    cos, sin = angle.cos(), angle.sin()
    forward = torch.stack(
        [
            torch.stack([s * cos, s * (cos * sh - sin)], dim=1),
            torch.stack([s * sin, s * (sin * sh + cos)], dim=1),
        ],
        dim=1,
    )
    inverse = torch.linalg.inv(forward)
    shift = torch.stack([tx, ty], dim=1)[:, :, None]
    theta = torch.cat([inverse, -inverse @ shift], dim=2)
    return _sample(x, theta)


def random_hflip(x, p=0.5, generator=None):
    """Mirror each image left-right with probability ``p``."""
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def to_grayscale(x):
    """Luma of RGB images (ITU-R 601 weights), one channel; other images unchanged."""
    if x.shape[1] != 3:
        return x
    w = torch.tensor(_GREY_WEIGHTS, device=x.device, dtype=x.dtype)
    return (x * w[None, :, None, None]).sum(dim=1, keepdim=True)


def apply_color_mode(x, color_mode):
    """``"grayscale"``: the luma of RGB images (:func:`to_grayscale`); ``"rgb"``: ``x`` as is."""
    return to_grayscale(x) if color_mode == "grayscale" else x


def random_grayscale(x, p=0.2, generator=None):
    """Replace each RGB image by its luma (kept 3 channels) with probability ``p``."""
    if x.shape[1] != 3:
        return x
    grey = to_grayscale(x).expand_as(x)
    mask = torch.rand(x.shape[0], device=x.device, generator=generator) < p
    return torch.where(mask[:, None, None, None], grey, x)


def _hue_rotation(angle):
    """Rotation matrices about the grey axis (1, 1, 1) of RGB space, one per angle."""
    k = torch.full((3,), 1 / math.sqrt(3), device=angle.device, dtype=angle.dtype)
    cross = torch.tensor(
        [[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]],
        device=angle.device,
        dtype=angle.dtype,
    ) / math.sqrt(3)
    eye = torch.eye(3, device=angle.device, dtype=angle.dtype)
    cos, sin = angle.cos()[:, None, None], angle.sin()[:, None, None]
    return cos * eye + sin * cross + (1 - cos) * torch.outer(k, k)


def color_jitter(x, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.125, generator=None):
    """Per-sample brightness, contrast, saturation and hue changes, clamped to [0, 1].

    Factors are drawn from ``[1 - b, 1 + b]`` (and likewise for contrast and
    saturation); the hue rotates RGB about the grey axis by an angle drawn
    from ``[-hue, hue]`` turns.  Saturation and hue leave one-channel images
    unchanged.
    """
    n = x.shape[0]
    if brightness:
        x = x * _uniform(n, 1 - brightness, 1 + brightness, x, generator)[:, None, None, None]
    if contrast:
        mean = to_grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
        c = _uniform(n, 1 - contrast, 1 + contrast, x, generator)[:, None, None, None]
        x = (x - mean) * c + mean
    if x.shape[1] == 3:
        if saturation:
            grey = to_grayscale(x)
            s = _uniform(n, 1 - saturation, 1 + saturation, x, generator)[:, None, None, None]
            x = (x - grey) * s + grey
        if hue:
            rot = _hue_rotation(2 * math.pi * _uniform(n, -hue, hue, x, generator))
            x = torch.einsum("nij,njhw->nihw", rot, x)
    return x.clamp(0.0, 1.0)


def channel_shuffle(x, generator=None):
    """Permute the channels of each image with its own random permutation."""
    n, c = x.shape[:2]
    perm = torch.rand(n, c, device=x.device, generator=generator).argsort(dim=1)
    return x.gather(1, perm[:, :, None, None].expand_as(x))


def gaussian_noise(x, std=0.05, generator=None):
    """Add independent Gaussian noise of standard deviation ``std``."""
    return x + std * torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)


def feature_dropout(x, p=0.1, generator=None):
    """Set each value of each row to zero with probability ``p``."""
    keep = torch.rand(x.shape, device=x.device, generator=generator) >= p
    return x * keep


class ImageAugmenter:
    """A fixed chain of per-sample image augmentations.

    Applied in this order, each skipped when its parameter is falsy: channel
    shuffle, random resized crop, random affine, horizontal flip, colour
    jitter, random grayscale, Gaussian noise.

    Parameters
    ----------
    crop_scale : (float, float) or None, default=(0.4, 1.0)
    crop_ratio : (float, float), default=(3/4, 4/3)
    affine : dict or None, default=None
        Keyword arguments of :func:`random_affine`.
    hflip : float, default=0.0
        Flip probability.
    brightness, contrast, saturation, hue : float, default=0.0
    grayscale : float, default=0.0
        Probability of :func:`random_grayscale`.
    channel_shuffle : bool, default=False
    noise : float, default=0.0
        Standard deviation of :func:`gaussian_noise`.
    """

    def __init__(
        self,
        crop_scale=(0.4, 1.0),
        crop_ratio=(3 / 4, 4 / 3),
        affine=None,
        hflip=0.0,
        brightness=0.0,
        contrast=0.0,
        saturation=0.0,
        hue=0.0,
        grayscale=0.0,
        channel_shuffle=False,
        noise=0.0,
    ):
        self.crop_scale = crop_scale
        self.crop_ratio = crop_ratio
        self.affine = affine
        self.hflip = hflip
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.grayscale = grayscale
        self.channel_shuffle = channel_shuffle
        self.noise = noise

    def __call__(self, x, generator=None):
        if self.channel_shuffle:
            x = channel_shuffle(x, generator)
        if self.crop_scale is not None:
            x = random_resized_crop(x, self.crop_scale, self.crop_ratio, generator)
        if self.affine:
            x = random_affine(x, generator=generator, **self.affine)
        if self.hflip:
            x = random_hflip(x, self.hflip, generator)
        if self.brightness or self.contrast or self.saturation or self.hue:
            x = color_jitter(
                x, self.brightness, self.contrast, self.saturation, self.hue, generator
            )
        if self.grayscale:
            x = random_grayscale(x, self.grayscale, generator)
        if self.noise:
            x = gaussian_noise(x, self.noise, generator)
        return x


class TabularAugmenter:
    """Per-sample augmentation of feature rows: Gaussian noise then feature dropout.

    Parameters
    ----------
    noise : float, default=0.1
        Standard deviation of the additive noise (the rows are centred, of unit
        mean variance).
    dropout : float, default=0.1
        Probability of zeroing each feature.
    """

    def __init__(self, noise=0.1, dropout=0.1):
        self.noise = noise
        self.dropout = dropout

    def __call__(self, x, generator=None):
        if self.noise:
            x = gaussian_noise(x, self.noise, generator)
        if self.dropout:
            x = feature_dropout(x, self.dropout, generator)
        return x


class AugmentedViews:
    """Positive views by augmentation: ``views(idx, x, generator)`` is ``augment(x, generator)``.

    ``x`` holds the rows ``idx`` of the training data; the view source of
    the papers' methods, which augment each sample.
    """

    def __init__(self, augment):
        self.augment = augment

    def __call__(self, idx, x, generator=None):
        return self.augment(x, generator)


class NeighborViews:
    """Positive views by neighbours: a row's view is one of its nearest neighbours in the data.

    For feature rows (a pretrained network's, say) the generic tabular
    augmentations, noise and dropout, keep little of what a row means, while
    its nearest neighbours mostly share its class: SCAN and TEMI train
    clustering heads on frozen features with neighbours as positive pairs.
    ``views(idx, x, generator)`` returns, for each row ``idx``, one of its
    ``n_neighbors`` nearest neighbours (cosine similarity, among all rows of
    ``data``, never the row itself), drawn per row and call.

    Parameters
    ----------
    data : Tensor or DeviceData of shape (n, D) or (n, C, H, W)
        The training rows (indexable by a tensor of row indices).
    n_neighbors : int
        Neighbours a view is drawn from (at most ``n - 1``).
    chunk_size : int, default=4096
        Rows gathered and searched at a time.
    augment : callable, optional
        ``augment(x, generator)``: the chosen neighbour is augmented too (the
        view of an image, whose neighbours are found among its centred pixels).
    """

    def __init__(self, data, n_neighbors, chunk_size=4096, augment=None):
        self.neighbors = cosine_neighbors(data, n_neighbors, chunk_size, centre=augment is not None)
        self.data = data
        self.augment = augment

    def __call__(self, idx, x, generator=None):
        pick = torch.randint(
            self.neighbors.shape[1], (len(idx),), device=self.neighbors.device, generator=generator
        )
        view = self.data[self.neighbors[idx, pick]]
        return view if self.augment is None else self.augment(view, generator)


def check_crop_scale(scale, alternative):
    """``scale`` as a float pair ``(low, high)`` with ``0 < low <= high <= 1``, else ValueError.

    ``alternative`` names the parameter's other accepted value in the message.
    """
    if (
        not isinstance(scale, (tuple, list))
        or len(scale) != 2
        or not all(isinstance(v, Real) for v in scale)
        or not 0 < scale[0] <= scale[1] <= 1
    ):
        raise ValueError(
            f"crop_scale must be {alternative} or a pair (low, high) with "
            f"0 < low <= high <= 1; got {scale!r}."
        )
    return tuple(float(v) for v in scale)
