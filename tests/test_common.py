"""Checks every estimator must pass: scikit-learn's own, determinism, pickling, pipelines, errors."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator

from .conftest import ESTIMATORS, IDS, quick


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
    pipe = make_pipeline(FunctionTransformer(lambda v: v / 16.0),
                         quick(cls, image_shape=(1, 8, 8), random_state=0))
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
