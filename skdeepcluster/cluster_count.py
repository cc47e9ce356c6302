"""How many clusters the data hold: an estimate from their nearest-neighbour graph.

:func:`estimate_n_clusters` judges each candidate number ``K`` by the
modularity (Newman 2006) of the spectral partition of the rows'
nearest-neighbour graph into ``K`` clusters.  The graph is drawn at the scale
the candidate implies: each row linked to its nearest rows, as many as a third
of a cluster of ``n / K`` rows (at least 3, at most 15).  A fixed graph cannot
serve every candidate: neighbourhoods larger than a cluster join small
clusters (ORL's 40 faces of 10 images each), and small ones split large
clusters into their styles (a digit's ways of being written).  Measured on the
nine sets of the benchmark suite, whose true counts are known, against fixed
graphs, eigengaps, silhouettes, stability under subsampling and gap
statistics: see ``doc/user_guide.rst``.

References
----------
M. E. J. Newman, "Modularity and community structure in networks", PNAS 103(23), 2006.
U. von Luxburg, "A tutorial on spectral clustering", Statistics and Computing 17, 2007.
"""

import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy import sparse
from scipy.linalg import eigh
from scipy.sparse.linalg import eigsh
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_array, check_random_state

__all__ = ["NClustersEstimate", "estimate_n_clusters"]

# Candidates: every number up to this one, then about 16 steps of equal ratio up to the bound.
_EVERY_UP_TO, _RATIO_STEPS = 20, 16
# max_clusters="auto": at least this many rows per candidate cluster on average, at most this many.
_ROWS_PER_CLUSTER, _MOST_CLUSTERS = 5, 100
# The graph for a candidate K: each row's nearest rows, a third of a cluster of n / K rows,
# within these bounds (suite: a half over-counts ORL 66 of 40, a quarter misses COIL-20 81 of 20).
_NEIGHBOR_SHARE, _NEIGHBOR_RANGE = 1 / 3, (3, 15)
# Rows the estimate reads at most (drawn at random from more); dense eigensolver up to this many.
_MAX_SAMPLES, _DENSE_ROWS = 3000, 1000
# k-means starts of each candidate's spectral partition.
_KMEANS_STARTS = 3
# The chosen number: the smallest whose score is within this share of the best one's distance
# from 1 (modularity's most).  Closer scores are within what k-means's seeds move them
# (MNIST-test 2,000, seeds 0-2: the best at 13 every time, 12 within 0.4% of it).
_TIE = 0.015


@dataclass(frozen=True)
class NClustersEstimate:
    """What :func:`estimate_n_clusters` found.

    Attributes
    ----------
    n_clusters : int
        The number of clusters chosen: the smallest candidate whose score is
        within 1.5% of the highest one's distance from 1 (closer scores are
        within what the seed of k-means moves them).
    runner_up : int or None
        The best candidate that is not next to the chosen one in the list of
        candidates (None when there is none): the other answer the data give.
    candidates : ndarray of shape (n_candidates,)
        The numbers of clusters tried, increasing.
    scores : ndarray of shape (n_candidates,)
        Each candidate's modularity (higher is better, at most 1).
    n_neighbors : ndarray of shape (n_candidates,)
        The neighbours per row of the graph each candidate was judged on.
    n_samples : int
        Rows the estimate read (a random subset of larger data).
    """

    n_clusters: int
    runner_up: int | None
    candidates: np.ndarray
    scores: np.ndarray
    n_neighbors: np.ndarray
    n_samples: int
    criterion: str = "modularity"


def estimate_n_clusters(X, *, max_clusters="auto", max_samples=_MAX_SAMPLES, random_state=None):
    """Estimate the number of clusters in ``X`` (images or feature rows).

    Each candidate number ``K`` from 2 to ``max_clusters`` is judged by the
    modularity of a spectral clustering of the rows' nearest-neighbour graph
    (cosine, centred rows) into ``K`` clusters, on a graph of as many
    neighbours per row as a third of a cluster of ``n / K`` rows (3 to 15).
    Modularity is the share of the graph's edges inside the clusters, less
    the share expected of a random graph with the same degrees: it rewards
    clusters the graph holds together, and falls when ``K`` splits one or
    joins two.  On the nine benchmark sets (10 to 40 true clusters, 10 to
    1,000 images each) it lands within 20% of the true number on 8 or 9 of
    the nine on each of seeds 0-4; clusters of very unequal sizes are harder
    (the user guide, "How many clusters?").

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, ...)
        The rows the clustering will read: images (any shape after the first
        axis is flattened) or feature rows.  At least 3.
    max_clusters : int or "auto", default="auto"
        The largest candidate, at least 2 (and below ``n_samples``).
        ``"auto"``: ``n_samples // 5`` (clusters of 5 rows on average), at
        most 100 and at least 2.
    max_samples : int, default=3000
        Rows read at most: a random subset of more (the numbers of rows per
        cluster the graphs are drawn for scale with it).
    random_state : int, RandomState instance or None, default=None
        Seeds the subset and the k-means of each partition.

    Returns
    -------
    estimate : NClustersEstimate
        The chosen number (``estimate.n_clusters``), the runner-up, and the
        score of every candidate.

    Raises
    ------
    ValueError
        Fewer than 3 rows, non-finite values, or ``max_clusters`` below 2.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdeepcluster import estimate_n_clusters
    >>> X, _ = make_blobs(300, 10, centers=6, random_state=0)
    >>> estimate_n_clusters(X, random_state=0).n_clusters
    6

    References
    ----------
    M. E. J. Newman, "Modularity and community structure in networks",
    PNAS 103(23), 2006.
    """
    rows = _check_rows(X)
    bound = check_countable(len(rows), max_clusters)
    rng = check_random_state(random_state)
    if isinstance(max_samples, bool) or not isinstance(max_samples, Integral) or max_samples < 3:
        raise ValueError(f"max_samples must be an int of at least 3; got {max_samples!r}.")
    if len(rows) > max_samples:
        rows = rows[np.sort(rng.choice(len(rows), max_samples, replace=False))]
    rows = _unit_rows(rows)
    n = len(rows)
    candidates = _candidates(min(bound, n - 1))
    n_neighbors = np.clip(np.round(n / candidates * _NEIGHBOR_SHARE), *_NEIGHBOR_RANGE)
    n_neighbors = np.minimum(n_neighbors, n - 1).astype(int)
    neighbors = _nearest(rows, int(n_neighbors.max()))
    seed = int(rng.randint(np.iinfo(np.int32).max))
    scores = np.empty(len(candidates))
    for k in np.unique(n_neighbors):
        graph = knn_graph(neighbors[:, :k])
        use = np.flatnonzero(n_neighbors == k)
        vectors = _leading_eigenvectors(graph, int(candidates[use].max()))
        for i in use:
            labels = _spectral_labels(vectors, int(candidates[i]), seed)
            scores[i] = modularity(graph, labels)
    top = scores.max()
    best = int(np.flatnonzero(scores >= top - _TIE * (1 - top))[0])
    return NClustersEstimate(
        n_clusters=int(candidates[best]),
        runner_up=_runner_up(candidates, scores, best),
        candidates=candidates,
        scores=scores,
        n_neighbors=n_neighbors,
        n_samples=n,
    )


def check_countable(n_samples, max_clusters):
    """The largest candidate for ``n_samples`` rows; a ValueError if clusters cannot be counted."""
    if n_samples < 3:
        raise ValueError(
            f"Estimating the number of clusters needs at least 3 samples; got {n_samples}."
        )
    if isinstance(max_clusters, str) and max_clusters == "auto":
        return int(max(2, min(n_samples // _ROWS_PER_CLUSTER, _MOST_CLUSTERS)))
    if isinstance(max_clusters, bool) or not isinstance(max_clusters, Integral):
        raise TypeError(f"max_clusters must be an int or 'auto'; got {max_clusters!r}.")
    if max_clusters < 2:
        raise ValueError(
            f"max_clusters must be at least 2 (below 2 there is nothing to choose); "
            f"got {max_clusters}."
        )
    return int(min(max_clusters, n_samples - 1))


def modularity(graph, labels):
    """Newman's modularity of the partition ``labels`` of the symmetric sparse ``graph``."""
    labels = np.asarray(labels)
    degrees = np.asarray(graph.sum(axis=1)).ravel()
    total = degrees.sum()
    member = sparse.csr_matrix(
        (np.ones(len(labels)), (np.arange(len(labels)), labels)),
        shape=(len(labels), labels.max() + 1),
    )
    inside = (member.T @ graph @ member).diagonal().sum() / total
    expected = ((member.T @ degrees / total) ** 2).sum()
    return float(inside - expected)


def _check_rows(X):
    try:
        X = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"X must be an array of samples; {exc}") from exc
    if X.ndim < 2:
        raise ValueError(
            f"X must have one row per sample (2 or more dimensions); got shape {X.shape}."
        )
    rows = check_array(X.reshape(len(X), -1), dtype=np.float64, ensure_min_samples=1)
    return rows


def _unit_rows(rows):
    """Rows centred and scaled to unit length: Euclidean neighbours are cosine neighbours."""
    rows = rows - rows.mean(axis=0)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _candidates(bound):
    every = np.arange(2, min(bound, _EVERY_UP_TO) + 1)
    if bound <= _EVERY_UP_TO:
        return every
    steps = np.round(np.geomspace(_EVERY_UP_TO, bound, _RATIO_STEPS)).astype(int)
    return np.unique(np.concatenate([every, steps]))


def _nearest(rows, k):
    search = NearestNeighbors(n_neighbors=k + 1).fit(rows)
    neighbors = search.kneighbors(rows, return_distance=False)
    # each row's own index first, unless a duplicate row took its place
    own = neighbors == np.arange(len(rows))[:, None]
    keep = ~own
    keep[~own.any(axis=1), -1] = False
    return neighbors[keep].reshape(len(rows), k)


def knn_graph(neighbors):
    """The symmetric graph (weights 1) of each row's neighbours ``neighbors`` (n, k), CSR."""
    n, k = neighbors.shape
    edges = (np.repeat(np.arange(n), k), neighbors.ravel())
    graph = sparse.csr_matrix((np.ones(n * k), edges), shape=(n, n))
    return graph.maximum(graph.T)


def _leading_eigenvectors(graph, k):
    """The ``k`` leading eigenvectors of the normalised adjacency (the Laplacian's first)."""
    n = graph.shape[0]
    scale = sparse.diags(1 / np.sqrt(np.asarray(graph.sum(axis=1)).ravel()))
    adjacency = scale @ graph @ scale
    if n <= _DENSE_ROWS or k >= n - 1:
        values, vectors = eigh(adjacency.toarray(), subset_by_index=(n - k, n - 1))
    else:
        values, vectors = eigsh(adjacency, k=k, which="LA", v0=np.full(n, 1 / np.sqrt(n)))
    return vectors[:, np.argsort(-values, kind="stable")]


def _spectral_labels(vectors, k, seed):
    embedding = vectors[:, :k]
    embedding = embedding / np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # duplicate rows: fewer distinct points
        return KMeans(k, n_init=_KMEANS_STARTS, random_state=seed).fit_predict(embedding)


def _runner_up(candidates, scores, best):
    others = [i for i in range(len(candidates)) if abs(i - best) > 1]
    if not others:
        return None
    return int(candidates[max(others, key=lambda i: scores[i])])
