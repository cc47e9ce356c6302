"""Where the input goes and what shape it has: the device, and images' channel layout.

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

import torch

__all__ = ["resolve_device", "resolve_layout"]


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
