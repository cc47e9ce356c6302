"""nn/critics.py: the mutual-information critics and their negatives."""

import pytest
import torch

from skdeepcluster.nn import critics
from skdeepcluster.nn.losses import jsd_mi_loss

from .conftest import torch_generator as _gen


def _trained_critic_losses(est, features, z, steps=150):
    """The estimator's loss before and after ``steps`` Adam steps on ``(features, z)``."""
    opt = torch.optim.Adam(est.parameters(), 1e-2)
    first = float(est(features, z, _gen()).detach())
    for _ in range(steps):
        loss = est(features, z)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return first, float(est(features, z).detach())


# log 4 ~ 1.386 is the loss of a critic that cannot tell pairs apart.
def test_jsd_mi_estimator_learns_dependence():
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    z = x @ torch.randn(4, 3)
    first, last = _trained_critic_losses(critics.GlobalMIEstimator(4, 3, hidden=(32,)), x, z)
    assert first > 1.2 and last < 0.8


def test_local_mi_estimator_learns_dependence_at_every_position():
    torch.manual_seed(0)
    z = torch.randn(128, 3)
    # Every position of the map carries a code of z, in its own noise.
    features = (z @ torch.randn(3, 8))[:, :, None, None] + 0.1 * torch.randn(128, 8, 4, 4)
    est = critics.LocalMIEstimator(8, 3, hidden=16)
    first, last = _trained_critic_losses(est, features, z)
    assert first > 1.2 and last < 0.8
    # The trained critic tells nothing of codes independent of the features.
    assert float(est(features, torch.randn(128, 3)).detach()) > 1.2


def test_pair_linear_is_the_linear_layer_on_the_concatenation():
    torch.manual_seed(0)
    layer = critics.PairLinear(5, 3, 4)
    assert isinstance(layer, torch.nn.Linear) and layer.weight.shape == (4, 8)
    a, b = torch.randn(6, 5), torch.randn(6, 3)
    expected = torch.nn.functional.linear(torch.cat([a, b], 1), layer.weight, layer.bias)
    torch.testing.assert_close(layer(a, b), expected)


@pytest.mark.parametrize("local", [False, True], ids=["global", "local"])
def test_mi_critics_score_the_concatenated_pairs(local):
    # The shared first layer is a rewrite, not a change: the scores equal the
    # critic run on [feature, z] and on [feature, shuffled z].
    torch.manual_seed(0)
    est = (
        critics.LocalMIEstimator(4, 3, hidden=8)
        if local
        else critics.GlobalMIEstimator(4, 3, (8, 8))
    )
    f = torch.randn(5, 4, 2, 2) if local else torch.randn(5, 4)
    z = torch.randn(5, 3)
    loss = est(f, z, _gen(1))
    z_neg = critics.shuffle_negatives(z, _gen(1))
    whole = torch.nn.Sequential(torch.nn.Linear(7, 8), *est.rest)
    whole[0].weight.data.copy_(est.first.weight)
    whole[0].bias.data.copy_(est.first.bias)
    rows = f.flatten(2).transpose(1, 2) if local else f

    def score(codes):
        codes = codes[:, None].expand(-1, rows.shape[1], -1) if local else codes
        return whole(torch.cat([rows, codes], -1))

    torch.testing.assert_close(loss, jsd_mi_loss(score(z), score(z_neg)))


def test_shuffle_negatives_is_a_derangement():
    z = torch.arange(10.0)[:, None]
    for seed in range(20):
        assert (critics.shuffle_negatives(z, _gen(seed)) != z).all()
