"""nn/latent.py: reparametrised draws, the ELBO's terms and the Gaussian-mixture VAE."""

import math

import pytest
import torch

from skdeepcluster.nn.latent import (
    GaussianMixtureVAE,
    categorical_kl,
    expected_kl,
    gaussian_sample,
    gumbel_softmax,
    log_likelihood,
    marginal_categorical_kl,
    mixture_moments,
    mixture_reparametrize,
)

from .conftest import torch_generator as _gen


def test_mixture_reparametrisation():
    gen = torch.Generator().manual_seed(0)
    mean = torch.randn(5, 3, 4, generator=gen)
    log_var = torch.randn(5, 3, 4, generator=gen)
    eps = torch.randn(5, 1, 4, generator=gen)
    onehot = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 1, 0]), 3).float()
    z = mixture_reparametrize(onehot, mean, log_var, eps)
    rows = torch.arange(5)
    k = onehot.argmax(1)
    expected = mean[rows, k] + (0.5 * log_var[rows, k]).exp() * eps[:, 0]
    torch.testing.assert_close(z, expected)
    # A relaxed sample mixes the per-cluster draws linearly.
    soft = torch.tensor([[0.25, 0.75, 0.0]]).expand(5, 3)
    mixed = mixture_reparametrize(soft, mean, log_var, eps)
    draws = mean + (0.5 * log_var).exp() * eps
    torch.testing.assert_close(mixed, 0.25 * draws[:, 0] + 0.75 * draws[:, 1])


def test_gumbel_softmax_samples_the_categorical():
    gen = torch.Generator().manual_seed(0)
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]])).expand(20000, 3).clone().requires_grad_()
    soft = gumbel_softmax(logits, 0.5, generator=gen)
    torch.testing.assert_close(soft.sum(1), torch.ones(20000))
    freq = torch.bincount(soft.argmax(1), minlength=3).float() / 20000
    torch.testing.assert_close(freq, torch.tensor([0.6, 0.3, 0.1]), atol=0.015, rtol=0)
    hard = gumbel_softmax(logits, 0.5, straight_through=True, generator=gen)
    assert set(hard.detach().unique().tolist()) == {0.0, 1.0}
    (hard[:, 0]).sum().backward()
    assert logits.grad.abs().sum() > 0  # the relaxed sample's gradient passes through


def test_mixture_initialisation_copies_the_posterior_and_discriminates_the_components():
    torch.manual_seed(0)
    net = GaussianMixtureVAE((1, 8, 8), n_clusters=3, latent_dim=4)
    centers = torch.tensor([[0.0, 0, 0, 0], [3.0, 0, 0, 0], [0.0, 0, -3, 0]])
    variances = torch.full((3, 4), 0.5)
    net.init_mixture(centers, variances)
    h = torch.randn(50, 256)
    mean0, log_var0 = net._head(h, 0)
    for k in range(3):  # every q(z|x, y=k) is the pretrained one
        mean, log_var = net._head(h, k)
        torch.testing.assert_close(mean, mean0)
        torch.testing.assert_close(log_var, log_var0)
    torch.testing.assert_close(net.prior_mean.data, centers)
    torch.testing.assert_close(net.prior_log_var.data.exp(), variances)
    # q(y|x) picks the component nearest to the code (equal variances)
    nearest = torch.cdist(mean0, centers).argmin(dim=1)
    assert torch.equal(net.cluster_logits(h).argmax(dim=1), nearest)


def test_gaussian_sample_is_reparametrised():
    mean = torch.zeros(2000, 3, requires_grad=True)
    log_var = torch.full((2000, 3), math.log(4.0), requires_grad=True)
    z = gaussian_sample(mean, log_var, _gen())
    assert abs(float(z.std()) - 2.0) < 0.1 and abs(float(z.mean())) < 0.1
    z.sum().backward()
    assert torch.equal(mean.grad, torch.ones(2000, 3))  # gradients reach both parameters
    assert log_var.grad.abs().sum() > 0


def test_log_likelihoods_of_their_decoders():
    x = torch.tensor([[1.0, 0.0]])
    logits = torch.tensor([[0.0, 0.0]])  # p = 1/2 for each value
    assert float(log_likelihood(logits, x, "bernoulli")) == pytest.approx(2 * math.log(0.5))
    # unit-variance Gaussian at its mean: -log(2 pi) / 2 per value
    assert float(log_likelihood(x, x, "gaussian")) == pytest.approx(-math.log(2 * math.pi))


def test_mixture_moments_are_each_clusters_mean_and_total_variance():
    codes = torch.tensor([[0.0], [2.0], [10.0]], dtype=torch.float64)
    spread = torch.full((3, 1), 0.5, dtype=torch.float64)
    centers, variances = mixture_moments(codes, spread, torch.tensor([0, 0, 1]), 3, 1e-4)
    torch.testing.assert_close(centers[:, 0], torch.tensor([1.0, 10.0, 0.0], dtype=torch.float64))
    # the codes' spread around the centre plus their own variance; an empty cluster's floor
    torch.testing.assert_close(variances[:, 0], torch.tensor([1.5, 0.5, 1e-4], dtype=torch.float64))


def test_the_elbos_kl_terms_at_known_inputs():
    q = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    kl = torch.tensor([[2.0, 8.0], [2.0, 4.0]])
    torch.testing.assert_close(expected_kl(q, kl), torch.tensor([2.0, 3.0]))
    log_q = q.clamp_min(1e-30).log()
    # one-hot: log K from the uniform; uniform: 0
    torch.testing.assert_close(categorical_kl(q, log_q), torch.tensor([math.log(2), 0.0]))
    # the marginal of a one-hot row and a uniform one is (3/4, 1/4)
    marginal = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert float(marginal_categorical_kl(q)) == pytest.approx(marginal)
    assert float(marginal_categorical_kl(torch.eye(2))) == pytest.approx(0.0, abs=1e-6)


def test_the_elbo_is_the_expected_log_likelihood_minus_the_kl_terms():
    torch.manual_seed(0)
    net = GaussianMixtureVAE((4,), n_clusters=3, latent_dim=2).double().eval()
    x = torch.randn(5, 4, dtype=torch.float64)
    elbo = net.elbo(x, "gaussian")
    logits, mean, log_var = net.encode(x)
    log_q = logits.log_softmax(1)
    eps = torch.randn(2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    z = mean + (0.5 * log_var).exp() * eps
    log_lik = torch.stack(
        [log_likelihood(net.decoder(z[:, k]), x, "gaussian") for k in range(3)], 1
    )
    expected = (
        (log_q.exp() * log_lik).sum(1)
        - expected_kl(log_q.exp(), net.kl_gaussians(mean, log_var))
        - categorical_kl(log_q.exp(), log_q)
    )
    torch.testing.assert_close(elbo, expected)
    assert torch.equal(net.elbo(x[:2], "gaussian"), elbo[:2])  # a row's ELBO is its own
