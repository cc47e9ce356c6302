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

from skdeepcluster import (
    DCCSClustering,
    DualAESpectralClustering,
    GATCluster,
    VariationalClustering,
)

# Few epochs per estimator: these tests exercise the API, not the accuracy.
FAST = {
    DCCSClustering: dict(max_epochs=3),
    DualAESpectralClustering: dict(pretrain_epochs=3, siamese_epochs=2, spectral_epochs=3,
                                   max_epochs=2, latent_dim=16),
    VariationalClustering: dict(max_epochs=3),
    GATCluster: dict(max_epochs=2, num_repeat=2),
}
ESTIMATORS = list(FAST)
ids = [cls.__name__ for cls in ESTIMATORS]


def fast(cls, **params):
    return cls(**FAST[cls], **params)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=ids)
def test_check_estimator_with_default_parameters(cls):
    check_estimator(cls())


@pytest.mark.parametrize("cls", ESTIMATORS, ids=ids)
def test_same_seed_same_fit_and_pickle(cls):
    X = load_digits().images[:150]
    a = fast(cls, random_state=3).fit(X)
    b = clone(a).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    loaded = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(loaded.predict(X), a.labels_)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=ids)
def test_pipeline_composition(cls):
    X = load_digits().data[:150]
    pipe = make_pipeline(FunctionTransformer(lambda v: v / 16.0),
                         fast(cls, image_shape=(1, 8, 8), random_state=0))
    assert pipe.fit_predict(X).shape == (150,)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=ids)
def test_bad_input(cls):
    with pytest.raises(ValueError, match="n_clusters=10 is larger"):
        cls().fit(np.random.rand(5, 4))
    with pytest.raises(ValueError, match="NaN"):
        cls().fit(np.full((10, 8, 8), np.nan))
    est = fast(cls, random_state=0).fit(load_digits().images[:100])
    with pytest.raises(ValueError, match="fitted on images"):
        est.predict(np.zeros((3, 28, 28)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cls", ESTIMATORS, ids=ids)
def test_cuda_fit_loads_on_cpu(cls):
    X = load_digits().images[:300]
    est = fast(cls, device="cuda", random_state=0)
    labels = est.fit_predict(X)
    loaded = pickle.loads(pickle.dumps(est))
    loaded.device_ = torch.device("cpu")
    assert np.mean(loaded.predict(X) == labels) > 0.95
