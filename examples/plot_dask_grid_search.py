"""
A grid search over a Dask cluster
=================================

Every estimator is a plain scikit-learn estimator, so a search fans its fits
out through joblib; inside ``joblib.parallel_backend("dask")`` they run on
the workers of a ``dask.distributed`` cluster (install the extra with
``pip install ".[distributed]"``).  Each worker fits on its own device
(``device="auto"`` takes the GPU a worker was given, the CPU otherwise), and
fitted estimators travel back small: weights on the CPU, no optimiser state.

Here a :class:`~skdeepcluster.VariationalClustering` grid (two latent sizes
by two learning rates, 2-fold) runs on a local cluster of two single-threaded
worker processes, then in this process with ``n_jobs=1``.  The fits are
seeded, but a worker runs torch on one thread and this process on all
cores, and float sums in another order can move a score in its last digits.
On a real cluster, replace ``LocalCluster`` by the address of its
scheduler: ``Client("tcp://scheduler:8786")``.  Both searches together take
about 75 s on two CPU cores (measured in the documentation's build, 2026-12-06).
"""

import time

import joblib
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold

from skdeepcluster import VariationalClustering, cluster_accuracy_scorer


def search(n_jobs):
    digits = load_digits()
    grid = GridSearchCV(
        VariationalClustering(n_clusters=10, max_epochs=30, random_state=0),
        {"latent_dim": [5, 10], "learning_rate": [1e-3, 3e-3]},
        scoring=cluster_accuracy_scorer,
        cv=KFold(2, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )
    start = time.perf_counter()
    grid.fit(digits.images, digits.target)
    return grid, time.perf_counter() - start


def main():
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        on_dask, dask_s = search(n_jobs=-1)
    serial, serial_s = search(n_jobs=1)
    for params, score, alone in zip(
        on_dask.cv_results_["params"],
        on_dask.cv_results_["mean_test_score"],
        serial.cv_results_["mean_test_score"],
    ):
        print(f"{params}: held-out ACC {score:.3f} on Dask, {alone:.3f} with n_jobs=1")
    print(f"8 fits + refit: {dask_s:.1f} s on 2 Dask workers, {serial_s:.1f} s with n_jobs=1")


if __name__ == "__main__":  # the workers are processes: they must not run the search again
    main()
