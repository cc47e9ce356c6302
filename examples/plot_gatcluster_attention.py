"""
Where GATCluster looks: Gaussian attention on COIL-20
=====================================================

:class:`~skdeepcluster.GATCluster` learns cluster probabilities directly
from images, trained by self-supervision: invariance to augmentations,
separable and balanced clusters, and a Gaussian-attention branch that must
predict sharpened cluster targets from one Gaussian window of the feature
map.  :meth:`~skdeepcluster.GATCluster.attention_maps` returns that window
for each image: its centre ``(mu_x, mu_y)``, spread ``sigma`` and the map.

Here it clusters COIL-20 (20 objects photographed at 72 angles, 32x32 grey
images) read from local files by :func:`skdeepcluster.datasets.load_coil20`
(``coil20.npz`` in the folder ``$SKDEEPCLUSTER_DATA`` names); without them
it falls back to scikit-learn's 8x8 digits, as the documentation's build does
(33 s on two CPU cores there, 2026-12-06; COIL-20's 1,440 larger images take
several times longer).
Each row shows images of one cluster with the attention map drawn over them.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skdeepcluster import GATCluster
from skdeepcluster.datasets import load_coil20
from skdeepcluster.metrics import (
    adjusted_rand_score,
    cluster_accuracy,
    normalized_mutual_info_score,
)

try:
    X, y = load_coil20(return_X_y=True)
    name = "COIL-20"
except OSError as exc:  # no local copy: a smaller set shipped with scikit-learn
    print(f"COIL-20 not found ({exc}); using scikit-learn's digits instead.")
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8)
    name = "digits"
n_clusters = len(np.unique(y))

# Ten epochs (the default, "auto", gives COIL-20 18: a few points more, twice the time)
# keep this example short on two CPU cores.
est = GATCluster(n_clusters=n_clusters, max_epochs=10, random_state=0)
labels = est.fit_predict(X)
print(
    f"{name}: ACC {cluster_accuracy(y, labels):.3f}  "
    f"NMI {normalized_mutual_info_score(y, labels):.3f}  ARI {adjusted_rand_score(y, labels):.3f}"
)

# %%
# Attention over the images of each cluster
# -------------------------------------------
# The map lives on the network's small feature map; it is stretched over
# the image, and the cross marks the Gaussian's centre.
attention = est.attention_maps(X)
rows, per_row = min(n_clusters, 8), 8
fig, axes = plt.subplots(rows, per_row, figsize=(per_row * 1.1, rows * 1.1))
height, width = X.shape[1:3]
for k, row in zip(np.unique(labels)[:rows], axes):
    members = np.flatnonzero(labels == k)[:per_row]
    for ax in row:
        ax.axis("off")
    for ax, i in zip(row, members):
        ax.imshow(X[i], cmap="gray")
        ax.imshow(
            attention["maps"][i],
            cmap="jet",
            alpha=0.35,
            extent=(0, width, height, 0),
            interpolation="bilinear",
        )
        cx, cy = attention["centers"][i] * [width, height]
        ax.plot(cx, cy, "w+", ms=6)
    row[0].set_title(f"cluster {k}", fontsize=7, loc="left")
plt.tight_layout()

# %%
# The losses per epoch
# --------------------
fig, ax = plt.subplots(figsize=(6, 3.5))
for term in ("similarity", "entropy", "attention_entropy", "relation", "attention"):
    ax.plot([r[term] for r in est.history_], label=term)
ax.set_xlabel("epoch")
ax.legend(fontsize=7)
ax.set_title("history_ (weighted loss terms)")
plt.tight_layout()
plt.show()
