"""Fit one estimator with default parameters for several seeds; print ACC/NMI/ARI and time.

Usage: python benchmarks/digits_quick.py [--method dccs] [--dataset digits]
       [--data-home DIR] [--seeds 0 1 2] [--device cpu]
The default data set is sklearn's digits as 8x8 images; ``--dataset
mnist-test`` and the others of ``python -m skdeepcluster`` read local files.
Labels are used only for scoring; the figures are those of the final epoch.
"""

import argparse
import statistics
import time

import torch

from skdeepcluster.__main__ import METHODS, load
from skdeepcluster.metrics import (
    adjusted_rand_score,
    cluster_accuracy,
    normalized_mutual_info_score,
)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--method", choices=sorted(METHODS), default="dual-ae-spectral")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args()
    X, y = load(args.dataset, args.data_home)
    rows = []
    for seed in args.seeds:
        est = METHODS[args.method](n_clusters=len(set(y.tolist())), device=args.device, random_state=seed)
        start = time.perf_counter()
        labels = est.fit_predict(X)
        seconds = time.perf_counter() - start
        rows.append((cluster_accuracy(y, labels),
                     normalized_mutual_info_score(y, labels),
                     adjusted_rand_score(y, labels), seconds))
        print(f"seed {seed}: ACC {rows[-1][0]:.4f} NMI {rows[-1][1]:.4f} ARI {rows[-1][2]:.4f} "
              f"fit {seconds:.1f} s", flush=True)
    med = [statistics.median(col) for col in zip(*rows)]
    print(f"median of {len(rows)}: ACC {med[0]:.4f} NMI {med[1]:.4f} ARI {med[2]:.4f} fit {med[3]:.1f} s "
          f"({args.method} on {args.dataset}, torch threads {torch.get_num_threads()}, "
          f"device {args.device})")


if __name__ == "__main__":
    main()
