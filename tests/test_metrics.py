import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV

from skdeepcluster.metrics import (
    ari_scorer,
    cluster_accuracy,
    cluster_accuracy_scorer,
    get_scorer,
    neighbour_agreement_score,
    nmi_scorer,
)


def test_accuracy_is_invariant_to_relabelling():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(y, [2, 2, 0, 0, 1, 1]) == 1.0
    assert cluster_accuracy(y, [2, 2, 0, 1, 1, 1]) == pytest.approx(5 / 6)


def test_accuracy_with_more_clusters_than_classes_counts_unmatched_as_errors():
    y = np.array([0, 0, 0, 1, 1, 1])
    # Four clusters, two classes: only two clusters can be matched.
    assert cluster_accuracy(y, [0, 0, 2, 1, 1, 3]) == pytest.approx(4 / 6)


def test_accuracy_with_fewer_clusters_than_classes():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(y, [5, 5, 5, 5, 7, 7]) == pytest.approx(4 / 6)


def test_accuracy_agrees_with_brute_force():
    from itertools import permutations

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 60)
    p = rng.integers(0, 4, 60)
    best = max(np.mean(np.array(perm)[p] == y) for perm in permutations(range(4)))
    assert cluster_accuracy(y, p) == pytest.approx(best)


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        ([0, 1], [0, 1, 1], "different lengths"),
        ([], [], "empty"),
        ([[0, 1]], [[0, 1]], "1-D"),
    ],
)
def test_accuracy_rejects_bad_input(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        cluster_accuracy(y_true, y_pred)


def test_get_scorer_knows_ours_and_sklearns():
    assert get_scorer("cluster_accuracy") is cluster_accuracy_scorer
    assert get_scorer("nmi") is nmi_scorer
    assert get_scorer("ari") is ari_scorer
    assert get_scorer("adjusted_rand_score")._score_func.__name__ == "adjusted_rand_score"
    custom = make_scorer(cluster_accuracy)
    assert get_scorer(custom) is custom
    with pytest.raises(ValueError):
        get_scorer("no_such_scorer")


def test_scorers_pick_the_right_number_of_clusters_in_grid_search():
    X, y = make_blobs(n_samples=400, centers=4, cluster_std=0.8, random_state=0)
    search = GridSearchCV(
        KMeans(n_init=3, random_state=0),
        {"n_clusters": [2, 3, 4, 6, 8]},
        scoring={"acc": cluster_accuracy_scorer, "nmi": "normalized_mutual_info_score"},
        refit="acc",
        cv=3,
    ).fit(X, y)
    assert search.best_params_ == {"n_clusters": 4}
    assert search.cv_results_["mean_test_acc"].max() > 0.95
    assert get_scorer("ari")(search.best_estimator_, X, y) > 0.9


def test_neighbour_agreement_score():
    rng = np.random.RandomState(0)
    blobs = np.r_[rng.normal(0, 0.1, (50, 5)), rng.normal(5, 0.1, (50, 5))]
    truth = np.repeat([0, 1], 50)
    assert neighbour_agreement_score(blobs, truth) == 1.0
    assert neighbour_agreement_score(blobs, truth + 7) == 1.0  # any label values
    assert abs(neighbour_agreement_score(blobs, rng.permutation(truth))) < 0.1
    assert neighbour_agreement_score(blobs, np.zeros(100, int)) == 0.0  # one cluster
    assert neighbour_agreement_score(blobs[:1], [0]) == 0.0  # one row
    assert neighbour_agreement_score(blobs[:3], [0, 0, 1]) < 1  # fewer rows than neighbours
    with pytest.raises(ValueError, match="rows"):
        neighbour_agreement_score(blobs, truth[:10])
    with pytest.raises(ValueError, match="1-D"):
        neighbour_agreement_score(blobs, truth[:, None])
