"""Many fits over a Dask cluster through joblib (needs the ``distributed`` extra)."""

import os

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold

from skdeepcluster import VariationalClustering, cluster_accuracy_scorer

distributed = pytest.importorskip(
    "distributed", reason='dask.distributed is not installed (pip install ".[distributed]")'
)


@pytest.mark.slow
def test_grid_search_on_a_local_dask_cluster():
    digits = load_digits()
    X, y = digits.images[:200], digits.target[:200]
    grid = GridSearchCV(
        VariationalClustering(n_clusters=10, max_epochs=2, random_state=0),
        {"latent_dim": [4, 8]},
        scoring=cluster_accuracy_scorer,
        cv=KFold(2, shuffle=True, random_state=0),
        n_jobs=-1,
    )
    environment = dict(os.environ)  # the cluster sets OMP_NUM_THREADS=1 (and more) in it
    try:
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
            joblib.parallel_backend("dask"),
        ):
            grid.fit(X, y)
            workers = client.run(lambda: "ok")
    finally:
        os.environ.clear()
        os.environ.update(environment)
    assert len(workers) == 2
    scores = grid.cv_results_["mean_test_score"]
    assert np.all((scores > 0.2) & (scores <= 1.0))  # chance is about 0.1
    assert grid.best_estimator_.labels_.shape == (200,)
    assert grid.best_estimator_.module_.training is False
    assert next(grid.best_estimator_.module_.parameters()).device.type == "cpu"
