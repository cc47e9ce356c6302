"""Shared test settings: quick estimator parameters, the cuda marker, the benchmark data."""

import signal
from pathlib import Path

import pytest
import torch
from sklearn.datasets import make_blobs

from skdeepcluster import (
    DCCSClustering,
    DualAESpectralClustering,
    GATCluster,
    VariationalClustering,
)
from skdeepcluster._framework.rules import DataFacts, check_rules, resolve_rules
from skdeepcluster.metrics import cluster_accuracy
from skdeepcluster.nn.backbones import MLPEncoder

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

# Few epochs per estimator: what the API tests fit (they test behaviour, not
# accuracy).  Each trains more than 3 epochs in all, which the SIGKILL test needs.
QUICK = {
    DCCSClustering: dict(max_epochs=6, batch_size=64),
    VariationalClustering: dict(max_epochs=6, batch_size=64),
    GATCluster: dict(max_epochs=6, batch_size=32, target_batch=100, num_repeat=1),
    DualAESpectralClustering: dict(
        pretrain_epochs=2,
        siamese_epochs=2,
        spectral_epochs=2,
        max_epochs=2,
        batch_size=64,
        spectral_batch_size=100,
    ),
}
ESTIMATORS = list(QUICK)
IDS = [cls.__name__ for cls in ESTIMATORS]


def torch_generator(seed=0):
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


def resolve(est, n_samples, shape, device="cpu"):
    """``est``'s resolved parameters for ``n_samples`` samples of ``shape`` ((C, H, W) or (D,)).

    The training data are stood in for by a zero tensor of that shape (no
    memory: one sample, expanded).
    """
    est.image_shape_ = tuple(shape) if len(shape) == 3 else None
    est.n_features_in_ = int(torch.tensor(shape).prod())
    est.n_clusters_ = est.n_clusters
    data = torch.zeros(1, *shape, device=device).expand(n_samples, *shape)
    facts = DataFacts.of(data, est.n_clusters)
    return resolve_rules(est, est._auto_rules, facts, check_rules(est, est._auto_rules))


def fit_blobs(cls):
    """``cls`` fitted on 400 rows of three 5-d blobs, checked to have found them: (X, est)."""
    X, y = make_blobs(400, centers=3, n_features=5, random_state=2)
    est = cls(n_clusters=3, random_state=0).fit(X)
    assert est.image_shape_ is None  # rows, not images: the MLP backbone
    modules = list(est.module_.modules())
    assert any(isinstance(m, MLPEncoder) for m in modules)
    # no convolution reads a neighbourhood (GATCluster's 1x1 ones act on its rows' 1x1 map)
    assert not any(isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1) for m in modules)
    assert cluster_accuracy(y, est.labels_) > 0.9
    return X, est


def quick(cls, **params):
    """``cls`` with the quick settings, ``params`` on top."""
    return cls(**{**QUICK[cls], **params})


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def shared_datasets():
    """The real benchmark files of ../shared/datasets (skipped where absent)."""
    if not (SHARED_DATASETS / "mnist.npz").is_file():
        pytest.skip(f"the shared benchmark data are not at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture
def python_sigint():
    """SIGINT with Python's default handler for the test, whatever the runner inherited.

    A job a non-interactive shell starts in the background inherits SIGINT
    ignored, and a fit then leaves SIGINT alone (as it should); the test needs
    what a user's terminal gives.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
