"""Latent variables of the variational models: reparametrised draws and the Gaussian-mixture VAE.

:func:`gaussian_sample` draws a Gaussian code with gradients (the
reparametrisation trick), :func:`gumbel_softmax` and
:func:`mixture_reparametrize` the discrete and continuous latents of a
Gaussian-mixture VAE, :func:`log_likelihood` is its decoder's ``log p(x|z)``,
and :class:`GaussianMixtureVAE` is the network of ``VariationalClustering``
(Prasad et al., IJCNN 2020): ``q(y|x)``, ``q(z|x, y)`` for every ``y``,
the decoder ``p(x|z)`` and the learned prior ``p(z|y)``, with the mixture
initialisation from a pretrained one-component model
(:func:`mixture_moments`) and the per-row ELBO.  The ELBO's KL terms are written
once, :func:`expected_kl` and :func:`categorical_kl` (with
:func:`marginal_categorical_kl`, the term's marginal form): the training loss and
the ELBO of a fitted model both take them.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import build_decoder, build_encoder
from .losses import kl_diagonal_gaussians

__all__ = [
    "gaussian_sample",
    "gumbel_softmax",
    "mixture_reparametrize",
    "log_likelihood",
    "mixture_moments",
    "expected_kl",
    "categorical_kl",
    "marginal_categorical_kl",
    "GaussianMixtureVAE",
]

# Encoder and decoder: two stride-2 3x3 convolutions (32 and 64 channels) and
# a 256-wide fully connected layer for images, two 256-wide layers for rows.
_CONV_LAYERS = ((32, 3, 2), (64, 3, 2))
_CONV_HIDDEN = (256,)
_TABULAR_HIDDEN = (256, 256)
_FEATURES = 256
_LOG_VAR_RANGE = (-10.0, 10.0)


def gaussian_sample(mean, log_var, generator=None):
    """A draw ``mean + exp(log_var / 2) * eps`` of ``N(mean, diag(exp(log_var)))``, with gradients.

    ``eps`` is standard-normal noise of ``mean``'s shape from ``generator``.
    """
    eps = torch.randn(mean.shape, device=mean.device, dtype=mean.dtype, generator=generator)
    return mean + (0.5 * log_var).exp() * eps


def gumbel_softmax(logits, tau, straight_through=False, generator=None):
    """A relaxed one-hot sample ``softmax((logits + g) / tau)``, ``g`` Gumbel(0, 1) noise.

    With ``straight_through`` the sample is the one-hot of its argmax in the
    forward pass, with the relaxed sample's gradient (Jang et al. 2017).
    The noise comes from ``generator`` (``torch.nn.functional.gumbel_softmax``
    takes none).
    """
    u = torch.rand(logits.shape, device=logits.device, dtype=logits.dtype, generator=generator)
    tiny = torch.finfo(logits.dtype).tiny
    gumbel = -torch.log((-torch.log(u.clamp_min(tiny))).clamp_min(tiny))
    soft = ((logits + gumbel) / tau).softmax(dim=1)
    if not straight_through:
        return soft
    hard = F.one_hot(soft.argmax(dim=1), soft.shape[1]).to(soft.dtype)
    return hard - soft.detach() + soft


def mixture_reparametrize(y, mean, log_var, eps):
    """The discrete + continuous draw ``z = sum_k y_k (mean_k + exp(log_var_k / 2) * eps)``.

    ``y`` is ``(n, K)`` (one-hot or a relaxed sample), ``mean`` and
    ``log_var`` are ``(n, K, D)``, and ``eps`` is ``(n, 1, D)``: one
    standard-normal draw shared by the clusters, so a one-hot ``y`` gives an
    exact draw from ``N(mean_k, exp(log_var_k))``.
    """
    return (y.unsqueeze(2) * (mean + (0.5 * log_var).exp() * eps)).sum(dim=1)


def log_likelihood(decoded, x, likelihood):
    """``log p(x|z)`` per row, summed over a sample's values.

    ``"bernoulli"``: ``decoded`` are the logits of pixels in [0, 1];
    ``"gaussian"``: ``decoded`` is the mean of a unit-variance Gaussian.
    """
    if likelihood == "bernoulli":
        ll = -F.binary_cross_entropy_with_logits(decoded, x, reduction="none")
    else:
        ll = -0.5 * ((x - decoded).pow(2) + math.log(2 * math.pi))
    return ll.flatten(1).sum(dim=1)


def expected_kl(q, kl):
    """``E_q(y|x)[KL(q(z|x, y) || p(z|y))]`` per row, of every cluster's divergence.

    ``kl`` ``(n, K)`` is each row's ``KL(q(z|x, y=k) || p(z|y=k))``, ``q`` its
    ``q(y|x)``.
    """
    return (q * kl).sum(dim=1)


def categorical_kl(q, log_q):
    """``KL(q(y|x) || U(K))`` per row, from ``q(y|x)`` and its log ``(n, K)``."""
    return (q * (log_q + math.log(q.shape[1]))).sum(dim=1)


def marginal_categorical_kl(q):
    """``KL(q(y) || U(K))`` of the marginal ``q(y)``, the mean of the rows of ``q(y|x)`` ``(n, K)``.

    Since ``mean_x KL(q(y|x) || U) = I(x; y) + KL(q(y) || U)``, this keeps
    the clusters' balance without penalising confident assignments.
    """
    q_mean = q.mean(dim=0)
    return (q_mean * (torch.log(q_mean.clamp_min(1e-12)) + math.log(q.shape[1]))).sum()


def mixture_moments(codes, spread, labels, n_clusters, min_variance):
    """Each cluster's mean and variance of ``z`` under a hard partition of posterior codes.

    ``codes`` and ``spread`` ``(n, D)`` are the means and variances of
    ``q(z|x)``, ``labels`` ``(n,)`` the partition.  A cluster's variance is
    that of its codes' means plus their own, at least ``min_variance``; an
    empty cluster's moments are zero (and ``min_variance``).
    """
    counts = torch.bincount(labels, minlength=n_clusters).clamp_min(1).to(codes.dtype)
    onehot = F.one_hot(labels, n_clusters).to(codes.dtype)
    centers = onehot.T @ codes / counts[:, None]
    variances = (onehot.T @ (codes.pow(2) + spread) / counts[:, None] - centers.pow(2)).clamp_min(
        min_variance
    )
    return centers, variances


class GaussianMixtureVAE(nn.Module):
    """q(y|x), q(z|x, y) for every y, the decoder p(x|z) and the prior p(z|y).

    VariationalClustering's network.  ``input_shape`` is ``(C, H, W)``
    (two stride-2 3x3 convolutions of 32 and 64 channels and a 256-wide
    fully connected layer, mirrored by the decoder) or ``(D,)`` (two
    256-wide layers).
    """

    def __init__(self, input_shape, n_clusters, latent_dim):
        super().__init__()
        image = len(input_shape) == 3
        conv, hidden = (_CONV_LAYERS, _CONV_HIDDEN) if image else ((), _TABULAR_HIDDEN)
        self.encoder = build_encoder(input_shape, _FEATURES, conv, hidden)
        self.cluster_logits = nn.Linear(_FEATURES, n_clusters)
        # One Gaussian per cluster: K means and K log-variances of size latent_dim.
        self.gaussian_params = nn.Linear(_FEATURES, 2 * n_clusters * latent_dim)
        self.decoder = build_decoder(input_shape, latent_dim, conv, hidden)
        # The learned prior p(z|y=k) = N(prior_mean[k], exp(prior_log_var[k])): means in
        # random directions at distance sqrt(D), each q(z|x, y=k) centred on its own, so
        # no cluster starts out cheaper than another (none is starved of data at first).
        means = torch.randn(n_clusters, latent_dim)
        means *= latent_dim**0.5 / means.norm(dim=1, keepdim=True)
        self.prior_mean = nn.Parameter(means)
        self.prior_log_var = nn.Parameter(torch.zeros(n_clusters, latent_dim))
        with torch.no_grad():
            self.gaussian_params.bias.view(n_clusters, 2, latent_dim)[:, 0] = means
        self.n_clusters, self.latent_dim = n_clusters, latent_dim

    def _features(self, x):
        return F.leaky_relu(self.encoder(x), 0.2)

    def encode(self, x):
        """Logits of q(y|x) ``(n, K)``, and means and log-variances of q(z|x, y=k) ``(n, K, D)``."""
        h = self._features(x)
        params = self.gaussian_params(h).view(-1, self.n_clusters, 2, self.latent_dim)
        log_var = params[:, :, 1].clamp(*_LOG_VAR_RANGE)
        return self.cluster_logits(h), params[:, :, 0], log_var

    def elbo(self, x, likelihood):
        """Per-row ELBO: exact in ``y`` (a sum over clusters), one shared draw of ``eps`` for ``z``.

        ``E_q[log p(x|z)] - E_q(y|x)[KL(q(z|x, y) || p(z|y))] - KL(q(y|x) ||
        U(K))``.  The draw comes from a generator seeded with 0, so a row's
        ELBO does not depend on the rows scored with it; ``likelihood`` as in
        :func:`log_likelihood`.
        """
        logits, mean, log_var = self.encode(x)
        log_q = logits.log_softmax(dim=1)
        q = log_q.exp()
        generator = torch.Generator(device=x.device).manual_seed(0)
        eps = torch.randn(mean.shape[2], device=x.device, dtype=x.dtype, generator=generator)
        z = mean + (0.5 * log_var).exp() * eps  # (n, K, D): one code per cluster
        n, k = z.shape[:2]
        decoded = self.decoder(z.reshape(n * k, -1))
        repeated = x.unsqueeze(1).expand(n, k, *x.shape[1:]).reshape(n * k, *x.shape[1:])
        log_lik = log_likelihood(decoded, repeated, likelihood).view(n, k)
        expected_log_lik = (q * log_lik).sum(dim=1)
        kl = expected_kl(q, self.kl_gaussians(mean, log_var))
        return expected_log_lik - kl - categorical_kl(q, log_q)

    def kl_gaussians(self, mean, log_var):
        """``KL(q(z|x, y=k) || p(z|y=k))`` for every row and cluster, ``(n, K)``."""
        return kl_diagonal_gaussians(mean, log_var, self.prior_mean, self.prior_log_var)

    def _head(self, h, k=0):
        """Mean and log-variance of ``q(z|x, y=k)`` from features ``h`` (that head alone)."""
        weight = self.gaussian_params.weight.view(self.n_clusters, 2, self.latent_dim, -1)[k]
        bias = self.gaussian_params.bias.view(self.n_clusters, 2, self.latent_dim)[k]
        params = F.linear(h, weight.flatten(0, 1), bias.flatten()).view(-1, 2, self.latent_dim)
        return params[:, 0], params[:, 1].clamp(*_LOG_VAR_RANGE)

    def encode_one(self, x):
        """Mean and log-variance of ``q(z|x, y=0)``: the one-component model of pretraining."""
        return self._head(self._features(x))

    @torch.no_grad()
    def init_mixture(self, centers, variances):
        """Every ``q(z|x, y=k)`` from the pretrained one, the prior and ``q(y|x)`` from a mixture.

        ``centers`` and ``variances`` ``(K, D)`` are the components fitted to
        the pretrained codes.  The prior takes the components; ``q(y|x)`` the linear discriminant
        of the components with their pooled variance (``q(z|x, y=0)``'s mean
        is linear in ``h``, so its Gaussian posterior over the components is
        a linear layer on ``h``).
        """
        k, d = self.n_clusters, self.latent_dim
        weight = self.gaussian_params.weight.view(k, 2, d, -1)
        bias = self.gaussian_params.bias.view(k, 2, d)
        weight.copy_(weight[:1].expand_as(weight).clone())
        bias.copy_(bias[:1].expand_as(bias).clone())
        self.prior_mean.copy_(centers)
        self.prior_log_var.copy_(variances.log())
        pooled = variances.mean(dim=0)
        scaled = centers / pooled  # (K, D)
        self.cluster_logits.weight.copy_(scaled @ weight[0, 0])
        self.cluster_logits.bias.copy_(scaled @ bias[0, 0] - 0.5 * (scaled * centers).sum(dim=1))
