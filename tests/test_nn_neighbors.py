"""nn/neighbors.py: exact neighbour search and the kNN affinity graph."""

import numpy as np
import pytest
import torch

from skdeepcluster.nn import neighbors

from .conftest import torch_generator as _gen


def test_nearest_neighbors_is_exact_and_excludes_the_row_itself():
    from sklearn.neighbors import NearestNeighbors

    z = torch.randn(300, 5, generator=_gen(2), dtype=torch.float64)
    dist, idx = neighbors.nearest_neighbors(z, 4, chunk_size=64)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=5).fit(z.numpy()).kneighbors(z.numpy())
    np.testing.assert_array_equal(idx.numpy(), ref_idx[:, 1:])
    np.testing.assert_allclose(dist.numpy(), ref_dist[:, 1:], rtol=1e-6)
    with pytest.raises(ValueError, match="n_neighbors=300"):
        neighbors.nearest_neighbors(z, 300)


def test_centred_cosine_neighbours_see_past_a_shared_offset():
    # two groups of positive rows on one large offset: uncentred, every pair is alike
    group = torch.tensor([[1.0, 0.0], [0.9, 0.2], [0.8, 0.1]])
    rows = torch.cat([group, -group]) + 50.0
    found = neighbors.cosine_neighbors(rows, 2, centre=True)
    assert [set(n) for n in found.tolist()] == [{1, 2}, {0, 2}, {0, 1}, {4, 5}, {3, 5}, {3, 4}]
