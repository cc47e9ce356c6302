"""Cluster a real data set and print ACC / NMI / ARI: ``python -m skdeepcluster``.

By default it clusters scikit-learn's 8x8 handwritten digits (shipped with
scikit-learn: no download, no GPU needed).  ``--dataset mnist-test`` and the
others read local files through :mod:`skdeepcluster.datasets`.  Beside the
estimator's scores it prints those of scikit-learn's ``KMeans`` on the same
pixels (scaled to [0, 1]), the baseline a deep method has to beat.
"""

import argparse
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits

from . import datasets
from .dccs import DCCSClustering
from .dual_ae_spectral import DualAESpectralClustering
from .gatcluster import GATCluster
from .metrics import adjusted_rand_score, cluster_accuracy, normalized_mutual_info_score
from .variational import VariationalClustering

METHODS = {"dccs": DCCSClustering, "dual-ae-spectral": DualAESpectralClustering,
           "gatcluster": GATCluster, "variational": VariationalClustering}


DATASETS = ["digits", "mnist-test", "mnist", "fashion-mnist-test", "fashion-mnist", "usps", "coil20",
            "orl", "mixed40"]


def load(name, data_home):
    if name == "digits":
        bunch = load_digits()
        return bunch.images, bunch.target
    if name == "mnist-test":
        return datasets.load_mnist(data_home, subset="test", return_X_y=True)
    if name == "mnist":
        return datasets.load_mnist(data_home, return_X_y=True)
    if name == "fashion-mnist":
        return datasets.load_fashion_mnist(data_home, return_X_y=True)
    if name == "fashion-mnist-test":
        return datasets.load_fashion_mnist(data_home, subset="test", return_X_y=True)
    if name == "usps":
        return datasets.load_usps(data_home, return_X_y=True)
    if name == "orl":
        return datasets.load_orl_faces(data_home, return_X_y=True)
    if name == "mixed40":
        return datasets.load_mixed40(data_home, return_X_y=True)
    return datasets.load_coil20(data_home, return_X_y=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m skdeepcluster", description=__doc__.split("\n")[0])
    parser.add_argument("--method", choices=sorted(METHODS), default="dual-ae-spectral")
    parser.add_argument("--dataset", default="digits",
                        choices=DATASETS)
    parser.add_argument("--data-home", default=None, help="folder of the data files")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=0, help="print progress every N epochs")
    args = parser.parse_args(argv)

    X, y = load(args.dataset, args.data_home)
    n_clusters = len(set(y.tolist()))
    est = METHODS[args.method](n_clusters=n_clusters, device=args.device, random_state=args.seed,
                               verbose=args.verbose)
    start = time.perf_counter()
    labels = est.fit_predict(X)
    rows = [(type(est).__name__, labels, time.perf_counter() - start)]
    pixels = X.reshape(len(X), -1).astype(np.float64)
    pixels /= max(float(pixels.max()), 1.0)
    start = time.perf_counter()
    baseline = KMeans(n_clusters, n_init=10, random_state=args.seed).fit_predict(pixels)
    rows.append(("KMeans (pixels)", baseline, time.perf_counter() - start))

    print(f"{args.dataset}: {len(X)} images, {n_clusters} clusters, device {est.device_}, "
          f"seed {args.seed}")
    width = max(len(name) for name, _, _ in rows)
    print(f"{'':{width}}  {'ACC':>6}  {'NMI':>6}  {'ARI':>6}  {'fit (s)':>7}")
    for name, pred, seconds in rows:
        print(f"{name:{width}}  {cluster_accuracy(y, pred):6.4f}  "
              f"{normalized_mutual_info_score(y, pred):6.4f}  "
              f"{adjusted_rand_score(y, pred):6.4f}  {seconds:7.2f}")


if __name__ == "__main__":
    main()
