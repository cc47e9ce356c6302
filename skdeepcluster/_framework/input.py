"""Where the input goes and what shape it has.

The device, images' channel layout, validation, scaling, and the training data
put on the device once.

Input shapes
------------
- 2-D ``(n_samples, n_features)`` with ``image_shape=None``: tabular rows,
  MLP networks.
- 2-D with ``image_shape=(C, H, W)``: each row is an image stored
  channels-first (``n_features == C * H * W``).
- 3-D ``(n, H, W)``: grey images.
- 4-D: ``(n, C, H, W)`` or ``(n, H, W, C)``.  If ``image_shape`` is given,
  it decides; otherwise the layout is channels-first when the second axis
  has at most 4 entries and the last more than 4, channels-last in the
  opposite case, and ambiguous (a ``ValueError`` asking for
  ``image_shape``) when both or neither axis has at most 4 entries.

``n_features_in_`` is the number of values per sample (``C * H * W`` for
images); at predict time, images must have the fitted per-sample shape (in
either channel layout) or be rows of ``n_features_in_`` values.
"""

import hashlib
import math
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_array, validate_data

from ..nn.data import DeviceData
from ..nn.distributed import require_same_data

__all__ = ["ImageInput", "resolve_device", "resolve_layout"]


def resolve_device(device):
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device`` into a device.

    ``"auto"`` picks CUDA when available, else the CPU.

    Raises
    ------
    ValueError
        For an unknown device string, or when CUDA (or the given CUDA index)
        is asked for but not available.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for, but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False). Use device='cpu' or device='auto'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was asked for, but only {torch.cuda.device_count()} CUDA "
                "device(s) are available."
            )
    elif dev.type != "cpu":
        raise ValueError(f"device={device!r} is not supported; use 'auto', 'cpu' or 'cuda'.")
    return dev


def resolve_layout(shape, image_shape):
    """Return ``(image_shape, channels_last)`` for per-sample ``shape`` (2 or 3 axes)."""
    if len(shape) == 2:
        chw = (1, *shape)
        if image_shape is not None and tuple(image_shape) not in (chw, tuple(shape)):
            raise ValueError(
                f"X holds images of shape {tuple(shape)}, which does not match "
                f"image_shape={tuple(image_shape)}."
            )
        return chw, False
    first, last = tuple(shape), (shape[2], shape[0], shape[1])
    if image_shape is not None:
        image_shape = tuple(image_shape)
        if image_shape == first:
            return first, False
        if image_shape == last:
            return last, True
        raise ValueError(
            f"X holds images of shape {tuple(shape)}, which matches image_shape={image_shape} "
            "neither as (C, H, W) nor as (H, W, C)."
        )
    small_first, small_last = shape[0] <= 4, shape[2] <= 4
    if small_first and not small_last:
        return first, False
    if small_last and not small_first:
        return last, True
    raise ValueError(
        f"Cannot tell whether images of shape {tuple(shape)} are channels-first or "
        "channels-last; pass image_shape=(C, H, W)."
    )


class ImageInput:
    """Validation of image or tabular input for an estimator, and its scaling (a mixin).

    The estimator has the parameter ``image_shape``; ``_validate_X`` sets
    ``image_shape_``, ``n_features_in_`` and the input layout on ``reset``
    (see the module docstring for the rules), ``_fit_scaler`` the scaling
    ``input_offset_`` and ``input_scale_`` that ``_scale`` applies.
    """

    def _check_image_shape(self):
        if self.image_shape is None:
            return None
        shape = tuple(self.image_shape)
        if len(shape) != 3 or not all(isinstance(s, Integral) and s > 0 for s in shape):
            raise ValueError(
                f"image_shape must be three positive integers (C, H, W), got {self.image_shape!r}."
            )
        return shape

    _min_fit_samples = 2  # a clusterer needs two; a transformer of images one

    def _rows_image_shape(self, n_features):
        """``(C, H, W)`` of 2-D rows of ``n_features`` without ``image_shape``: None (tabular)."""
        return None

    def _validate_X(self, X, reset):
        """Validate ``X`` and return it as a float array ``(n, C, H, W)`` or ``(n, D)``."""
        nd = (X.ndim if hasattr(X, "ndim") else np.asarray(X).ndim) >= 3
        # uint8 (images as stored) stays uint8: a quarter of float32's memory.
        check = dict(
            dtype=[np.float64, np.float32, np.uint8],
            ensure_min_samples=self._min_fit_samples if reset else 1,
        )
        if reset:
            image_shape = self._check_image_shape()
            X = validate_data(self, X, reset=True, allow_nd=nd, **check)
            if nd:
                image_shape, channels_last = resolve_layout(X.shape[1:], image_shape)
            elif image_shape is not None and math.prod(image_shape) != X.shape[1]:
                raise ValueError(
                    f"image_shape={image_shape} needs {math.prod(image_shape)} features per "
                    f"row, but X has {X.shape[1]}."
                )
            else:
                channels_last = False
                if image_shape is None:
                    image_shape = self._rows_image_shape(X.shape[1])
            self.image_shape_ = image_shape
            self.n_features_in_ = math.prod(X.shape[1:])
            self._input_layout = (X.ndim, channels_last)
        else:
            if nd:
                X = check_array(X, allow_nd=True, **check)
                if self.image_shape_ is None:
                    raise ValueError(
                        f"X has {X.ndim} dimensions, but {type(self).__name__} was fitted on "
                        "2-D tabular data."
                    )
                try:
                    _, channels_last = resolve_layout(X.shape[1:], self.image_shape_)
                except ValueError as exc:
                    raise ValueError(
                        f"X holds samples of shape {X.shape[1:]}, but {type(self).__name__} "
                        f"was fitted on images of shape {self.image_shape_} (C, H, W)."
                    ) from exc
            else:
                X = validate_data(self, X, reset=False, **check)
                channels_last = False
        if channels_last:
            X = np.moveaxis(X, -1, 1)
        if self.image_shape_ is not None:
            X = X.reshape(len(X), *self.image_shape_)
        return X

    def _fit_scaler(self, X):
        """Images: one offset and scale mapping the data to [0, 1].  Feature rows: each column
        centred, all divided by one scale (the root mean square of the columns' deviations).

        One scale keeps the columns' relative sizes, as scikit-learn's
        estimators do (a ``StandardScaler`` before the estimator scales columns
        of different units): per-column z-scores magnify the near-constant
        units of a pretrained network's features, which cost KMeans 0.625 ->
        0.36 ACC on ORL's features and 0.835 -> 0.73 on COIL-20's (user guide).
        """
        if self.image_shape_ is not None:
            low, high = float(X.min()), float(X.max())
            self.input_offset_ = np.float64(low)
            self.input_scale_ = np.float64(high - low if high > low else 1.0)
        else:
            self.input_offset_ = X.mean(axis=0, dtype=np.float64)
            rms = float(np.sqrt(X.var(axis=0, dtype=np.float64).mean()))
            self.input_scale_ = np.float64(rms if rms > 0 else 1.0)

    def _scale(self, X):
        return (X - self.input_offset_) / self.input_scale_

    def _device_data(self, X):
        """Validated ``X`` on ``device_``, scaled a batch at a time, and its SHA-256 (hex).

        Every rank of a data-parallel fit must hold the same data (checked
        by their digests).  See :class:`~skdeepcluster.nn.data.DeviceData`.
        """
        digest = hashlib.sha256(np.ascontiguousarray(X).view(np.uint8).ravel())
        require_same_data(digest.digest())
        data = DeviceData(
            X,
            self._scale,
            self.device_,
            self.max_device_bytes,
            elementwise=self.image_shape_ is not None,
        )
        return data, digest.hexdigest()

    def _unscale(self, X):
        """Inverse of :meth:`_scale`, and back to the layout of the training input.

        ``X`` is ``(n, C, H, W)`` for images (``(n, D)`` for tabular rows); the
        result has the per-sample shape ``fit`` was given: rows, ``(H, W)``,
        ``(C, H, W)`` or ``(H, W, C)``.
        """
        X = X * self.input_scale_ + self.input_offset_
        ndim, channels_last = self._input_layout
        if self.image_shape_ is None or ndim == 2:
            return X.reshape(len(X), -1)
        if ndim == 3:
            return X[:, 0]
        return np.moveaxis(X, 1, -1) if channels_last else X
