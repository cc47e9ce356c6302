"""Cluster a real data set and print ACC / NMI / ARI: ``python -m skdeepcluster``.

By default it clusters scikit-learn's 8x8 handwritten digits (shipped with
scikit-learn: no download, no GPU needed).  ``--dataset mnist-test`` and the
others read local files through :mod:`skdeepcluster.datasets`.  Beside the
estimator's scores it prints those of scikit-learn's ``KMeans`` on the same
pixels (scaled to [0, 1]), the baseline a deep method has to beat.

``python -m skdeepcluster FOLDER --n-clusters K`` clusters a folder of images
(:func:`~skdeepcluster.datasets.load_image_folder`) and writes, into ``--out``,
``clusters.csv`` (file, cluster, confidence), a contact sheet per cluster and
an overview; when the folder has one sub-folder per class it prints the
scores too.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits

from . import datasets
from ._report import confidence, write_report
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
    parser.add_argument("folder", nargs="?", default=None,
                        help="a folder of images to cluster instead of --dataset")
    parser.add_argument("--method", choices=sorted(METHODS), default="dual-ae-spectral")
    parser.add_argument("--dataset", default="digits",
                        choices=DATASETS)
    parser.add_argument("--n-clusters", type=int, default=None,
                        help="clusters for a folder (default: its class sub-folders, if any)")
    parser.add_argument("--out", default=None,
                        help="where a folder's results go (default: ./<folder name>_clusters)")
    parser.add_argument("--size", type=int, default=32, help="a folder's images are resized to it")
    parser.add_argument("--color", choices=["auto", "grey", "rgb"], default="auto")
    parser.add_argument("--skip-unreadable", action="store_true",
                        help="skip (with a warning) files that are not readable images")
    parser.add_argument("--data-home", default=None, help="folder of the data files")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1,
                        help="0: quiet; 1: a progress bar per phase; N: also a line every N epochs")
    args = parser.parse_args(argv)

    if args.folder is None:
        X, y = load(args.dataset, args.data_home)
        n_clusters, name = len(set(y.tolist())), args.dataset
    else:
        try:
            bunch = datasets.load_image_folder(
                args.folder, size=args.size, color=args.color,
                on_error="warn" if args.skip_unreadable else "raise")
        except (OSError, ValueError) as exc:
            parser.error(str(exc))
        X, y, name = bunch.images, bunch.target, args.folder
        n_clusters = args.n_clusters or (None if y is None else len(bunch.target_names))
        if n_clusters is None:
            parser.error("--n-clusters is needed: the folder has no class sub-folders.")
        if not 1 <= n_clusters <= len(X):
            parser.error(f"--n-clusters must be from 1 to the folder's {len(X)} images; "
                         f"got {n_clusters}.")
    est = METHODS[args.method](n_clusters=n_clusters, device=args.device, random_state=args.seed,
                               verbose=args.verbose)
    start = time.perf_counter()
    labels = est.fit_predict(X)
    rows = [(type(est).__name__, labels, time.perf_counter() - start)]
    print(f"{name}: {len(X)} images, {n_clusters} clusters, device {est.device_}, "
          f"seed {args.seed}")
    if args.folder is not None:
        out = Path(args.out or f"{Path(args.folder).resolve().name}_clusters")
        written = write_report(out, args.folder, bunch.filenames, labels, confidence(est, X),
                               n_clusters)
        print(f"wrote {written[0]} (file, cluster, confidence), {len(written) - 2} contact "
              f"sheets {out / 'cluster_<k>.png'} and the overview {written[-1]}")
        if y is None:
            return
    pixels = X.reshape(len(X), -1).astype(np.float64)
    pixels /= max(float(pixels.max()), 1.0)
    start = time.perf_counter()
    baseline = KMeans(n_clusters, n_init=10, random_state=args.seed).fit_predict(pixels)
    rows.append(("KMeans (pixels)", baseline, time.perf_counter() - start))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'':{width}}  {'ACC':>6}  {'NMI':>6}  {'ARI':>6}  {'fit (s)':>7}")
    for name, pred, seconds in rows:
        print(f"{name:{width}}  {cluster_accuracy(y, pred):6.4f}  "
              f"{normalized_mutual_info_score(y, pred):6.4f}  "
              f"{adjusted_rand_score(y, pred):6.4f}  {seconds:7.2f}")


if __name__ == "__main__":
    main()
