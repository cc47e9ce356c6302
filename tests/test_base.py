import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import check_estimator

from ._toy import ToyClusterer


@pytest.mark.slow
def test_check_estimator_passes_on_the_base():
    check_estimator(ToyClusterer(max_epochs=3))


def _blobs():
    X, y = make_blobs(120, centers=3, n_features=4, random_state=0)
    return X, y


def test_fit_sets_the_fitted_attributes():
    X, _ = _blobs()
    est = ToyClusterer(random_state=0).fit(X)
    assert est.labels_.shape == (120,) and est.n_features_in_ == 4 and est.image_shape_ is None
    assert est.n_iter_ == len(est.history_) == 15
    assert {"entropy", "balance", "invariance", "time", "samples_per_s"} <= set(est.history_[0])
    assert est.device_ == torch.device("cpu")
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(proba.argmax(1), est.labels_)


def test_an_auto_number_of_clusters_is_estimated_before_training():
    from skdeepcluster import estimate_n_clusters
    from skdeepcluster._framework.restarts import restart_seeds

    X, _ = make_blobs(150, centers=5, n_features=6, cluster_std=0.5, random_state=1)
    est = ToyClusterer(n_clusters="auto", max_epochs=2, random_state=0).fit(X)
    assert est.n_clusters_ == est.resolved_params_["n_clusters"] == 5
    assert est.n_clusters_estimate_.n_clusters == 5
    assert est.get_params()["n_clusters"] == "auto" and clone(est).n_clusters == "auto"
    assert est.labels_.max() < 5 and est.predict_proba(X).shape == (150, 5)
    auto_labels = est.labels_
    seed = restart_seeds(0, 1)[0]  # the estimate reads the fit's rows with the fit's first seed
    np.testing.assert_allclose(
        est.n_clusters_estimate_.scores, estimate_n_clusters(X, random_state=seed).scores
    )
    fixed = clone(est).set_params(n_clusters=5)
    fixed.fit(X)
    assert fixed.n_clusters_ == 5 and not hasattr(fixed, "n_clusters_estimate_")
    est.set_params(n_clusters=4).fit(X)  # a refit with a number drops the former estimate
    assert est.n_clusters_ == 4 and not hasattr(est, "n_clusters_estimate_")
    np.testing.assert_array_equal(fixed.labels_, auto_labels)  # the same fit once resolved
    with pytest.raises(ValueError, match="at least 3 samples"):
        ToyClusterer(n_clusters="auto").fit(X[:2])
    with pytest.raises(ValueError, match="n_clusters"):
        ToyClusterer(n_clusters="many").fit(X)


def test_labels_are_consecutive_from_zero():
    X, _ = _blobs()
    est = ToyClusterer(n_clusters=6, max_epochs=1, random_state=0).fit(X)
    used = np.unique(est.labels_)
    np.testing.assert_array_equal(used, np.arange(len(used)))


def test_a_fit_with_empty_clusters_warns_how_many_were_used():
    """Identical samples fill one cluster: ConvergenceWarning as KMeans's; none when all used."""
    X = np.ones((40, 4))
    with pytest.warns(
        ConvergenceWarning, match="used 1 of n_clusters=3 clusters: 2 are empty"
    ) as record:
        est = ToyClusterer(max_epochs=1, random_state=0).fit(X)
    assert record[0].filename == __file__  # it names the line that called fit
    assert len(np.unique(est.labels_)) == 1
    X, _ = _blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = ToyClusterer(random_state=0).fit(X)
    assert len(np.unique(est.labels_)) == 3


def test_cpu_fits_repeat_bit_for_bit_and_leave_global_rng_alone():
    X, _ = _blobs()
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = ToyClusterer(random_state=7).fit(X)
    assert torch.equal(torch.rand(1), before), "fit changed the global torch RNG"
    b = clone(a).fit(X)
    for pa, pb in zip(a.module_.state_dict().values(), b.module_.state_dict().values()):
        assert torch.equal(pa, pb)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = clone(a).set_params(random_state=8).fit(X)
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_more_clusters_than_samples_is_refused():
    with pytest.raises(
        ValueError, match=r"n_clusters=5 is larger than the number of samples n_samples=4"
    ):
        ToyClusterer(n_clusters=5).fit(np.random.rand(4, 3))


@pytest.mark.parametrize(
    "param, value",
    [
        ("max_epochs", 0),
        ("batch_size", -1),
        ("learning_rate", 0.0),
        ("n_clusters", 0),
        ("device", 3),
    ],
)
def test_invalid_parameters_are_refused(param, value):
    with pytest.raises((ValueError, TypeError), match=param):
        ToyClusterer(**{param: value}).fit(np.random.rand(10, 3))


def test_pickle_round_trip():
    X, _ = _blobs()
    est = ToyClusterer(random_state=0).fit(X)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert all(t.device.type == "cpu" for t in est.module_.state_dict().values())


def test_model_marked_as_fitted_on_cuda_loads_and_predicts_on_cpu():
    # What a CUDA fit leaves behind: CPU weights and device_ == cuda.
    X, _ = _blobs()
    est = ToyClusterer(random_state=0).fit(X)
    expected = est.predict(X)
    est.device_ = torch.device("cuda")
    blob = pickle.dumps(est)
    if torch.cuda.is_available():
        pytest.skip("CUDA is available, so there is nothing to fall back from")
    with pytest.warns(UserWarning, match="predict on the CPU"):
        loaded = pickle.loads(blob)
    np.testing.assert_array_equal(loaded.predict(X), expected)


@pytest.mark.cuda
def test_cuda_fit_pickles_and_predicts_on_cpu():
    X, _ = _blobs()
    est = ToyClusterer(device="cuda", random_state=0).fit(X)
    assert est.device_.type == "cuda"
    loaded = pickle.loads(pickle.dumps(est))
    loaded.device_ = torch.device("cpu")  # what a CPU-only machine falls back to
    agree = np.mean(loaded.predict(X) == est.labels_)
    assert agree > 0.98


def test_verbose_shows_a_progress_bar_and_verbose_0_nothing(capsys):
    ToyClusterer(max_epochs=2, verbose=1).fit(np.random.rand(20, 3))
    shown = capsys.readouterr()
    assert shown.out == ""  # the bar is on standard error, the results' stream stays clean
    final = shown.err.split("\r")[-1]  # what the terminal shows last
    assert final.startswith("train: 100%") and "2/2" in final and "entropy=" in final
    ToyClusterer(max_epochs=2, verbose=3).fit(np.random.rand(20, 3))  # also a line for logs
    out = capsys.readouterr().out
    assert out.count("epoch") == 1 and "samples/s" in out and "ETA" in out
    ToyClusterer(max_epochs=2, verbose=0).fit(np.random.rand(20, 3))
    assert capsys.readouterr() == ("", "")
