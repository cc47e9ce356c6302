"""Clustering metrics and scorers usable with scikit-learn's model selection.

Clustering labels are arbitrary integers, so accuracy is measured after the
best one-to-one matching between clusters and classes (the Hungarian
algorithm).  Normalised mutual information and the adjusted Rand index are
re-exported from :mod:`sklearn.metrics` so that one import gives all three
figures deep clustering papers report.

The scorers call ``estimator.predict`` on the held-out rows of each split,
so they measure how well a fitted clusterer generalises to new data; pass the
labels to ``GridSearchCV.fit(X, y)`` for them to be used.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, make_scorer
from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

__all__ = [
    "cluster_accuracy",
    "normalized_mutual_info_score",
    "adjusted_rand_score",
    "cluster_accuracy_scorer",
    "nmi_scorer",
    "ari_scorer",
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


cluster_accuracy_scorer = make_scorer(cluster_accuracy)
nmi_scorer = make_scorer(normalized_mutual_info_score)
ari_scorer = make_scorer(adjusted_rand_score)

_SCORERS = {
    "cluster_accuracy": cluster_accuracy_scorer,
    "nmi": nmi_scorer,
    "ari": ari_scorer,
}


def get_scorer(scoring):
    """Return a scorer by name, knowing ours and all of scikit-learn's.

    Parameters
    ----------
    scoring : str or callable
        ``"cluster_accuracy"``, ``"nmi"`` or ``"ari"`` for the scorers of this
        module; any other name is looked up with
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
