"""The suite behind ``doc/benchmarks.rst``: its grid of cells and the records that fill it.

``run.py --suite`` runs the grid's cells and appends a record per fit; the page reads them back.
"""

import json
import os
import statistics

from methods import FEATURE_METHODS, METHODS

# The suite's grid (``run.py --suite``): every method of methods.py on these sets and seeds,
# the cheap sets first, so a partial run fills whole tables.
SUITE_SETS = (
    "digits",
    "coil20-few",
    "orl",
    "mixed40",
    "mnist-test-2k",
    "coil20",
    "cifar10-4k",
    "mnist-test",
    "fashion-mnist-test",
)
# The sets whose grid also has the methods on pretrained features (methods.FEATURE_METHODS):
# the colour photos and the grey sets up to 4,000 images.
FEATURE_SETS = ("digits", "coil20-few", "orl", "mixed40", "mnist-test-2k", "coil20", "cifar10-4k")
SEEDS = (0, 1, 2)
# Where the documentation names a best method or recommends one, it rests on 5 seeds: the sets
# of up to 2,000 images and the colour photos' features take seeds 3 and 4 too, for our
# estimators and the shallow peers (not ClustPy's, shown for reference; nor the larger sets,
# whose fits take 2-11 minutes each on 2 CPU cores).
MORE_SEEDS = (3, 4)
# A best is named (in bold, in "take this") only among fits of every seed of the five-seed grid.
RANKED_SEEDS = len(SEEDS + MORE_SEEDS)
FIVE_SEED_SETS = ("digits", "coil20-few", "orl", "mixed40", "mnist-test-2k")
FIVE_SEED_FEATURE_SETS = ("cifar10-4k",)


def cell_seeds(method, dataset):
    """The seeds the suite fits ``method`` on ``dataset`` with."""
    five = METHODS[method][2] != "clustpy" and (
        dataset in FIVE_SEED_SETS
        or (dataset in FIVE_SEED_FEATURE_SETS and method in FEATURE_METHODS)
    )
    return SEEDS + MORE_SEEDS if five else SEEDS


def suite_grid():
    """Every ``(method, dataset, seed)`` cell of the suite, in the order it runs them.

    Seeds 0-2 of every set first, so a partial run fills whole tables; then seeds 3 and 4.
    """
    return [
        (m, d, s)
        for seeds in (SEEDS, MORE_SEEDS)
        for d in SUITE_SETS
        for s in seeds
        for m in METHODS
        if (d in FEATURE_SETS or m not in FEATURE_METHODS) and s in cell_seeds(m, d)
    ]


def cell(record):
    """The suite cell ``(method, dataset, seed)`` a record fills."""
    return record["method"], record["dataset"], record["seed"]


def read_suite(path):
    """The records of a suite file, one per cell (a later line replaces an earlier one)."""
    records = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    records[cell(record)] = record
    return list(records.values())


def summary(records, dataset, method):
    """Median and worst ACC of ``method`` on ``dataset``, its seeds, clusters, fit time."""
    ok = [
        r
        for r in records
        if r["dataset"] == dataset and r["method"] == method and r["status"] == "ok"
    ]
    if not ok:
        return None
    k = max(r.get("n_clusters_found", 0) for r in records if r["dataset"] == dataset)
    accs = [r["acc"] for r in ok]
    return {
        "method": method,
        "median": statistics.median(accs),
        "worst": min(accs),
        "seeds": len(ok),
        "every_cluster": all(r["n_clusters_found"] >= k for r in ok),
        "fit_s": statistics.median(r["fit_s"] for r in ok),
        "feature_s": statistics.median(r.get("feature_s") or 0 for r in ok),
    }


def ranked(s):
    """Whether a summary may be named best: enough seeds, every cluster used in each."""
    return s is not None and s["seeds"] >= RANKED_SEEDS and s["every_cluster"]


def rank_key(s):
    """What orders summaries for "best": the median, then the worst seed, then the name."""
    return s["median"], s["worst"], s["method"]
