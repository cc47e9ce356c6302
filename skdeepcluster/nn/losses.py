"""Loss terms shared by the deep clustering methods.

All functions return scalar tensors to be *minimised*.  The critics that estimate
mutual information are in :mod:`skdeepcluster.nn.critics`, neighbour search and the
affinity graph in :mod:`skdeepcluster.nn.neighbors`.
"""

import torch
import torch.nn.functional as F

__all__ = [
    "jsd_mi_loss",
    "entropy",
    "marginal_entropy",
    "kl_standard_normal",
    "kl_normal",
    "kl_diagonal_gaussians",
    "contrastive_loss",
    "spectral_loss",
    "binary_cross_entropy",
    "kl_categorical",
    "gradient_penalty",
]


def jsd_mi_loss(positive_scores, negative_scores):
    """Negative Jensen-Shannon mutual-information bound (DIM, Hjelm et al. 2019).

    ``I_JSD = E_P[-softplus(-T)] - E_N[softplus(T)]``; the returned loss is
    ``-I_JSD``, equal to the binary cross-entropy of a discriminator that
    tells joint pairs (scores ``positive_scores``) from product-of-marginal
    pairs (``negative_scores``), up to a constant.
    """
    return F.softplus(-positive_scores).mean() + F.softplus(negative_scores).mean()


def entropy(probs, eps=1e-8):
    """Mean per-sample entropy ``-mean_i sum_k p_ik log p_ik``."""
    return -(probs * torch.log(probs + eps)).sum(dim=1).mean()


def marginal_entropy(probs, eps=1e-8):
    """Entropy of the batch-mean distribution ``p_k = mean_i p_ik``."""
    p = probs.mean(dim=0)
    return -(p * torch.log(p + eps)).sum()


def kl_diagonal_gaussians(mu, logvar, prior_mean=0.0, prior_logvar=0.0):
    """``KL(N(mu, exp(logvar)) || N(prior_mean, exp(prior_logvar)))`` of diagonal Gaussians.

    Summed over the last dimension; the other dimensions broadcast (e.g.
    ``(n, K, D)`` posteriors against ``(K, D)`` priors give ``(n, K)``).
    """
    prior_logvar = torch.as_tensor(prior_logvar, dtype=mu.dtype, device=mu.device)
    ratio = (logvar.exp() + (mu - prior_mean).pow(2)) * torch.exp(-prior_logvar)
    return 0.5 * (ratio - 1.0 + prior_logvar - logvar).sum(dim=-1)


def kl_normal(mu, logvar, prior_mean):
    """``KL(N(mu, exp(logvar)) || N(prior_mean, I))`` summed over dimensions, averaged over rows."""
    return kl_diagonal_gaussians(mu, logvar, prior_mean).mean()


def kl_standard_normal(mu, logvar):
    """``KL(N(mu, exp(logvar)) || N(0, I))`` summed over dimensions, averaged over rows."""
    return kl_normal(mu, logvar, 0.0)


def contrastive_loss(anchor, positive, negative, margin_positive=0.05, margin_negative=1.0):
    """Contrastive loss of a Siamese net (Hadsell et al. 2006; SpectralNet's margins).

    Positive pairs are pulled within ``margin_positive`` of each other and
    negative pairs pushed at least ``margin_negative`` apart:
    ``mean(relu(d_pos - m_pos)^2) + mean(relu(m_neg - d_neg)^2)`` with
    Euclidean distances ``d``.  ``positive`` and ``negative`` may hold several
    partners per anchor, shaped ``(n, k, dim)`` against ``anchor``'s
    ``(n, dim)``.
    """

    def distance(a, b):
        a = a.unsqueeze(1) if b.dim() == 3 else a
        return (a - b).pow(2).sum(-1).clamp_min(1e-12).sqrt()

    pull = (distance(anchor, positive) - margin_positive).clamp_min(0).pow(2).mean()
    push = (margin_negative - distance(anchor, negative)).clamp_min(0).pow(2).mean()
    return pull + push


def spectral_loss(y, affinity):
    """SpectralNet loss ``sum_ij W_ij ||y_i - y_j||^2 / (2 m)`` on a batch of ``m`` rows.

    The normalisation of SpectralNet's released code: the mean over rows of
    each row's weighted squared distance to its neighbours (halved, each pair
    being counted twice).  The paper writes ``1 / m^2``, which only rescales
    the gradient of this term alone but makes it ``m / 2`` times smaller
    beside other loss terms (DSCDAN's joint phase).

    Expanded as ``sum_i (r_i + c_i) ||y_i||^2 - 2 sum_ij W_ij y_i . y_j``
    (``r``, ``c``: the row and column sums of ``W``), one matrix product
    instead of the ``m x m x dim`` differences.
    """
    w = affinity.to(y.dtype)
    norms = y.pow(2).sum(dim=1)
    degree_term = ((w.sum(dim=1) + w.sum(dim=0)) * norms).sum()
    return (degree_term - 2 * (y * (w @ y)).sum()) / (2 * y.shape[0])


def binary_cross_entropy(p, target):
    """Mean binary cross-entropy of probabilities ``p`` (logs floored at -100, as ``nn.BCELoss``).

    Computed in float32 outside autocast (which refuses it); its backward
    stays finite where ``p`` is exactly 0 or 1.
    """
    with torch.autocast(device_type=p.device.type, enabled=False):
        return F.binary_cross_entropy(p.float(), target.float())


def kl_categorical(p_logits, q_logits):
    """``KL(softmax(p_logits) || softmax(q_logits))``, averaged over rows (``batchmean``)."""
    log_p = F.log_softmax(p_logits, dim=1)
    log_q = F.log_softmax(q_logits, dim=1)
    return (log_p.exp() * (log_p - log_q)).sum(dim=1).mean()


def gradient_penalty(critic, real, fake, generator=None):
    """WGAN-GP penalty ``E[(||grad critic(x_hat)|| - 1)^2]`` (Gulrajani et al. 2017).

    ``x_hat`` interpolates between ``real`` and ``fake`` with one uniform
    weight per row.  The graph is kept so the penalty can be backpropagated.
    """
    alpha = torch.rand(
        (real.shape[0],) + (1,) * (real.dim() - 1),
        device=real.device,
        generator=generator,
        dtype=real.dtype,
    )
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (grads,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return (grads.flatten(1).norm(2, dim=1) - 1).pow(2).mean()
