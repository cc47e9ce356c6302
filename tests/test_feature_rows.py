"""The estimators on feature rows: neighbours as views, the k-means warm start, the scaling."""

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from skdeepcluster import (
    DCCSClustering,
    DualAESpectralClustering,
    GATCluster,
    VariationalClustering,
)
from skdeepcluster.metrics import cluster_accuracy
from skdeepcluster.nn.augment import NeighborViews
from skdeepcluster.nn.neighbors import cosine_neighbors

from .conftest import quick, resolve

VIEWS = [DCCSClustering, GATCluster]


def _blobs(n=240, k=4, d=16, seed=0):
    X, y = make_blobs(n, d, centers=k, cluster_std=2.0, random_state=seed)
    return np.abs(X).astype(np.float32), y  # non-negative, as ReLU features are


@pytest.mark.parametrize("cls", VIEWS, ids=lambda c: c.__name__)
def test_rows_take_neighbours_and_kmeans_images_keep_the_papers_ways(cls):
    est = cls(n_clusters=10)
    rows = resolve(est, 4000, (1280,))
    assert (rows["views"], rows["init"]) == ("neighbors", "kmeans")
    assert rows["n_neighbors"] == {DCCSClustering: 5, GATCluster: 20}[cls]
    assert resolve(cls(n_clusters=40), 400, (1280,))["n_neighbors"] == 3  # a third of 10
    assert resolve(cls(n_clusters=4), 6, (1280,))["n_neighbors"] == 1
    images = resolve(est, 4000, (1, 28, 28))
    assert (images["views"], images["init"]) == ("augment", "random")
    chosen = resolve(cls(n_clusters=10, views="augment", init="random", n_neighbors=7), 50, (8,))
    assert (chosen["views"], chosen["init"], chosen["n_neighbors"]) == ("augment", "random", 7)


def test_variational_clustering_starts_its_mixture_from_kmeans_of_rows():
    assert resolve(VariationalClustering(), 4000, (1280,))["init"] == "kmeans"
    assert resolve(VariationalClustering(), 4000, (1, 28, 28))["init"] == "random"


def test_a_neighbour_view_is_one_of_the_rows_nearest_by_cosine():
    rows = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.8, 0.3], [0.0, 1.0], [0.1, 0.9], [0.2, 0.7]])
    neighbours = cosine_neighbors(rows, 2)
    assert [set(n) for n in neighbours.tolist()] == [{1, 2}, {0, 2}, {0, 1}, {4, 5}, {3, 5}, {3, 4}]
    views = NeighborViews(rows, 2)
    generator = torch.Generator().manual_seed(0)
    idx = torch.arange(6).repeat(20)
    drawn = views(idx, rows[idx], generator)
    for i, view in zip(idx.tolist(), drawn):
        assert any(torch.equal(view, rows[j]) for j in neighbours[i].tolist())
    assert len({tuple(v.tolist()) for v in drawn[idx == 0]}) == 2  # both neighbours drawn


def test_augmented_neighbour_views_augment_a_centred_neighbour():
    rows = torch.tensor([[1.0, 0.0], [0.9, 0.2], [0.8, 0.1], [-1.0, 0.0], [-0.9, -0.2]]) + 50
    views = NeighborViews(rows, 1, augment=lambda x, generator: -x)
    idx = torch.arange(5)
    drawn = views(idx, rows, torch.Generator().manual_seed(0))
    nearest = cosine_neighbors(rows, 1, centre=True)[:, 0]
    torch.testing.assert_close(drawn, -rows[nearest])
    assert set(nearest[:3].tolist()) <= {0, 1, 2} and set(nearest[3:].tolist()) <= {3, 4}


def test_rows_are_centred_and_divided_by_one_scale():
    X, _ = _blobs()
    X[:, 0] *= 1000  # one column in other units keeps its larger share
    est = quick(DualAESpectralClustering, random_state=0).fit(X)
    np.testing.assert_allclose(est.input_offset_, X.mean(axis=0, dtype=np.float64))
    assert np.ndim(est.input_scale_) == 0
    scaled = est._scale(X.astype(np.float64))
    assert scaled[:, 0].std() > 10 * scaled[:, 1].std()
    np.testing.assert_allclose((scaled**2).mean(axis=0).mean(), 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("cls", VIEWS, ids=lambda c: c.__name__)
def test_the_kmeans_warm_start_teaches_the_head_kmeans_partition(cls):
    X, y = _blobs()
    est = quick(cls, n_clusters=4, random_state=0, max_epochs=1)
    est.fit(X)
    phases = [record["phase"] for record in est.history_]
    assert phases[0] == "kmeans_init" and "kmeans_init" in est.history_[0]
    kmeans = KMeans(4, n_init=10, random_state=0).fit_predict(est._scale(X.astype(np.float64)))
    # after the warm start and one epoch of the method, its partition is still k-means's
    assert cluster_accuracy(kmeans, est.labels_) > 0.9
    random = quick(cls, n_clusters=4, random_state=0, max_epochs=1, init="random").fit(X)
    assert "kmeans_init" not in [record["phase"] for record in random.history_]


@pytest.mark.slow
def test_dual_ae_pairs_the_siamese_net_by_the_rows_own_neighbours(monkeypatch):
    X, y = _blobs()
    calls = []
    import skdeepcluster.dual_ae_spectral as module

    original = module.cosine_neighbors
    monkeypatch.setattr(module, "cosine_neighbors", lambda *a: calls.append(1) or original(*a))
    est = quick(DualAESpectralClustering, n_clusters=4, random_state=0).fit(X)
    assert est.resolved_params_["siamese_pairs"] == "input" and calls
    quick(DualAESpectralClustering, n_clusters=4, random_state=0, siamese_pairs="codes").fit(X)
    assert len(calls) == 1


@pytest.mark.slow
def test_the_graph_start_teaches_the_head_the_graph_partition():
    X, y = _blobs(k=4, seed=3)
    est = quick(GATCluster, n_clusters=4, random_state=0, max_epochs=1, init="graph").fit(X)
    assert [record["phase"] for record in est.history_][0] == "graph_init"
    assert "kmeans_init" not in [record["phase"] for record in est.history_]
    # the blobs' kNN graph holds their partition; the head keeps it after one epoch
    assert cluster_accuracy(y, est.labels_) > 0.95
