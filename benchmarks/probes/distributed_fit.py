"""A 2-process data-parallel fit (gloo, CPU) against a 1-process fit of the same data and batches.

Usage (from the repository root)::

    python benchmarks/probes/distributed_fit.py \\
        [--methods dccs variational gatcluster dual-ae-spectral]
        [--dataset digits] [--data-home DIR] [--epochs 10] [--world 2]

The ranks are started with ``torch.multiprocessing.spawn`` as ``torchrun``
would start them (one torch thread each; the machine's cores are shared
between them), each takes its share of every batch, so the total batch size
is the estimator's ``batch_size`` in both runs.  Every epoch parameter is
``--epochs``.  Prints fit time and ACC of both, and whether the ranks agree.
"""

import argparse
import os
import socket
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run.py
from run import _load

from skdeepcluster._cli.registry import DATASETS, METHODS
from skdeepcluster.metrics import cluster_accuracy


def _params(cls, epochs):
    return {p: epochs for p in cls().get_params() if p.endswith("epochs")}


def _rank(rank, world, port, folder, args):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(max(1, torch.get_num_threads() // world))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    X, _ = _load(args.dataset, args.data_home, None)
    cls = METHODS[args.method]
    start = time.perf_counter()
    est = cls(
        n_clusters=args.n_clusters, random_state=0, device="cpu", **_params(cls, args.epochs)
    ).fit(X)
    seconds = time.perf_counter() - start
    torch.save(
        {
            "labels": torch.as_tensor(est.labels_),
            "seconds": seconds,
            "weights": est.module_.state_dict(),
        },
        os.path.join(folder, f"{rank}.pt"),
    )
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--methods", nargs="+", choices=sorted(METHODS), default=sorted(METHODS))
    parser.add_argument("--dataset", choices=DATASETS, default="digits")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--world", type=int, default=2)
    args = parser.parse_args()
    X, y = _load(args.dataset, args.data_home, None)
    args.n_clusters = len(set(y.tolist()))
    print(
        f"{args.dataset}: {len(X)} samples; every epoch parameter {args.epochs}; "
        f"{os.cpu_count()} cores, torch {torch.__version__}"
    )
    for method in args.methods:
        args.method = method
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            mp.spawn(_rank, args=(args.world, port, folder, args), nprocs=args.world)
            wall = time.perf_counter() - start
            ranks = [
                torch.load(os.path.join(folder, f"{r}.pt"), weights_only=True)
                for r in range(args.world)
            ]
        agree = all(
            torch.equal(ranks[0]["labels"], r["labels"])
            and all(torch.equal(ranks[0]["weights"][k], r["weights"][k]) for k in r["weights"])
            for r in ranks[1:]
        )
        cls = METHODS[method]
        start = time.perf_counter()
        alone = cls(
            n_clusters=args.n_clusters, random_state=0, device="cpu", **_params(cls, args.epochs)
        ).fit(X)
        single = time.perf_counter() - start
        print(
            f"{method:>18}: {args.world} processes fit {ranks[0]['seconds']:6.1f} s "
            f"(wall with start-up {wall:5.1f} s), "
            f"ACC {cluster_accuracy(y, ranks[0]['labels'].numpy()):.3f}, "
            f"ranks agree {agree};  1 process fit {single:6.1f} s, ACC "
            f"{cluster_accuracy(y, alone.labels_):.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
