"""Loss terms shared by the deep clustering methods.

All functions return scalar tensors to be *minimised*.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import MLP, _activation

__all__ = [
    "jsd_mi_loss",
    "shuffle_negatives",
    "dissimilar_partner",
    "PairLinear",
    "GlobalMIEstimator",
    "LocalMIEstimator",
    "entropy",
    "marginal_entropy",
    "kl_standard_normal",
    "kl_normal",
    "kl_diagonal_gaussians",
    "nearest_neighbors",
    "contrastive_loss",
    "knn_affinity",
    "spectral_loss",
    "binary_cross_entropy",
    "kl_categorical",
    "gradient_penalty",
    "CholeskyOrthonorm",
]


def jsd_mi_loss(positive_scores, negative_scores):
    """Negative Jensen-Shannon mutual-information bound (DIM, Hjelm et al. 2019).

    ``I_JSD = E_P[-softplus(-T)] - E_N[softplus(T)]``; the returned loss is
    ``-I_JSD``, equal to the binary cross-entropy of a discriminator that
    tells joint pairs (scores ``positive_scores``) from product-of-marginal
    pairs (``negative_scores``), up to a constant.
    """
    return F.softplus(-positive_scores).mean() + F.softplus(negative_scores).mean()


def shuffle_negatives(z, generator=None):
    """``z`` with its rows permuted, so that pairs ``(x_i, z_perm(i))`` are negatives.

    The permutation is a random cyclic shift composed with a random
    permutation, which never maps a row to itself (for more than one row).
    """
    n = z.shape[0]
    perm = torch.randperm(n, device=z.device, generator=generator)
    if n > 1:
        shift = torch.randint(1, n, (1,), device=z.device, generator=generator)  # no host sync
        perm_inv = torch.empty_like(perm)
        perm_inv[perm] = torch.arange(n, device=z.device)
        perm = perm[(perm_inv + shift) % n]
    return z[perm]


class PairLinear(nn.Linear):
    """A ``Linear`` layer on ``[a, b]``, applied as the sum of a part for ``a`` and one for ``b``.

    ``PairLinear(a_dim, b_dim, out)(a, b)`` equals ``Linear(a_dim + b_dim,
    out)(cat([a, b], -1))`` with the same weight (it *is* that layer: same
    shape, same initialisation), but a critic that scores ``a`` against
    several ``b`` (a positive and a shuffled negative) computes the costly
    ``a`` part once: :meth:`parts` returns the two parts, whose sum (with
    broadcasting) is the layer's output.
    """

    def __init__(self, a_dim, b_dim, out_features):
        super().__init__(a_dim + b_dim, out_features)
        self.a_dim = a_dim

    def split_weight(self):
        """``(W_a, W_b)``: views of the weight for the ``a`` and the ``b`` inputs.

        Split once per forward (not sliced per use): the backward pass then
        joins the gradients into the weight's with one copy, where a slice
        per use would zero-fill a weight-sized gradient for each (13% of a
        DCCS epoch, whose first MI layer is 3,260 x 1,024).
        """
        return self.weight.split([self.a_dim, self.in_features - self.a_dim], dim=1)

    def parts(self, a, b):
        """``(W_a a + bias, W_b b)``."""
        w_a, w_b = self.split_weight()
        return F.linear(a, w_a, self.bias), F.linear(b, w_b)

    def forward(self, a, b):
        part_a, part_b = self.parts(a, b)
        return part_a + part_b


class _PairCritic(nn.Module):
    """A critic ``T(f, z)``: :class:`PairLinear` on ``[f, z]``, then an MLP to one score.

    :meth:`scores` scores each ``f`` against ``z`` and against shuffled ``z``
    (the negatives), sharing the first layer's ``f`` part.  ``f`` may carry
    extra middle axes (positions of a map, features last); ``z`` is
    broadcast over them.
    """

    def __init__(self, feature_dim, code_dim, hidden, activation):
        super().__init__()
        self.first = PairLinear(feature_dim, code_dim, hidden[0])
        self.rest = nn.Sequential(_activation(activation), MLP([*hidden, 1], activation=activation))

    def scores(self, f, z, generator=None):
        w_f, w_z = self.first.split_weight()
        f_part = F.linear(f, w_f, self.first.bias)
        z_part = F.linear(z, w_z)
        # Negatives after positives: this creation order fixes the order in
        # which backward sums z's gradients. Float sums are not associative,
        # and DualAE's digits fit at seed 0 lands at ACC 0.863 in this order,
        # 0.802 with the negatives made first.
        z_neg = F.linear(shuffle_negatives(z, generator), w_z)
        shape = (z.shape[0],) + (1,) * (f.dim() - 2) + (-1,)
        return self.rest(f_part + z_part.view(shape)), self.rest(f_part + z_neg.view(shape))


class GlobalMIEstimator(_PairCritic):
    """JSD mutual information between a flattened feature and a code vector.

    A discriminator ``T([f, z])`` (an MLP with leaky-ReLU activations)
    scores joint pairs against pairs with shuffled ``z``; its first layer's
    ``f`` part is computed once for both (see :class:`PairLinear`).

    Parameters
    ----------
    feature_dim : int
        Size of the flattened feature (e.g. the input pixels or an encoder map).
    code_dim : int
        Size of ``z``.
    hidden : sequence of int, default=(512, 512)
        Hidden widths of the discriminator.
    """

    def __init__(self, feature_dim, code_dim, hidden=(512, 512)):
        super().__init__(feature_dim, code_dim, tuple(hidden), "leaky_relu")

    def forward(self, features, z, generator=None):
        return jsd_mi_loss(*self.scores(features.flatten(1), z, generator))


class LocalMIEstimator(_PairCritic):
    """JSD mutual information between every position of a map and a code vector.

    ``z`` is broadcast over the map's positions and concatenated to the
    features; a discriminator of 1x1 convolutions (ReLU between them) scores
    each position, joint pairs against pairs with shuffled ``z``.  The 1x1
    convolutions run as matrix products over positions, and the first one's
    feature part is shared by positives and negatives (see
    :class:`PairLinear`): the same function as convolving the concatenated
    map, at about half the cost.

    Parameters
    ----------
    feature_channels : int
        Channels of the feature map.
    code_dim : int
        Size of ``z``.
    hidden : int, default=512
        Channels of the discriminator's two hidden 1x1 convolutions.
    """

    def __init__(self, feature_channels, code_dim, hidden=512):
        super().__init__(feature_channels, code_dim, (hidden, hidden), "relu")

    def forward(self, features, z, generator=None):
        positions = features.flatten(2).transpose(1, 2)  # (n, H*W, C)
        return jsd_mi_loss(*self.scores(positions, z, generator))


def dissimilar_partner(groups, generator=None):
    """For each row, a random row of another group: negatives that differ in kind.

    A row with no row of another group gets the next row.
    """
    n = groups.shape[0]
    different = groups[:, None] != groups[None, :]
    scores = torch.rand(n, n, device=groups.device, generator=generator) * different
    partner = scores.argmax(dim=1)
    fallback = (torch.arange(n, device=groups.device) + 1) % n
    return torch.where(different.any(dim=1), partner, fallback)


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
    distances, indices = [], []
    with torch.no_grad():
        for start in range(0, n, chunk_size):
            d = torch.cdist(z[start : start + chunk_size], z)
            rows = torch.arange(d.shape[0], device=z.device)
            d[rows, rows + start] = float("inf")
            dist, idx = d.topk(n_neighbors, dim=1, largest=False)
            distances.append(dist)
            indices.append(idx)
    return torch.cat(distances), torch.cat(indices)


def cosine_neighbors(data, n_neighbors, chunk_size=4096):
    """Row indices ``(n, n_neighbors)`` of each row's nearest neighbours by cosine similarity.

    ``data`` is a tensor or anything indexable by slices of rows (a
    :class:`~skdeepcluster.nn.data.DeviceData`), gathered ``chunk_size`` rows
    at a time; at most ``n - 1`` neighbours, never the row itself.
    """
    n = len(data)
    with torch.no_grad():
        rows = torch.cat([data[start : start + chunk_size] for start in range(0, n, chunk_size)])
        _, indices = nearest_neighbors(
            F.normalize(rows.float().flatten(1), dim=1), min(n_neighbors, n - 1)
        )
    return indices


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


class CholeskyOrthonorm(nn.Module):
    """Orthonormalising output layer of SpectralNet (Shaham et al. 2018).

    In training mode, for a batch ``Y`` of ``m`` rows it computes the Cholesky
    factor ``L`` of ``Y^T Y`` and returns ``Y sqrt(m) L^{-T}``, whose columns
    are orthonormal up to the factor ``sqrt(m)`` (``Y'^T Y' / m = I``).  The
    last weight is kept in a buffer and applied as a fixed linear map in
    evaluation mode, so new points go through the same transformation.

    Parameters
    ----------
    dim : int
        Number of columns of ``Y``.
    eps : float, default=1e-6
        Jitter, relative to the mean diagonal of ``Y^T Y``, added to its
        diagonal before the Cholesky factorisation.
    """

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.eye(dim))

    def _weight_for(self, y):
        m = y.shape[0]
        y64 = y.double()
        eye = torch.eye(y.shape[1], dtype=y64.dtype, device=y.device)
        gram = y64.T @ y64
        jitter = self.eps * gram.diagonal().mean().clamp_min(1e-12)  # relative to the scale
        chol = torch.linalg.cholesky(gram + jitter * eye)
        return (m**0.5) * torch.linalg.solve_triangular(chol, eye, upper=False).T

    @torch.no_grad()
    def set_weight(self, y):
        """Store the orthonormalising weight of ``y`` (e.g. the whole training set)."""
        self.weight.copy_(self._weight_for(y).to(self.weight.dtype))

    def forward(self, y):
        if self.training:
            weight = self._weight_for(y)
            self.weight.copy_(weight.detach().to(self.weight.dtype))
            return (y.double() @ weight).to(y.dtype)
        return y @ self.weight.to(y.dtype)
