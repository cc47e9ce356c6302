"""Fit one estimator on sklearn's digits (as 8x8 images) for several seeds; print ACC/NMI/ARI and time.

Usage: python benchmarks/digits_quick.py [--seeds 0 1 2] [--device cpu]
Labels are used only for scoring; the figures are those of the final epoch.
"""

import argparse
import statistics
import time

import torch
from sklearn.datasets import load_digits

from skdeepcluster import DualAESpectralClustering
from skdeepcluster.metrics import adjusted_rand_score, cluster_accuracy, normalized_mutual_info_score


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    digits = load_digits()
    rows = []
    for seed in args.seeds:
        est = DualAESpectralClustering(n_clusters=10, device=args.device, random_state=seed)
        start = time.perf_counter()
        labels = est.fit_predict(digits.images)
        seconds = time.perf_counter() - start
        rows.append((cluster_accuracy(digits.target, labels),
                     normalized_mutual_info_score(digits.target, labels),
                     adjusted_rand_score(digits.target, labels), seconds))
        print(f"seed {seed}: ACC {rows[-1][0]:.4f} NMI {rows[-1][1]:.4f} ARI {rows[-1][2]:.4f} "
              f"fit {seconds:.1f} s", flush=True)
    med = [statistics.median(col) for col in zip(*rows)]
    print(f"median of {len(rows)}: ACC {med[0]:.4f} NMI {med[1]:.4f} ARI {med[2]:.4f} fit {med[3]:.1f} s "
          f"(torch threads {torch.get_num_threads()}, device {args.device})")


if __name__ == "__main__":
    main()
