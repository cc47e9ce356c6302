"""Where one epoch of each training phase spends its time: ``torch.profiler`` over a short fit.

Usage (from the repository root)::

    python benchmarks/probes/profile_epoch.py --method dual-ae-spectral --dataset mnist-test \\
        --data-home ../shared/datasets [--epochs 1] [--rows 12]

Fits the estimator with every epoch parameter set to ``--epochs`` and prints
each phase's seconds per epoch and samples/s (from ``history_``, the last
epoch of each phase: the first pays for warm-up), then the operators that
took the most time over the whole fit, with their input shapes, so a layer
can be told from another.  The profiler slows small operators down
unevenly: ``--no-profiler`` gives the epoch times alone.  Run it on two
commits to see where a change moved the time.
"""

import argparse
import os
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run.py
from run import DATASET_CHOICES, _load

from skdeepcluster._cli.registry import METHODS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", choices=sorted(METHODS), default="dual-ae-spectral")
    parser.add_argument("--dataset", choices=DATASET_CHOICES, default="mnist-test")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rows", type=int, default=12)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-profiler", action="store_true")
    args = parser.parse_args()

    X, y = _load(args.dataset, args.data_home, None)
    cls = METHODS[args.method]
    params = {name: args.epochs for name in cls().get_params() if name.endswith("epochs")}
    est = cls(n_clusters=len(set(y.tolist())), random_state=0, device=args.device, **params)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if args.device == "cuda" else [])
    start = time.perf_counter()
    prof = profile(activities=activities, record_shapes=True) if not args.no_profiler else None
    if prof is not None:
        prof.start()
    est.fit(X)
    total = time.perf_counter() - start
    if prof is not None:
        prof.stop()
    print(
        f"{type(est).__name__} on {args.dataset} ({len(X)} samples), {args.epochs} epoch(s) per "
        f"phase, torch {torch.__version__}, {torch.get_num_threads()} threads: fit {total:.1f} s"
        + ("" if prof is None else " (under the profiler)")
    )
    last = {record.get("phase", "train"): record for record in est.history_}
    for phase, record in last.items():
        print(
            f"  {phase:>12}: {record['time']:7.2f} s/epoch  "
            f"{record['samples_per_s']:9.0f} samples/s"
        )
    if prof is None:
        return
    print(
        prof.key_averages(group_by_input_shape=True).table(
            sort_by="self_cpu_time_total",
            row_limit=args.rows,
            max_name_column_width=32,
            max_shapes_column_width=70,
        )
    )


if __name__ == "__main__":
    main()
