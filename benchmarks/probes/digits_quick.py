"""Fit one estimator with default parameters for several seeds; print ACC/NMI/ARI and time.

Usage: python benchmarks/probes/digits_quick.py [--method dccs] [--dataset digits]
       [--data-home DIR] [--seeds 0 1 2] [--device cpu]
The default data set is sklearn's digits as 8x8 images; ``--dataset
mnist-test`` and the others of ``python -m skdeepcluster`` read local files.
Labels are used only for scoring; the figures are those of the final epoch.
The fits run in this process through ``run.py``'s worker; ``run.py`` is the
full benchmark (every method, one process per fit, tables).
"""

import argparse
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run.py
from run import DATASET_CHOICES, parse_params, worker

from skdeepcluster._cli.registry import METHODS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--method", choices=sorted(METHODS), default="dual-ae-spectral")
    parser.add_argument("--dataset", choices=DATASET_CHOICES, default="digits")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a parameter (repeat)"
    )
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        record = worker(
            {
                "method": args.method,
                "dataset": args.dataset,
                "subsample": None,
                "seed": seed,
                "device": args.device,
                "epochs": None,
                "data_home": args.data_home,
                "params": parse_params(args.set),
            }
        )
        rows.append((record["acc"], record["nmi"], record["ari"], record["fit_s"]))
        print(
            f"seed {seed}: ACC {rows[-1][0]:.4f} NMI {rows[-1][1]:.4f} ARI {rows[-1][2]:.4f} "
            f"fit {rows[-1][3]:.1f} s, {record['n_clusters_found']} clusters used",
            flush=True,
        )
    med = [statistics.median(col) for col in zip(*rows)]
    worst = min(acc for acc, *_ in rows)
    print(
        f"median of {len(rows)}: ACC {med[0]:.4f} (worst {worst:.4f}) NMI {med[1]:.4f} "
        f"ARI {med[2]:.4f} fit {med[3]:.1f} s "
        f"({args.method} on {args.dataset} {parse_params(args.set) or ''}, torch threads "
        f"{torch.get_num_threads()}, device {args.device})"
    )


if __name__ == "__main__":
    main()
