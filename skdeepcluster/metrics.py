"""Clustering metrics and scorers usable with scikit-learn's model selection.

Clustering labels are arbitrary integers, so accuracy is measured after the
best one-to-one matching between clusters and classes (the Hungarian
algorithm).  Normalised mutual information and the adjusted Rand index are
re-exported from :mod:`sklearn.metrics` so that one import gives all three
figures deep clustering papers report.

The scorers call ``estimator.predict`` on the held-out rows of each split,
so they measure how well a fitted clusterer generalises to new data; pass the
labels to ``GridSearchCV.fit(X, y)`` for them to be used.  Without labels,
:func:`label_free_scorer` (``get_scorer("label_free")``) scores a fit by
its estimator's own criterion, ``estimator.score(X)``, and
:func:`neighbour_agreement_score` compares partitions of the same data in one
shared space.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, make_scorer, normalized_mutual_info_score
from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics.cluster import contingency_matrix
from sklearn.neighbors import NearestNeighbors

__all__ = [
    "cluster_accuracy",
    "normalized_mutual_info_score",
    "adjusted_rand_score",
    "cluster_accuracy_scorer",
    "nmi_scorer",
    "ari_scorer",
    "neighbour_agreement_score",
    "label_free_scorer",
    "get_scorer",
]


def _check_label_vector(y, name):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels, got an array of shape {y.shape}.")
    if y.shape[0] == 0:
        raise ValueError(f"{name} is empty: at least one label is needed.")
    return y


def cluster_accuracy(y_true, y_pred):
    """Accuracy of a clustering after the best matching of clusters to classes.

    The contingency table of classes against clusters is solved as a linear
    assignment problem (Hungarian algorithm, via
    :func:`scipy.optimize.linear_sum_assignment`), so each cluster is matched to
    at most one class and each class to at most one cluster.  When the number
    of clusters differs from the number of classes, the samples of unmatched
    clusters (or classes) count as errors.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground-truth class labels.
    y_pred : array-like of shape (n_samples,)
        Cluster labels to evaluate.

    Returns
    -------
    accuracy : float
        Fraction of samples whose cluster is matched to their class, in [0, 1].

    Examples
    --------
    >>> from skdeepcluster.metrics import cluster_accuracy
    >>> cluster_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> cluster_accuracy([0, 0, 1, 1], [0, 0, 0, 0])
    0.5
    """
    y_true = _check_label_vector(y_true, "y_true")
    y_pred = _check_label_vector(y_pred, "y_pred")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"y_true and y_pred have different lengths: {y_true.shape[0]} != {y_pred.shape[0]}."
        )
    table = contingency_matrix(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / y_true.shape[0])


def neighbour_agreement_score(X, labels, *, n_neighbors=10, n_components=50):
    """How often a sample's nearest neighbours share its cluster, beyond chance.

    A label-free criterion that compares partitions of the same data in one
    space, whatever embedding each was found in: ``X`` is projected on its
    first ``n_components`` principal components, each row's ``n_neighbors``
    nearest other rows are found there, and the share of them in the row's
    cluster is corrected for chance by the cluster sizes (Cohen's kappa:
    ``(agree - chance) / (1 - chance)`` with ``chance`` the sum of the
    squared cluster proportions).  1 when every neighbourhood lies inside one
    cluster, about 0 for labels unrelated to ``X``.  A partition that splits
    what lies close together in ``X`` scores lower, one that only balances
    its clusters gains nothing.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data, in the space the partitions are compared in (scaled pixels
        for the estimators of this package).
    labels : array-like of shape (n_samples,)
        Cluster labels of ``X``.
    n_neighbors : int, default=10
        Neighbours per row (fewer when ``X`` has fewer other rows).
    n_components : int, default=50
        Principal components kept before the neighbour search (fewer when
        ``X`` has fewer rows or features).

    Returns
    -------
    score : float
        At most 1, higher is better; 0.0 when it is undefined (one row, or
        a single cluster).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeepcluster.metrics import neighbour_agreement_score
    >>> X = np.r_[np.zeros((5, 2)), np.ones((5, 2))] + np.arange(10)[:, None] * 1e-3
    >>> neighbour_agreement_score(X, [0] * 5 + [1] * 5, n_neighbors=3)
    1.0
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    labels = np.unique(_check_label_vector(labels, "labels"), return_inverse=True)[1].ravel()
    if labels.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but labels has {labels.shape[0]}.")
    n = X.shape[0]
    chance = float(((np.bincount(labels) / n) ** 2).sum())
    k = min(n_neighbors, n - 1)
    if k < 1 or chance >= 1.0:
        return 0.0
    dims = min(n_components, n, X.shape[1])
    if dims < X.shape[1]:
        X = PCA(n_components=dims, svd_solver="full").fit_transform(X)
    neighbours = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=False)
    agree = float((labels[neighbours] == labels[:, None]).mean())
    return (agree - chance) / (1.0 - chance)


def label_free_scorer(estimator, X, y=None):
    """Score a fitted clusterer by its own label-free criterion, ``estimator.score(X)``.

    The scorer ``GridSearchCV`` falls back to when given no ``scoring``, by
    name: pass it (or ``get_scorer("label_free")``) where scorers are named,
    e.g. beside the label-based ones in a multi-metric search.  ``y`` is
    ignored.

    Parameters
    ----------
    estimator : fitted estimator with a ``score(X)`` method
    X : array-like
        Data to score the fit on (the held-out rows of a split).
    y : None
        Ignored.

    Returns
    -------
    score : float
        Higher is better.
    """
    return float(estimator.score(X))


cluster_accuracy_scorer = make_scorer(cluster_accuracy)
nmi_scorer = make_scorer(normalized_mutual_info_score)
ari_scorer = make_scorer(adjusted_rand_score)

_SCORERS = {
    "cluster_accuracy": cluster_accuracy_scorer,
    "nmi": nmi_scorer,
    "ari": ari_scorer,
    "label_free": label_free_scorer,
}


def get_scorer(scoring):
    """Return a scorer by name, knowing ours and all of scikit-learn's.

    Parameters
    ----------
    scoring : str or callable
        ``"cluster_accuracy"``, ``"nmi"``, ``"ari"`` or ``"label_free"`` for
        the scorers of this module; any other name is looked up with
        :func:`sklearn.metrics.get_scorer`, and a callable is returned as is.

    Returns
    -------
    scorer : callable
        A scorer with signature ``scorer(estimator, X, y)``.

    Examples
    --------
    >>> from skdeepcluster.metrics import get_scorer
    >>> get_scorer("cluster_accuracy")
    make_scorer(cluster_accuracy, response_method='predict')
    """
    if isinstance(scoring, str) and scoring in _SCORERS:
        return _SCORERS[scoring]
    return _sklearn_get_scorer(scoring)
