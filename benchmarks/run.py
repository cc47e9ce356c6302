"""Fit every method on every data set, each fit in a fresh process; write JSON and tables.

Examples (from the repository root)::

    # the suite behind doc/benchmarks.rst: every method x eight sets x seeds 0-2, resumable,
    # then the page is regenerated (6.6 hours of fits on 2 CPU cores, 2026-12: MNIST-test
    # 2.1 h, Fashion-MNIST test 2.0 h, the six smaller sets 2.5 h)
    python benchmarks/run.py --suite --data-home ../shared/datasets

    # rerun one cell of the suite (its line in suite.jsonl is replaced), then the page
    python benchmarks/run.py --suite --methods dccs --datasets digits --seeds 1 --rerun \\
        --data-home ../shared/datasets

    # digits and a 2,000-image stratified subset of MNIST-test, one seed, CPU (~30 min on 2 cores)
    python benchmarks/run.py --preset cpu --data-home ../shared/datasets

    # choose everything
    python benchmarks/run.py --methods dccs kmeans clustpy-dec --datasets digits mnist-test \\
        --seeds 0 1 2 --device auto --data-home ../shared/datasets --out benchmarks/results/mine

    # restarts chosen without labels: our estimators with n_init=3, beside the peers
    python benchmarks/run.py --methods dccs gatcluster kmeans umap-kmeans --datasets digits \\
        --seeds 0 1 2 --n-init 3 --data-home ../shared/datasets --out benchmarks/results/n-init3

    # fit time and memory against n (a few epochs each, so growth shows without full fits)
    python benchmarks/run.py --scaling --sizes 1000 5000 10000 70000 --epochs 2 \\
        --data-home ../shared/datasets --out benchmarks/results/cpu-scaling

Each fit runs in its own ``python benchmarks/run.py --worker ...`` process, so
peak memory is that fit's and no state leaks between methods.  Labels are
used only to score the final model.  A fit that fails (a missing package or
data file, an error, ``--timeout``) is recorded with its reason, not dropped.
``benchmarks/report.py`` turns the JSON files into ``doc/benchmarks.rst``.

The suite appends one JSON line per fit to ``benchmarks/results/suite.jsonl``
(with the date, the commit and the machine of that fit), so a suite that is
stopped continues at the first cell without a line when started again;
``--methods``, ``--datasets`` and ``--seeds`` narrow it, ``--rerun`` fits
the chosen cells again and replaces their lines.  Stop it with Ctrl-C (or
kill its process group: the fit runs in a child process).
"""

import argparse
import ast
import datetime
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time

import numpy as np
from feature_cache import pretrained_features
from methods import METHODS, as_input
from page import write_page
from report import write_markdown
from suite import cell, read_suite, suite_grid

from skdeepcluster._cli.registry import DATASETS

PRESETS = {
    "cpu": {
        "methods": list(METHODS),
        "datasets": ["digits", "mnist-test"],
        "seeds": [0],
        "subsample": 2000,
        "device": "cpu",
        "timeout": 900,
        "out": "benchmarks/results/cpu",
    },
    "gpu": {
        "methods": list(METHODS),
        "datasets": ["digits", "mnist-test", "mnist", "fashion-mnist", "coil20"],
        "seeds": [0, 1, 2],
        "subsample": None,
        "device": "cuda",
        "out": "benchmarks/results/gpu",
    },
}
_RESULT = "BENCH-RESULT "

# The suite behind doc/benchmarks.rst (its grid is defined beside the page, in page.py).
SUITE = {
    "timeout": 1800,
    "out": "benchmarks/results/suite.jsonl",
    "page": "doc/benchmarks.rst",
    "plots": "doc/images",
    "scaling": ["benchmarks/results/cpu-scaling.json"],
}


# Named subsets of the sets skdeepcluster's loaders read: (set, how to pick the rows).
SUBSETS = {
    # COIL-20 with few images per object: every 7th pose, 10 of each of the 20.
    "coil20-few": (
        "coil20",
        lambda y: np.concatenate([np.flatnonzero(y == c)[::7][:10] for c in range(20)]),
    ),
    # A stratified 2,000 of MNIST's test set (the same rows as --subsample 2000).
    "mnist-test-2k": ("mnist-test", 2000),
}
DATASET_CHOICES = [*DATASETS, *SUBSETS]


def parse_params(pairs):
    """``{"max_epochs": 10}`` from ``["max_epochs=10"]`` (a probe's ``--set NAME=VALUE``)."""
    params = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        params[name] = ast.literal_eval(value)
    return params


# ------------------------------------------------------------------ worker
def _load(dataset, data_home, subsample):
    from sklearn.utils import resample

    from skdeepcluster._cli.registry import load

    if dataset in SUBSETS:
        dataset, pick = SUBSETS[dataset]
        if callable(pick):
            X, y = load(dataset, data_home)
            rows = pick(np.asarray(y))
            return X[rows], np.asarray(y)[rows]
        subsample = pick
    X, y = load(dataset, data_home)
    if subsample and subsample < len(X):
        # The same stratified subset for every method and seed.
        X, y = resample(X, y, n_samples=subsample, replace=False, stratify=y, random_state=0)
    return X, np.asarray(y)


def worker(job):
    """Run one fit described by ``job`` and return its record."""
    import torch

    from skdeepcluster.metrics import (
        adjusted_rand_score,
        cluster_accuracy,
        normalized_mutual_info_score,
    )

    X, y = _load(job["dataset"], job["data_home"], job["subsample"])
    build, kind, _ = METHODS[job["method"]]
    device = job["device"]
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    features = None
    if kind == "features":
        X_in, features = pretrained_features(
            job["dataset"] if not job["subsample"] else f"{job['dataset']}-sub{job['subsample']}",
            X,
            device,
        )
    else:
        X_in = as_input(X, kind)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    est = build(len(np.unique(y)), job["seed"], device, job["epochs"])
    ours = type(est).__module__.startswith("skdeepcluster")
    if ours and job.get("n_init"):  # our restarts only (KMeans's n_init is its own)
        est.set_params(n_init=job["n_init"])
    if ours and job.get("params"):  # a probe's parameters other than the defaults
        est.set_params(**job["params"])
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    est.fit(X_in)
    fit_s = time.perf_counter() - start
    labels = np.asarray(est.labels_)
    predict_rate = None
    if hasattr(est, "predict"):
        start = time.perf_counter()
        est.predict(X_in)
        predict_rate = len(X_in) / (time.perf_counter() - start)
    return {
        "status": "ok",
        "n": len(X),
        "acc": cluster_accuracy(y, labels),
        "nmi": normalized_mutual_info_score(y, labels),
        "ari": adjusted_rand_score(y, labels),
        "n_clusters_found": int(len(np.unique(labels))),
        "fit_s": fit_s,
        "predict_samples_per_s": predict_rate,
        # ru_maxrss is in KiB on Linux: the peak of this whole process.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_fit_mb": rss_before,
        "gpu_peak_mb": (torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None),
        "device": str(getattr(est, "device_", device)),
        **(
            {"restart_scores": est.restart_scores_.tolist(), "best_restart": est.best_restart_}
            if ours
            else {}
        ),
        # the features' network and the seconds they took (once per set, shared by every fit)
        **(
            {
                "features": features["model"],
                "feature_s": features["seconds"],
                "feature_date": features["date"],
            }
            if features
            else {}
        ),
    }


# ------------------------------------------------------------------ parent
def _version(module):
    try:
        return __import__(module).__version__
    except Exception:  # not installed, or broken: say so
        return None


def machine_info():
    import torch

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/meminfo") as f:
            mem_gb = int(f.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        mem_gb = None
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": mem_gb,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def versions():
    return {
        "python": platform.python_version(),
        **{
            name: _version(name)
            for name in ("skdeepcluster", "torch", "sklearn", "numpy", "scipy", "clustpy", "umap")
        },
    }


def commit():
    """The checked-out commit of this repository, ``+dirty`` if the package has changes."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args):
        return subprocess.run(
            ["git", "-C", root, *args], capture_output=True, text=True, timeout=30
        ).stdout.strip()

    try:
        sha = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "skdeepcluster")
    except (OSError, subprocess.SubprocessError):  # no git here
        return None
    return (sha + ("+dirty" if dirty else "")) or None


def run_job(job, timeout):
    """Run ``job`` in a fresh interpreter; the record, with a status saying how it ended."""
    command = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(job)]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout after {timeout} s", "wall_s": time.perf_counter() - start}
    wall = {"wall_s": time.perf_counter() - start}  # the fresh process's whole life
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(_RESULT):
            return {**json.loads(line[len(_RESULT) :]), **wall}
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    return {"status": _failure(errors[-1] if errors else f"exit code {done.returncode}"), **wall}


def _failure(message):
    """A short status for a table cell: the error's first sentence."""
    first = message.split(". ")[0].rstrip(".")
    return "failed: " + (first if len(first) <= 160 else first[:157] + "...")


def data_problem(dataset, data_home):
    """None if ``dataset`` loads, else the failure status every method gets."""
    try:
        _load(dataset, data_home, None)
    except Exception as exc:  # a missing or broken file: every fit would fail the same way
        return _failure(f"{type(exc).__name__}: {exc}")
    return None


def _summary(record):
    if record["status"] != "ok":
        return record["status"]
    return (
        f"ACC {record['acc']:.4f} NMI {record['nmi']:.4f} ARI {record['ari']:.4f} "
        f"used {record['n_clusters_found']} fit {record['fit_s']:.1f} s "
        f"RSS {record['peak_rss_mb']:.0f} MB"
        + (
            f" restart {record['best_restart'] + 1} of scores "
            + "/".join(f"{v:.4g}" for v in record["restart_scores"])
            if len(record.get("restart_scores", [])) > 1
            else ""
        )
    )


# ------------------------------------------------------------------ suite
def _write_suite(path, records):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    os.replace(tmp, path)  # never half a file


def run_suite(args):
    """Fit every cell of the suite without a line yet (or the chosen ones again), then the page."""
    grid = [
        (m, d, s)
        for m, d, s in suite_grid()
        if (not args.methods or m in args.methods)
        and (not args.datasets or d in args.datasets)
        and (args.seeds is None or s in args.seeds)
    ]
    datasets = list(dict.fromkeys(d for _, d, _ in grid))
    out = args.out or SUITE["out"]
    device = args.device or "auto"
    timeout = args.timeout or SUITE["timeout"]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    done = {cell(r) for r in read_suite(out)}
    todo = [cell_ for cell_ in grid if args.rerun or cell_ not in done]
    print(f"suite: {len(todo)} fits to run, {len(done)} cells already in {out}", flush=True)
    context = {
        "commit": commit(),
        "machine": machine_info(),
        "versions": versions(),
        "command": shlex.join(["python", *sys.argv]),
    }
    problems = {name: data_problem(name, args.data_home) for name in dict.fromkeys(datasets)}
    for method, dataset, seed in todo:
        job = {
            "method": method,
            "dataset": dataset,
            "subsample": None,
            "seed": seed,
            "device": device,
            "epochs": None,
            "data_home": args.data_home,
        }
        date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        outcome = {"status": problems[dataset]} if problems[dataset] else run_job(job, timeout)
        record = {**job, "family": METHODS[method][2], **outcome, "date": date, **context}
        del record["data_home"]
        print(
            f"{method:>16} {dataset} (n={record.get('n', '?')}) seed {seed}: {_summary(record)}",
            flush=True,
        )
        if cell(record) in done:  # a rerun: the new line replaces the old one
            _write_suite(out, [r for r in read_suite(out) if cell(r) != cell(record)] + [record])
        else:
            with open(out, "a") as f:  # one line per fit: a stopped suite keeps what it did
                f.write(json.dumps(record) + "\n")
            done.add(cell(record))
    if args.page != "none":
        scaling = [path for path in SUITE["scaling"] if os.path.exists(path)]
        write_page(out, scaling, args.page, args.plots)
        print(f"wrote {args.page} and its figures in {args.plots}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="defaults for the options below (options given still win)",
    )
    parser.add_argument("--methods", nargs="+", choices=sorted(METHODS))
    parser.add_argument("--datasets", nargs="+", choices=DATASET_CHOICES)
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--subsample", type=int, help="fit a stratified subset of N images of the larger sets"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="override every epoch count (for scaling runs; default: each method's own)",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="fit on subsets of --scaling-dataset of the --sizes, seed 0",
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 5000, 10000, 70000])
    parser.add_argument("--scaling-dataset", choices=DATASETS, default="mnist")
    parser.add_argument(
        "--n-init", type=int, help="restarts of our estimators (their n_init); not with --suite"
    )
    parser.add_argument("--data-home", help="folder of the data files (see skdeepcluster.datasets)")
    parser.add_argument("--timeout", type=float, help="seconds allowed to one fit")
    parser.add_argument("--out", help="path stem of the results: writes STEM.json and STEM.md")
    parser.add_argument(
        "--suite",
        action="store_true",
        help="run the cells of the benchmark suite that have no result yet, "
        "then regenerate the page (--out: the JSON-lines file)",
    )
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="with --suite: fit the chosen cells again, replacing their lines",
    )
    parser.add_argument(
        "--page",
        default=SUITE["page"],
        help="with --suite: the page to regenerate ('none': no page)",
    )
    parser.add_argument("--plots", default=SUITE["plots"], help="with --suite: folder of figures")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(_RESULT + json.dumps(worker(json.loads(args.worker))), flush=True)
        return
    if args.suite:
        if args.n_init is not None:
            parser.error("--n-init is not for the suite, whose rows are the defaults")
        run_suite(args)
        return

    preset = PRESETS.get(args.preset, {})
    methods = args.methods or preset.get("methods") or list(METHODS)
    seeds = args.seeds or preset.get("seeds") or [0]
    device = args.device or preset.get("device") or "auto"
    timeout = args.timeout or preset.get("timeout")
    if args.scaling:
        grid = [(args.scaling_dataset, n, seed) for n in args.sizes for seed in seeds[:1]]
        out = args.out or "benchmarks/results/scaling"
    else:
        datasets = args.datasets or preset.get("datasets") or ["digits"]
        subsample = args.subsample if args.subsample is not None else preset.get("subsample")
        grid = [(dataset, subsample, seed) for dataset in datasets for seed in seeds]
        out = args.out or preset.get("out") or "benchmarks/results/run"

    results = {
        "meta": {
            "command": shlex.join(["python", *sys.argv]) if argv is None else shlex.join(argv),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "kind": "scaling" if args.scaling else "accuracy",
            "commit": commit(),
            "machine": machine_info(),
            "versions": versions(),
            "nmi": "sklearn normalized_mutual_info_score, arithmetic average",
        },
        "runs": [],
    }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    problems = {
        name: data_problem(name, args.data_home) for name in dict.fromkeys(g[0] for g in grid)
    }
    for dataset, subsample, seed in grid:
        for method in methods:
            job = {
                "method": method,
                "dataset": dataset,
                "subsample": subsample,
                "seed": seed,
                "device": device,
                "epochs": args.epochs,
                "data_home": args.data_home,
                "n_init": args.n_init,
            }
            outcome = {"status": problems[dataset]} if problems[dataset] else run_job(job, timeout)
            record = {**job, "family": METHODS[method][2], **outcome}
            del record["data_home"]
            results["runs"].append(record)
            print(
                f"{method:>16} {dataset} (n={record.get('n', '?')}) seed {seed}: "
                f"{_summary(record)}",
                flush=True,
            )
            with open(out + ".json", "w") as f:  # rewritten after each fit: a partial run is kept
                json.dump(results, f, indent=1)
    write_markdown(results, out + ".md")
    print(f"wrote {out}.json and {out}.md")


if __name__ == "__main__":
    main()
