"""What checkpoints cost: write time per epoch against the epoch's training time.

Usage (from the repository root)::

    python benchmarks/probes/checkpoint_cost.py --dataset mnist-test \\
        --data-home ../shared/datasets \\
        [--methods dccs variational gatcluster dual-ae-spectral] [--epochs 2]

Fits each estimator with every epoch parameter set to ``--epochs`` and
``checkpoint_every=1`` (a checkpoint after every epoch, into a temporary
folder), times every write (``torch.save`` to a temporary file, ``fsync``,
rename) and the SHA-256 of the data a fit computes once, and prints per
method: the mean training epoch (from ``history_``, which does not include
the write), the mean write, the checkpoint's size, and the write's share of
an epoch with checkpointing.
"""

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time

import torch

import skdeepcluster._framework.input as data_input
import skdeepcluster._framework.session as session

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run.py
from run import _load

from skdeepcluster._cli.registry import DATASETS, METHODS


def _timed(record, function):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            record.append(time.perf_counter() - start)

    return wrapper


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--methods", nargs="+", choices=sorted(METHODS), default=sorted(METHODS))
    parser.add_argument("--dataset", choices=DATASETS, default="mnist-test")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    X, y = _load(args.dataset, args.data_home, None)
    writes, fingerprints = [], []
    # open_session's save looks save_checkpoint up in session when it writes, and fit
    # hashes X through the input module's hashlib (putting X on the device): both timed in place.
    session.save_checkpoint = _timed(writes, session.save_checkpoint)
    data_input.hashlib = type(
        "TimedHashlib", (), {"sha256": staticmethod(_timed(fingerprints, hashlib.sha256))}
    )
    print(
        f"{args.dataset}: {len(X)} samples; {args.epochs} epoch(s) per phase; torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads, device {args.device}"
    )
    print(
        f"{'method':>18} {'epoch s':>8} {'write s':>8} {'size MB':>8} {'share':>6} "
        f"{'fingerprint s':>13}"
    )
    for name in args.methods:
        cls = METHODS[name]
        params = {p: args.epochs for p in cls().get_params() if p.endswith("epochs")}
        writes.clear()
        fingerprints.clear()
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "fit.ckpt")
            est = cls(
                n_clusters=len(set(y.tolist())),
                random_state=0,
                device=args.device,
                checkpoint_path=path,
                checkpoint_every=1,
                **params,
            ).fit(X)
            size = os.path.getsize(path) / 1e6
        epoch = statistics.mean(record["time"] for record in est.history_)
        write = statistics.mean(writes)
        print(
            f"{name:>18} {epoch:8.2f} {write:8.3f} {size:8.1f} {write / (epoch + write):6.1%} "
            f"{fingerprints[0]:13.3f}   ({len(writes)} writes)",
            flush=True,
        )


if __name__ == "__main__":
    main()
