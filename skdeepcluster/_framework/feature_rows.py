"""What the methods do on feature rows: nearest neighbours as positive views, and a warm start
of the cluster head from k-means (or, on request, from the rows' nearest-neighbour graph).

The papers cluster images: they augment them, and start their cluster heads
at random.  On feature rows (a pretrained network's, from
:class:`~skdeepcluster.PretrainedFeatures`) generic augmentations keep little
of what a row means, while a row's nearest neighbours mostly share its class:
SCAN and TEMI train clustering heads on frozen features with neighbours as
the positive pairs.  And a head started at random lands in a different
partition on every seed (CIFAR-10 features: 0.68 to 0.82 ACC over three
seeds of a SCAN-style head), while one first taught k-means's partition of
the rows, as DEC, IDEC and VaDE start their clusters, refines it (0.81 to
0.82).  :class:`FeatureRowsMixin` resolves the ``views``, ``n_neighbors`` and
``init`` parameters of the estimators that have them and provides both.
"""

import warnings
from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.manifold import spectral_embedding
from sklearn.utils._param_validation import Interval, StrOptions

from ..cluster_count import knn_graph
from ..nn.augment import AugmentedViews, NeighborViews
from ..nn.data import all_rows
from ..nn.loop import Step, adam, epochs_for_updates, generator_seed
from ..nn.neighbors import cosine_neighbors
from .rules import Rule

__all__ = ["FeatureRowsMixin"]

# n_neighbors="auto": the method's _auto_neighbors, but at most a third of the training rows per
# cluster (the fewer neighbours, the more of them share a row's class: 0.78 of 5 on CIFAR-10's
# features, 0.73 of 20).
_PER_CLUSTER_SHARE = 1 / 3
# init="kmeans": the head learns k-means's partition in about this many updates, within these
# epochs, before the method's own losses train it.
_INIT_UPDATES, _INIT_EPOCHS = 150, (5, 50)
_INIT_BATCH = 128
# init="graph": each row's neighbours in the graph, at most this many and at most half a
# cluster's rows (digits, 5 seeds: 0.887 at 5, 0.890 at 10, 0.868 at 15; ORL best at 5).
_GRAPH_NEIGHBORS = 10


def _other_rows(n_neighbors, facts):
    """``n_neighbors``, at most the other training rows."""
    return min(n_neighbors, facts.n_samples - 1)


class FeatureRowsMixin:
    """``views``, ``n_neighbors`` and ``init``: constraints, ``"auto"`` rules and their use."""

    _auto_neighbors = 5  # n_neighbors="auto" on large clusters (a method may take another)

    _views_constraints = {
        "views": [StrOptions({"auto", "augment", "neighbors", "augmented-neighbors"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    }
    _init_constraints = {"init": [StrOptions({"auto", "kmeans", "graph", "random"})]}
    # The "auto" rules (see rules.py): neighbours for rows, augmentations for images; the
    # method's number of neighbours, at most a share of a cluster's rows and one fewer than
    # all; k-means's start for rows, the papers' random start for images.
    _views_rules = {
        "views": Rule(lambda est, facts, _: "augment" if facts.image else "neighbors"),
        "n_neighbors": Rule(
            lambda est, facts, _: _other_rows(est._auto_neighbors_for(facts), facts),
            given=lambda est, value, facts: _other_rows(value, facts),
        ),
    }
    _init_rules = {"init": Rule(lambda est, facts, _: "random" if facts.image else "kmeans")}

    def _auto_neighbors_for(self, facts):
        """``n_neighbors="auto"``: ``_auto_neighbors``, fewer when the clusters are small."""
        share = round(_PER_CLUSTER_SHARE * facts.per_cluster)
        return int(max(1, min(self._auto_neighbors, share)))

    def _view_source(self, data, augment):
        """``views(idx, x, generator)``: the positive view of each row ``idx`` (values ``x``)."""
        views, n_neighbors = self.resolved_params_["views"], self.resolved_params_["n_neighbors"]
        if views == "neighbors":
            return NeighborViews(data, n_neighbors)
        if views == "augmented-neighbors":
            return NeighborViews(data, n_neighbors, augment=augment)
        return AugmentedViews(augment)

    def _anchor_labels(self, data, trainer):
        """The partition ``init`` starts the head from: k-means's or the kNN graph's."""
        if self.resolved_params_["init"] == "graph":
            return self._graph_labels(data, trainer)
        return self._kmeans_labels(data, trainer)

    def _graph_labels(self, data, trainer):
        """Spectral clustering of the rows' kNN graph (cosine, centred), on their device."""

        def compute():
            k = int(min(_GRAPH_NEIGHBORS, max(3, round(len(data) / self.n_clusters_ / 2))))
            graph = knn_graph(cosine_neighbors(data, k, centre=True).cpu().numpy())
            seed = generator_seed(trainer.generator)
            with warnings.catch_warnings():
                # a graph in pieces is the best case: clusters with no edge between them
                warnings.filterwarnings("ignore", "Graph is not fully connected", UserWarning)
                embedding = spectral_embedding(
                    graph,
                    n_components=self.n_clusters_,
                    random_state=seed,
                    drop_first=False,
                )
            embedding /= np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-12)
            labels = KMeans(self.n_clusters_, n_init=100, random_state=seed).fit_predict(embedding)
            return torch.as_tensor(labels, dtype=torch.long, device=trainer.device)

        return trainer.cached("graph_labels", compute)

    def _kmeans_labels(self, data, trainer):
        """k-means's partition of the training rows (10 starts), a tensor on their device."""

        def compute():
            rows = all_rows(data)
            with warnings.catch_warnings():  # duplicate rows may give fewer distinct clusters
                warnings.simplefilter("ignore", ConvergenceWarning)
                labels = KMeans(
                    self.n_clusters_, n_init=10, random_state=generator_seed(trainer.generator)
                ).fit_predict(rows.flatten(1).double().cpu().numpy())
            return torch.as_tensor(labels, dtype=torch.long, device=trainer.device)

        return trainer.cached("kmeans_labels", compute)

    def _warm_start(self, data, trainer, logits, parameters):
        """With ``init="kmeans"`` or ``"graph"``: train ``logits(idx)`` to that partition.

        ``parameters`` are the ones this phase (``"kmeans_init"`` or
        ``"graph_init"``) updates, with Adam at the estimator's
        ``learning_rate``; about 150 updates.
        """
        init = self.resolved_params_["init"]
        if init not in ("kmeans", "graph"):
            return
        labels = self._anchor_labels(data, trainer)
        batch = min(_INIT_BATCH, len(data))
        optimizer = adam(parameters, lr=self.learning_rate)
        phase = f"{init}_init"

        def loss(idx):
            return {phase: F.cross_entropy(logits(idx).float(), labels[idx])}

        trainer(
            {phase: Step(optimizer, loss)},
            phase=phase,
            batch_size=batch,
            max_epochs=epochs_for_updates(len(data), batch, _INIT_UPDATES, *_INIT_EPOCHS),
        )
