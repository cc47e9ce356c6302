"""Nearest neighbours and the graphs built on them, computed exactly on the rows' device.

:func:`nearest_neighbors` (Euclidean) and :func:`cosine_neighbors` find each row's
nearest other rows, in chunks that bound the memory; :func:`knn_affinity` is the
symmetric Gaussian k-nearest-neighbour affinity SpectralNet trains on.
"""

import torch
import torch.nn.functional as F

from .data import all_rows, map_chunks

__all__ = ["nearest_neighbors", "cosine_neighbors", "knn_affinity"]


def nearest_neighbors(z, n_neighbors, chunk_size=2048):
    """Exact ``n_neighbors`` nearest neighbours of every row of ``z`` among the others.

    Distances are Euclidean, computed on ``z``'s device in chunks of
    ``chunk_size`` rows (memory ``chunk_size * n``), without gradient.

    Returns
    -------
    distances : Tensor of shape (n, n_neighbors)
        Sorted, nearest first.
    indices : Tensor of shape (n, n_neighbors)
        Row indices of the neighbours (never the row itself).
    """
    n = z.shape[0]
    if not 0 < n_neighbors < n:
        raise ValueError(f"n_neighbors={n_neighbors} must be in [1, {n - 1}] for {n} rows.")

    def search(rows):  # the neighbours of the rows numbered ``rows``
        d = torch.cdist(z[rows], z)
        d[torch.arange(len(rows), device=z.device), rows] = float("inf")
        return d.topk(n_neighbors, dim=1, largest=False)

    found = map_chunks(search, torch.arange(n, device=z.device), chunk_size)
    return torch.cat([dist for dist, _ in found]), torch.cat([idx for _, idx in found])


def cosine_neighbors(data, n_neighbors, chunk_size=4096, centre=False):
    """Row indices ``(n, n_neighbors)`` of each row's nearest neighbours by cosine similarity.

    ``data`` is a tensor or anything indexable by slices of rows (a
    :class:`~skdeepcluster.nn.data.DeviceData`), gathered ``chunk_size`` rows
    at a time; at most ``n - 1`` neighbours, never the row itself.  With
    ``centre``, the rows' mean is taken off first (images, whose pixels are
    all positive: uncentred, every pair of them is similar).
    """
    n = len(data)
    rows = all_rows(data, chunk_size)
    with torch.no_grad():
        rows = rows.float().flatten(1)
        if centre:
            rows = rows - rows.mean(dim=0)
        _, indices = nearest_neighbors(F.normalize(rows, dim=1), min(n_neighbors, n - 1))
    return indices


def knn_affinity(z, n_neighbors, scale=None):
    """Symmetric Gaussian affinity on the ``n_neighbors`` nearest neighbours of each row.

    ``W_ij = exp(-||z_i - z_j||^2 / (2 sigma^2))`` when ``j`` is among the
    nearest neighbours of ``i`` or ``i`` among those of ``j``, else 0 (and 0
    on the diagonal).  ``sigma`` defaults to the median distance of the rows
    to their ``n_neighbors``-th neighbour, as in SpectralNet.  Computed
    without gradient.
    """
    with torch.no_grad():
        z = z.float()
        n = z.shape[0]
        w = z.new_zeros(n, n)
        k = min(n_neighbors, n - 1)
        if k == 0:  # a single row has no neighbour
            return w
        knn_d, knn_idx = nearest_neighbors(z, k, chunk_size=n)
        knn_d2 = knn_d.pow(2)
        if scale is None:
            scale = knn_d2[:, -1].clamp_min(1e-12).sqrt().median().clamp_min(1e-6)
        w.scatter_(1, knn_idx, torch.exp(-knn_d2 / (2 * scale**2)))
        return torch.maximum(w, w.T)
