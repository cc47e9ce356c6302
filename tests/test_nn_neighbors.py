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
