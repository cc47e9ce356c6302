"""Checks every estimator passes: scikit-learn's own, determinism, pickling, pipelines, errors."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator

from skdeepcluster import (
    DCCSClustering,
    GATCluster,
    VariationalClustering,
)
from skdeepcluster._framework import base

from .conftest import ESTIMATORS, IDS, QUICK, quick


@pytest.mark.slow
@pytest.mark.parametrize("cls", ESTIMATORS, ids=IDS)
def test_check_estimator_with_default_parameters(cls):
    check_estimator(cls())


@pytest.mark.parametrize("cls", ESTIMATORS, ids=IDS)
def test_same_seed_same_fit_and_pickle(cls):
    X = load_digits().images[:150]
    a = quick(cls, random_state=3).fit(X)
    b = clone(a).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    loaded = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(loaded.predict(X), a.labels_)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=IDS)
def test_pipeline_composition(cls):
    X = load_digits().data[:150]
    pipe = make_pipeline(
        FunctionTransformer(lambda v: v / 16.0), quick(cls, image_shape=(1, 8, 8), random_state=0)
    )
    assert pipe.fit_predict(X).shape == (150,)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=IDS)
def test_bad_input(cls):
    with pytest.raises(ValueError, match="n_clusters=10 is larger"):
        cls().fit(np.random.rand(5, 4))
    with pytest.raises(ValueError, match="NaN"):
        cls().fit(np.full((10, 8, 8), np.nan))
    est = quick(cls, random_state=0).fit(load_digits().images[:100])
    with pytest.raises(ValueError, match="fitted on images"):
        est.predict(np.zeros((3, 28, 28)))


@pytest.mark.cuda
@pytest.mark.parametrize("cls", ESTIMATORS, ids=IDS)
def test_cuda_fit_loads_on_cpu(cls):
    X = load_digits().images[:300]
    est = quick(cls, device="cuda", random_state=0)
    labels = est.fit_predict(X)
    loaded = pickle.loads(pickle.dumps(est))
    loaded.device_ = torch.device("cpu")
    assert np.mean(loaded.predict(X) == labels) > 0.95


@pytest.mark.parametrize("cls", ESTIMATORS, ids=IDS)
def test_every_auto_parameter_is_resolved_once_per_fit_into_resolved_params(cls, monkeypatch):
    """``resolved_params_`` holds the value of every parameter with a rule, none "auto".

    Each parameter that can be "auto" has a rule with an ``auto``; the others
    in the table have a check.  The hook runs once per fit; a warm start on
    more data keeps the first fit's values.
    """
    can_be_auto = {
        name
        for name, value in cls().get_params().items()
        if isinstance(value, str) and value == "auto" and name != "device"
    }
    calls = []
    resolve = base.resolve_rules
    monkeypatch.setattr(base, "resolve_rules", lambda *args: calls.append(1) or resolve(*args))
    X = load_digits().images
    est = cls(n_clusters=10, random_state=0)
    est.set_params(**{k: v for k, v in QUICK[cls].items() if k not in can_be_auto})
    est.set_params(max_epochs=1, warm_start=True).fit(X[:100])
    resolved = est.resolved_params_
    with_auto = {name for name, rule in cls._auto_rules.items() if rule.auto is not None}
    assert with_auto == can_be_auto and len(calls) == 1
    assert all(rule.check for name, rule in cls._auto_rules.items() if name not in can_be_auto)
    # the number of clusters, then every rule's value, in the table's order
    assert list(resolved) == ["n_clusters", *cls._auto_rules] and resolved["n_clusters"] == 10
    assert not any(isinstance(v, str) and v == "auto" for v in resolved.values())
    est.fit(X[:300])  # warm: trains on with the values its first fit resolved
    assert est.resolved_params_ == resolved and len(calls) == 1


# A bad value of each kind the constraints cannot see, with the words its error names.
BAD_VALUES = [
    (DCCSClustering, dict(crop_scale=(0.8, 0.5)), "crop_scale"),
    (GATCluster, dict(crop_scale=(0.5, 1.5)), "crop_scale"),
    (GATCluster, dict(backbone_widths=(16, -1)), "backbone_widths"),
    (VariationalClustering, dict(tau0=0.5, tau_min=1.0), "tau_min"),
    (VariationalClustering, dict(likelihood="bernoulli"), "bernoulli"),
]


@pytest.mark.parametrize(
    "cls, params, match", BAD_VALUES, ids=[f"{c.__name__}-{m}" for c, _, m in BAD_VALUES]
)
def test_a_bad_value_fails_before_the_data_move_or_anything_trains(cls, params, match, monkeypatch):
    def reached(self, *args):
        raise AssertionError(f"{cls.__name__} reached {args[0]!r} with a bad value")

    monkeypatch.setattr(base, "resolve_rules", lambda est, *args: reached(est, "resolve"))
    monkeypatch.setattr(cls, "_build_module", lambda self, data: reached(self, "build"))
    X = load_digits().data[:50] if params.get("likelihood") else load_digits().images[:50]
    with pytest.raises(ValueError, match=match):
        cls(max_epochs=1, **params).fit(X)
