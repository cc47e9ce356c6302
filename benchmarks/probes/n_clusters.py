"""How well does ``estimate_n_clusters`` find the number of clusters of the suite's sets?

Usage: python benchmarks/probes/n_clusters.py --data-home ../shared/datasets
       [--sets digits orl ...] [--seeds 0 1 2 3 4] [--plots doc/images] [--unbalanced]

For each set (its pixels as the command reads them, and ``PretrainedFeatures()`` rows for
``cifar10-4k``, as the command clusters colour photos), runs the estimate once per seed
and prints the true count, the estimate and the runner-up per seed, how far the estimate
is from the truth and the seconds it took.  With ``--plots DIR`` it also draws the
command's ``k.png`` for digits (10 clusters of 180) and ORL (40 of 10) into
``DIR/n_clusters_<set>.png`` (seed 0).  With ``--unbalanced`` each set's classes are first
cut to sizes falling by equal ratios from the largest class (kept whole) to a tenth of it.
Labels are read only for the true count and that cut.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run.py
from feature_cache import pretrained_features
from run import _load
from suite import SUITE_SETS

from skdeepcluster import estimate_n_clusters
from skdeepcluster._cli.count_plot import write_count_plot

_PLOTTED = ("digits", "orl")


def rows_of(name, data_home):
    """What the command clusters: the images, or the features of colour photos."""
    X, y = _load(name, data_home, None)
    if name == "cifar10-4k":
        X, _ = pretrained_features(name, X, "cpu")
    return X, np.asarray(y)


def unbalanced(X, y, smallest=0.1):
    """``X, y`` with class ``c`` of ``K`` cut to ``smallest ** (c / (K - 1))`` of its rows."""
    classes = np.unique(y)
    keep = []
    for c, label in enumerate(classes):
        rows = np.flatnonzero(y == label)
        share = smallest ** (c / max(len(classes) - 1, 1))
        keep.append(rows[: max(2, round(share * len(rows)))])
    keep = np.sort(np.concatenate(keep))
    return X[keep], y[keep]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--sets", nargs="+", default=list(SUITE_SETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--plots", default=None, help="folder for the two sets' k.png")
    parser.add_argument("--unbalanced", action="store_true", help="classes cut 1 to 1/10")
    args = parser.parse_args()
    print("set                n true  estimate per seed (runner-up)          within 20%  seconds")
    for name in args.sets:
        X, y = rows_of(name, args.data_home)
        if args.unbalanced:
            X, y = unbalanced(X, y)
        true = len(np.unique(y))
        found, seconds = [], []
        for seed in args.seeds:
            start = time.perf_counter()
            estimate = estimate_n_clusters(X, random_state=seed)
            seconds.append(time.perf_counter() - start)
            found.append((estimate.n_clusters, estimate.runner_up))
            if args.plots and name in _PLOTTED and not args.unbalanced and seed == args.seeds[0]:
                path = os.path.join(args.plots, f"n_clusters_{name}.png")
                write_count_plot(path, estimate, known=true, known_label="true number")
        within = sum(abs(k - true) <= 0.2 * true for k, _ in found)
        per_seed = " ".join(f"{k} ({r})" for k, r in found)
        print(
            f"{name:14} {len(y):5} {true:4}  {per_seed:38} {within} of {len(found)}  "
            f"{statistics.median(seconds):5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
