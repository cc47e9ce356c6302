"""_framework/inference.py: batched float64 inference, the clusters of outputs, their numbers."""

import numpy as np

from skdeepcluster._framework import inference
from skdeepcluster._framework.inference import cluster_labels, numbered_labels

from ._harness import digits, make
from ._toy import ToyClusterer


def test_cluster_labels_are_the_labels_or_the_most_probable_cluster():
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    np.testing.assert_array_equal(cluster_labels({"proba": proba}), [1, 0])
    labels = cluster_labels({"labels": np.array([3.0, 1.0]), "proba": proba})
    assert labels.dtype == np.intp and labels.tolist() == [3, 1]


def test_numbered_labels_number_the_used_clusters_first():
    labels, label_map = numbered_labels(np.array([4, 4, 1, 3, 1]), 5)
    assert labels.tolist() == [2, 2, 0, 1, 0]  # used clusters 1, 3, 4 become 0, 1, 2
    assert sorted(label_map.tolist()) == [0, 1, 2, 3, 4]  # unused ones after: a permutation
    np.testing.assert_array_equal(label_map[[1, 3, 4]], [0, 1, 2])


def test_inference_of_a_row_does_not_depend_on_its_batch(monkeypatch):
    X = digits(100)
    est = make(ToyClusterer, max_epochs=1).fit(X)
    whole = est._infer(est._validate_X(X, reset=False))
    monkeypatch.setattr(inference, "_INFERENCE_BATCH", 7)  # other batch boundaries
    again = est._infer(est._validate_X(X, reset=False))
    for key in whole:  # float64: the same up to its rounding (float32 differs near 1e-7)
        np.testing.assert_allclose(whole[key], again[key], rtol=1e-12, atol=1e-15)
    assert whole["proba"].dtype == np.float64
