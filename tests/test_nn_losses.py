"""nn/losses.py: the JSD bound, contrastive, spectral, entropy, KL and gradient-penalty terms."""

import numpy as np
import pytest
import torch
from torch import nn

from skdeepcluster.nn import losses

from .conftest import torch_generator as _gen


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
