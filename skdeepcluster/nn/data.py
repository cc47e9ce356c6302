"""The training set on the device, handed to a method's losses a batch at a time."""

import numpy as np
import torch

__all__ = ["DeviceData", "row_chunks", "map_chunks", "all_rows"]


class DeviceData:
    """The training rows on the device (or streamed to it), handed out as float32 batches.

    ``data[idx]`` (a tensor of row indices, or a slice) is the scaled rows,
    float32 on ``device``; ``shape``, ``device``, ``dim()`` and ``len()`` are
    those of the scaled data.

    Parameters
    ----------
    values : ndarray of shape (n_samples, ...)
        The rows, unscaled.  uint8 rows with an ``elementwise`` scaling
        (images) are stored as they are, a quarter of float32's size, and
        become float per batch through a 256-entry table of their scaled
        values (the values float64 scaling then a float32 cast gives, bit
        for bit).  Other rows are scaled once and stored as float32.
    scale : callable
        ``scale(array) -> float64 array``.
    device : torch.device
    max_bytes : int, optional
        The most the stored rows may take on ``device``.  Larger rows stay
        in host memory (page-locked when ``device`` is CUDA) and each batch
        is gathered there and copied over without blocking; so do rows the
        device has no memory for.
    elementwise : bool, default=False
        ``scale`` maps every value alike (one offset and factor).
    """

    def __init__(self, values, scale, device, max_bytes=None, elementwise=False):
        self.device = device
        self._table = None
        if elementwise and values.dtype == np.uint8:
            rows = torch.from_numpy(np.ascontiguousarray(values))
            self._table = torch.as_tensor(
                scale(np.arange(256, dtype=np.float64)), dtype=torch.float32, device=device
            )
        else:
            rows = torch.as_tensor(scale(values), dtype=torch.float32)
        self.shape = rows.shape
        self.nbytes = rows.numel() * rows.element_size()
        self.streaming = max_bytes is not None and self.nbytes > max_bytes
        if not self.streaming:
            try:
                rows = rows.to(device)
            except torch.OutOfMemoryError:
                self.streaming = True
        if self.streaming and device.type == "cuda":
            rows = rows.pin_memory()
        self._rows = rows

    def dim(self):
        return len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        if self.streaming:
            if isinstance(index, torch.Tensor):
                index = index.cpu()
            rows = self._rows[index]
            if self.device.type == "cuda":
                rows = rows.pin_memory()
            rows = rows.to(self.device, non_blocking=True)
        else:
            rows = self._rows[index]
        if self._table is not None:
            return self._table[rows.long()]
        return rows


def row_chunks(rows, size):
    """``rows[i:i + size]`` for ``i = 0, size, 2 * size, ...``, one chunk at a time.

    ``rows`` is anything with ``len`` that slices by rows: a tensor, an array, a
    :class:`DeviceData`, or a tensor of row indices.
    """
    return (rows[start : start + size] for start in range(0, len(rows), size))


def map_chunks(fn, rows, size, module=None):
    """``[fn(chunk) for chunk in row_chunks(rows, size)]``, without gradient.

    The one way a pass over many rows is cut up: chunks keep a large set's
    activations within memory.  With ``module``, it runs in eval mode and is
    back in the mode it was in afterwards.
    """
    was_training = module is not None and module.training
    if module is not None:
        module.eval()
    try:
        with torch.no_grad():
            return [fn(chunk) for chunk in row_chunks(rows, size)]
    finally:
        if was_training:
            module.train()


def all_rows(rows, size=4096):
    """All ``rows`` (a :class:`DeviceData`, say) as one tensor, gathered ``size`` at a time."""
    return torch.cat(map_chunks(lambda chunk: chunk, rows, size))
