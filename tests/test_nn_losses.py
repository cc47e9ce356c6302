"""nn/losses.py: mutual-information critics, neighbours, contrastive, spectral, entropy, KL."""

import numpy as np
import pytest
import torch
from torch import nn

from skdeepcluster.nn import losses

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
    first, last = _trained_critic_losses(losses.GlobalMIEstimator(4, 3, hidden=(32,)), x, z)
    assert first > 1.2 and last < 0.8


def test_local_mi_estimator_learns_dependence_at_every_position():
    torch.manual_seed(0)
    z = torch.randn(128, 3)
    # Every position of the map carries a code of z, in its own noise.
    features = (z @ torch.randn(3, 8))[:, :, None, None] + 0.1 * torch.randn(128, 8, 4, 4)
    est = losses.LocalMIEstimator(8, 3, hidden=16)
    first, last = _trained_critic_losses(est, features, z)
    assert first > 1.2 and last < 0.8
    # The trained critic tells nothing of codes independent of the features.
    assert float(est(features, torch.randn(128, 3)).detach()) > 1.2


def test_pair_linear_is_the_linear_layer_on_the_concatenation():
    torch.manual_seed(0)
    layer = losses.PairLinear(5, 3, 4)
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
        losses.LocalMIEstimator(4, 3, hidden=8) if local else losses.GlobalMIEstimator(4, 3, (8, 8))
    )
    f = torch.randn(5, 4, 2, 2) if local else torch.randn(5, 4)
    z = torch.randn(5, 3)
    loss = est(f, z, _gen(1))
    z_neg = losses.shuffle_negatives(z, _gen(1))
    whole = torch.nn.Sequential(torch.nn.Linear(7, 8), *est.rest)
    whole[0].weight.data.copy_(est.first.weight)
    whole[0].bias.data.copy_(est.first.bias)
    rows = f.flatten(2).transpose(1, 2) if local else f

    def score(codes):
        codes = codes[:, None].expand(-1, rows.shape[1], -1) if local else codes
        return whole(torch.cat([rows, codes], -1))

    torch.testing.assert_close(loss, losses.jsd_mi_loss(score(z), score(z_neg)))


def test_nearest_neighbors_is_exact_and_excludes_the_row_itself():
    from sklearn.neighbors import NearestNeighbors

    z = torch.randn(300, 5, generator=_gen(2), dtype=torch.float64)
    dist, idx = losses.nearest_neighbors(z, 4, chunk_size=64)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=5).fit(z.numpy()).kneighbors(z.numpy())
    np.testing.assert_array_equal(idx.numpy(), ref_idx[:, 1:])
    np.testing.assert_allclose(dist.numpy(), ref_dist[:, 1:], rtol=1e-6)
    with pytest.raises(ValueError, match="n_neighbors=300"):
        losses.nearest_neighbors(z, 300)


def test_contrastive_loss_margins():
    anchor = torch.zeros(4, 2)
    near = torch.full((4, 3, 2), 0.01)  # within the positive margin
    far = torch.full((4, 3, 2), 1.0)  # beyond the negative margin
    assert float(losses.contrastive_loss(anchor, near, far)) == 0.0
    # Swapped roles: positives too far, negatives too close.
    loss = losses.contrastive_loss(anchor, far, near)
    d_far, d_near = 2**0.5, 0.01 * 2**0.5
    assert abs(float(loss) - ((d_far - 0.05) ** 2 + (1 - d_near) ** 2)) < 1e-5
    # One partner per anchor works too.
    assert losses.contrastive_loss(anchor, near[:, 0], far[:, 0]).dim() == 0


def test_spectral_loss_is_the_weighted_sum_of_squared_distances():
    y = torch.randn(7, 3, generator=_gen(4), dtype=torch.float64)
    w = torch.rand(7, 7, generator=_gen(5), dtype=torch.float64)  # not symmetric
    pairwise = (w * (y[:, None] - y[None]).pow(2).sum(-1)).sum() / (2 * 7)
    torch.testing.assert_close(losses.spectral_loss(y, w), pairwise)


def test_shuffle_negatives_is_a_derangement():
    z = torch.arange(10.0)[:, None]
    for seed in range(20):
        assert (losses.shuffle_negatives(z, _gen(seed)) != z).all()


def test_entropy_terms():
    uniform = torch.full((4, 5), 0.2)
    onehot = torch.eye(5)[:4]
    assert float(losses.entropy(uniform)) == pytest.approx(np.log(5), rel=1e-5)
    assert float(losses.entropy(onehot)) == pytest.approx(0.0, abs=1e-5)
    assert float(losses.marginal_entropy(torch.eye(5))) == pytest.approx(np.log(5), rel=1e-5)


def test_kl_terms():
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    assert float(losses.kl_standard_normal(mu, logvar)) == 0.0
    assert float(losses.kl_standard_normal(mu + 1, logvar)) == pytest.approx(2.0)
    p = torch.randn(6, 4)
    assert float(losses.kl_categorical(p, p)) == pytest.approx(0.0, abs=1e-6)
    q = torch.randn(6, 4)
    ref = nn.functional.kl_div(
        q.log_softmax(1), p.log_softmax(1), log_target=True, reduction="batchmean"
    )
    assert float(losses.kl_categorical(p, q)) == pytest.approx(float(ref), rel=1e-5)


def test_gradient_penalty_is_zero_for_unit_gradient_and_differentiable():
    w = torch.tensor([[0.6], [0.8]], requires_grad=True)  # |w| = 1

    def critic(x):
        return x @ w

    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert float(losses.gradient_penalty(critic, real, fake, _gen()).detach()) == pytest.approx(
        0.0, abs=1e-10
    )
    w2 = torch.tensor([[2.0], [0.0]], requires_grad=True)
    gp = losses.gradient_penalty(lambda x: x @ w2, real, fake, _gen())
    assert float(gp.detach()) == pytest.approx(1.0)
    gp.backward()
    assert w2.grad is not None and float(w2.grad.norm()) > 0


def test_cholesky_orthonorm_layer():
    layer = losses.CholeskyOrthonorm(3)
    y = torch.randn(50, 3) @ torch.randn(3, 3)
    out = layer.train()(y)
    torch.testing.assert_close(out.T @ out / 50, torch.eye(3), atol=1e-4, rtol=0)
    # Evaluation applies the stored map of the last training batch.
    torch.testing.assert_close(layer.eval()(y), out, atol=1e-4, rtol=0)
    y.requires_grad_(True)
    layer.train()(y).sum().backward()
    assert torch.isfinite(y.grad).all()
