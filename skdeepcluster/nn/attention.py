"""GATCluster's network: a backbone's feature map feeds a pooled and a Gaussian-attention branch.

Niu et al., ECCV 2020: the *original* branch pools the map and classifies;
the *attention* branch predicts a Gaussian ``(mu_x, mu_y, sigma)`` over the
map (:func:`gaussian_attention_map`) and classifies the features it
weights.  The targets and losses that train it live with the estimator
(``skdeepcluster.gatcluster``).
"""

import torch
from torch import nn

from .backbones import MLP, VGG_LAYOUTS, MLPEncoder, VGGEncoder, vgg_layout

__all__ = ["gaussian_attention_map", "GaussianAttentionNet"]

_EPS = 1e-5
_TABULAR_HIDDEN = (256, 256)
# widths=None under 64 px: half the released (64, 128, 256).
_SMALL_IMAGE_WIDTHS = (32, 64, 128)


def _layout(input_shape, widths):
    """The backbone layout: the released ones at 96 and 128 px, fitted stages otherwise."""
    size = min(input_shape[1:])
    if widths is None and size >= 112:
        return VGG_LAYOUTS["128"]
    if widths is None and size >= 64:
        return VGG_LAYOUTS["96"]
    return vgg_layout(size, widths or _SMALL_IMAGE_WIDTHS)


def gaussian_attention_map(theta, height, width, lam):
    """``exp(-((c - mu_x)^2 + (r - mu_y)^2) / (2 lam sigma + 1e-5))`` per row of ``theta``.

    ``theta`` (n, 3) holds ``(mu_x, mu_y, sigma)`` in [0, 1]; grid coordinates
    run over [0, 1] (0.5 on a 1-pixel axis; a 1x1 map is 1).
    """

    def axis(n):
        return (
            torch.arange(n, device=theta.device, dtype=theta.dtype) / (n - 1)
            if n > 1
            else torch.full((1,), 0.5, device=theta.device, dtype=theta.dtype)
        )

    if height == width == 1:  # no spatial extent (tabular rows): nothing to attend to
        return torch.ones(theta.shape[0], 1, 1, device=theta.device, dtype=theta.dtype)
    rows, cols = axis(height), axis(width)
    mu_x, mu_y, sigma = theta[:, 0, None, None], theta[:, 1, None, None], theta[:, 2, None, None]
    d2 = (cols[None, None, :] - mu_x).pow(2) + (rows[None, :, None] - mu_y).pow(2)
    return torch.exp(-d2 / (2 * lam * sigma + _EPS))


class GaussianAttentionNet(nn.Module):
    """GATCluster's network: backbone, original (pooled) branch and Gaussian-attention branch.

    ``input_shape`` is ``(C, H, W)`` (a VGG-style backbone: the released
    layouts at 96 and 128 px, stages fitted to the size otherwise, of
    ``widths`` or half the released widths) or ``(D,)`` (an MLP whose
    features form a 1x1 map).  ``lam`` scales the attention's width; ``mi``
    adds the three JSD discriminators of the mutual-information variant;
    ``n_heads - 1`` extra cluster heads beside the original branch's
    classifier read the same pooled features (built last, so one head draws
    the weights it always did).
    """

    def __init__(self, input_shape, n_clusters, feature_dim, widths, lam, mi, n_heads=1):
        super().__init__()
        if len(input_shape) == 3:
            self.backbone = VGGEncoder(input_shape, feature_dim, _layout(input_shape, widths))
        else:  # tabular rows: an MLP gives a 1x1 "map"
            self.backbone = nn.Sequential(
                MLPEncoder(input_shape[0], feature_dim, _TABULAR_HIDDEN),
                nn.BatchNorm1d(feature_dim),
                nn.ReLU(),
                nn.Unflatten(1, (feature_dim, 1, 1)),
            )
        h, w = self.backbone.feature_shape[1:] if len(input_shape) == 3 else (1, 1)
        self.map_shape, self.lam = (h, w), lam
        self.feature_conv = nn.Sequential(
            nn.Conv2d(feature_dim, feature_dim, 1), nn.BatchNorm2d(feature_dim)
        )
        self.classifier_ori = MLP([feature_dim, n_clusters, n_clusters])
        self.att_conv = nn.Sequential(
            nn.Conv2d(feature_dim, n_clusters, 1), nn.BatchNorm2d(n_clusters), nn.ReLU()
        )
        self.theta = nn.Sequential(nn.Linear(n_clusters * h * w, 3), nn.Sigmoid())
        self.classifier_att = MLP([feature_dim, n_clusters, n_clusters])
        # gatcluster_mi: JSD discriminators on (f_ori, f_att), (f_ori, q_att), (f_att, q_ori).
        self.mi = (
            nn.ModuleList(
                [
                    MLP([2 * feature_dim, feature_dim, feature_dim, 1]),
                    MLP([feature_dim + n_clusters, feature_dim, n_clusters, 1]),
                    MLP([feature_dim + n_clusters, feature_dim, n_clusters, 1]),
                ]
            )
            if mi
            else None
        )
        self.extra_heads = nn.ModuleList(
            [MLP([feature_dim, n_clusters, n_clusters]) for _ in range(n_heads - 1)]
        )

    def original(self, x):
        """Pooled features and logits of the original branch, and the maps the attention needs."""
        maps = self.backbone(x)
        conv = self.feature_conv(maps)
        pooled = conv.mean(dim=(2, 3))
        return pooled, self.classifier_ori(pooled), maps, conv

    def heads(self, pooled, logits):
        """The logits of every cluster head: the original branch's ``logits``, then the others."""
        return [logits, *(head(pooled) for head in self.extra_heads)]

    def attention(self, maps, conv):
        """``theta`` (mu_x, mu_y, sigma), the map, attended features and logits."""
        theta = self.theta(self.att_conv(maps).flatten(1))
        amap = gaussian_attention_map(theta, *self.map_shape, self.lam)
        attended = (conv * amap.unsqueeze(1)).sum(dim=(2, 3))
        return theta, amap, attended, self.classifier_att(attended)

    def forward(self, x):
        pooled, logits, maps, conv = self.original(x)
        return (pooled, logits, *self.attention(maps, conv))
