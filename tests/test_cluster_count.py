"""cluster_count.py: the estimate of the number of clusters and its criterion."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import load_digits, make_blobs

from skdeepcluster import NClustersEstimate, estimate_n_clusters
from skdeepcluster.cluster_count import check_countable, modularity


def _triangles():
    """Two triangles joined by nothing: the graph of two clusters of three."""
    edges = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)]
    rows, cols = zip(*edges)
    graph = sparse.csr_matrix((np.ones(6), (rows, cols)), shape=(6, 6))
    return graph.maximum(graph.T)


def test_modularity_at_known_partitions():
    graph = _triangles()
    assert modularity(graph, [0, 0, 0, 1, 1, 1]) == pytest.approx(0.5)
    assert modularity(graph, [0] * 6) == pytest.approx(0.0)
    assert modularity(graph, [0, 1, 0, 1, 0, 1]) < 0  # splits every triangle


@pytest.mark.parametrize("centers, n", [(6, 300), (18, 216)])
def test_the_estimate_finds_separated_clusters_large_and_small(centers, n):
    X, _ = make_blobs(n, 20, centers=centers, cluster_std=1.0, random_state=0)
    estimate = estimate_n_clusters(X, random_state=0)
    assert isinstance(estimate, NClustersEstimate)
    assert estimate.n_clusters == centers
    assert estimate.runner_up is not None and abs(estimate.runner_up - centers) >= 1
    top = estimate.scores.max()
    assert estimate.scores[list(estimate.candidates).index(centers)] >= top - 0.015 * (1 - top)
    # graphs of a third of the candidate's cluster size, from 3 to 15 neighbours
    assert estimate.n_neighbors.max() <= 15 and estimate.n_neighbors.min() >= 3


def test_candidates_run_to_the_bound_and_the_bound_grows_with_n():
    X, _ = make_blobs(200, 5, centers=4, random_state=0)
    estimate = estimate_n_clusters(X, random_state=0)
    assert estimate.candidates[0] == 2 and estimate.candidates[-1] == 200 // 5
    assert len(estimate.scores) == len(estimate.candidates) == len(estimate.n_neighbors)
    assert check_countable(400, "auto") == 80 and check_countable(100_000, "auto") == 100
    assert check_countable(7, "auto") == 2
    small = estimate_n_clusters(X, max_clusters=6, random_state=0)
    assert small.candidates.tolist() == [2, 3, 4, 5, 6] and small.n_clusters == 4


def test_images_and_their_rows_give_one_estimate_and_seeds_repeat():
    images = load_digits().images[:300]
    a = estimate_n_clusters(images, random_state=0)
    b = estimate_n_clusters(images.reshape(300, -1), random_state=0)
    assert a.n_clusters == b.n_clusters
    np.testing.assert_array_equal(a.scores, b.scores)
    sub = estimate_n_clusters(images, max_samples=150, random_state=1)
    assert sub.n_samples == 150
    np.testing.assert_array_equal(
        sub.scores, estimate_n_clusters(images, max_samples=150, random_state=1).scores
    )


def test_duplicate_and_constant_rows_are_counted_without_error():
    X, _ = make_blobs(60, 4, centers=3, random_state=0)
    X = np.vstack([X, X[:10], np.zeros((5, 4))])
    estimate = estimate_n_clusters(X, random_state=0)
    assert estimate.n_clusters in estimate.candidates and np.isfinite(estimate.scores).all()


@pytest.mark.parametrize(
    "X, kwargs, error, words",
    [
        (np.zeros((2, 4)), {}, ValueError, "at least 3 samples"),
        (np.zeros((10, 4)), {"max_clusters": 1}, ValueError, "max_clusters must be at least 2"),
        (np.zeros((10, 4)), {"max_clusters": "many"}, TypeError, "max_clusters"),
        (np.zeros((10, 4)), {"max_samples": 2}, ValueError, "max_samples"),
        (np.array([np.nan] * 40).reshape(10, 4), {}, ValueError, "NaN"),
        (np.zeros(10), {}, ValueError, "one row per sample"),
    ],
)
def test_bad_input_gets_a_clear_error(X, kwargs, error, words):
    with pytest.raises(error, match=words):
        estimate_n_clusters(X, **kwargs)
