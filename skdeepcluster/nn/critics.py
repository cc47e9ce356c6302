"""Mutual-information critics: discriminators that tell joint pairs from shuffled ones.

:class:`GlobalMIEstimator` scores a flattened feature against a code,
:class:`LocalMIEstimator` every position of a feature map against it (DIM, Hjelm et
al. 2019); both share their first layer's feature part between positives and
negatives (:class:`PairLinear`).  Negatives come from :func:`shuffle_negatives` (a
derangement of the codes) or :func:`dissimilar_partner` (a row of another group).
The loss they return is :func:`~skdeepcluster.nn.losses.jsd_mi_loss`.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import MLP, _activation
from .losses import jsd_mi_loss

__all__ = [
    "shuffle_negatives",
    "dissimilar_partner",
    "PairLinear",
    "GlobalMIEstimator",
    "LocalMIEstimator",
]


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
