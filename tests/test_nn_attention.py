"""nn/attention.py: GATCluster's Gaussian map and network."""

import numpy as np
import pytest
import torch

from skdeepcluster.nn.attention import GaussianAttentionNet, gaussian_attention_map


def test_gaussian_map_peaks_at_its_centre_and_narrows_with_sigma():
    theta = torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 0.5], [0.5, 0.5, 0.02], [0.5, 0.5, 1.0]])
    maps = gaussian_attention_map(theta, 5, 5, lam=0.05)
    assert maps.shape == (4, 5, 5)
    assert maps[0].argmax() == 4 * 5 + 0  # mu_x = 0 (first column), mu_y = 1 (last row)
    assert maps[1].argmax() == 0 * 5 + 4
    assert maps[2, 2, 2] == pytest.approx(1.0) and maps[3, 2, 2] == pytest.approx(1.0)
    assert maps[2, 0, 0] < maps[3, 0, 0]  # a smaller sigma is a narrower Gaussian
    expected = np.exp(-(0.5**2 + 0.5**2) / (2 * 0.05 * 1.0 + 1e-5))
    assert float(maps[3, 0, 0]) == pytest.approx(expected, rel=1e-5)
    # A 1x1 map (tabular input) is constant.
    assert torch.allclose(gaussian_attention_map(theta, 1, 1, 0.05), torch.ones(4, 1, 1))


@pytest.mark.parametrize("shape, map_side", [((1, 28, 28), 4), ((3, 32, 32), 5), ((6,), 1)])
def test_the_network_gives_both_branches_over_one_map(shape, map_side):
    torch.manual_seed(0)
    net = GaussianAttentionNet(shape, n_clusters=5, feature_dim=8, widths=None, lam=0.05, mi=True)
    x = torch.rand(4, *shape)
    pooled, logits, theta, amap, attended, logits_att = net(x)
    assert pooled.shape == attended.shape == (4, 8)
    assert logits.shape == logits_att.shape == (4, 5)
    assert net.original(x)[3].shape[-2:] == (map_side, map_side)  # the map both branches read
    assert len(net.mi) == 3  # the released MI variant's three critics
    assert theta.shape == (4, 3) and ((theta >= 0) & (theta <= 1)).all()
    assert amap.shape == (4, map_side, map_side)
    heads = net.heads(pooled, logits)
    assert len(heads) == 1 and torch.equal(heads[0], logits)
