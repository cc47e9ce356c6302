"""The tables the README and the user guide quote, written from the suite's records.

``python benchmarks/headline.py`` rewrites each table between its markers (``.. <name>-start``
and ``.. <name>-end`` comments) in ``README.rst`` and ``doc/user_guide.rst``; ``--check`` writes
nothing and fails when a table there differs from what ``benchmarks/results/suite.jsonl`` gives
(``tests/test_benchmarks.py`` runs it), so no figure in them drifts from the records.

A best is named only among fits that ``suite.ranked`` admits: at least five seeds, every cluster
used in every seed (one fit of a deep estimator is one draw, and three draws crowned lucky ones).
"""

import argparse
import sys
from pathlib import Path

from methods import FEATURES_SUFFIX, is_ours, label, on_features
from suite import RANKED_SEEDS, rank_key, ranked, read_suite, summary

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks" / "results" / "suite.jsonl"

# The README's grid: a column per method, a row per set and input.
_COLUMNS = (
    ("dccs", "DCCS"),
    ("dual-ae-spectral", "DualAE"),
    ("gatcluster", "GATCluster"),
    ("variational", "Variational"),
    ("umap-kmeans", "UMAP+KMeans"),
    ("spectral", "Spectral"),
    ("kmeans", "KMeans"),
)
_ROWS = (
    ("digits", "", "digits (1,797, 10)"),
    ("coil20-few", "", "COIL-20 few (200, 20)"),
    ("coil20-few", FEATURES_SUFFIX, "COIL-20 few, features"),
    ("orl", "", "ORL faces (400, 40)"),
    ("orl", FEATURES_SUFFIX, "ORL faces, features"),
    ("mixed40", "", "mixed40 (400, 40)"),
    ("mixed40", FEATURES_SUFFIX, "mixed40, features"),
    ("mnist-test-2k", "", "MNIST-test 2,000 (2,000, 10)"),
    ("mnist-test-2k", FEATURES_SUFFIX, "MNIST-test 2,000, features"),
    ("cifar10-4k", FEATURES_SUFFIX, "CIFAR-10 4,000, features"),
    ("cifar10-4k", "", "CIFAR-10 4,000 (4,000, 10)"),
    ("coil20", "", "COIL-20 (1,440, 20)"),
    ("mnist-test", "", "MNIST-test (10,000, 10)"),
    ("fashion-mnist-test", "", "Fashion-MNIST test (10,000, 10)"),
)

# The user guide's decision table: a row per kind of image, the set it was measured on.
_CASES = (
    ("Colour photos", "cifar10-4k", "CIFAR-10, 4,000"),
    ("Handwriting, 28 px", "mnist-test-2k", "MNIST-test, 2,000"),
    ("Small scans, 8 px", "digits", "scikit-learn's digits, 1,797"),
    ("Objects, 10 views each", "coil20-few", "COIL-20, 10 per object"),
    ("Faces, 10 per person", "orl", "ORL, 40 people"),
    ("Many small mixed clusters", "mixed40", "mixed40, 40 of 10"),
)


def _acc(s):
    return f"{s['median']:.3f} ({s['worst']:.3f})" + ("" if s["every_cluster"] else " †")


def _rst_grid(header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    rule = "  ".join("=" * w for w in widths)

    def line(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    return [rule, line(header), rule, *map(line, rows), rule]


def readme_table(records):
    """The README's grid: median (worst seed) per method and set, the row's best in bold."""
    rows = []
    for dataset, suffix, title in _ROWS:
        cells = [summary(records, dataset, m + suffix) for m, _ in _COLUMNS]
        seeds = max((c["seeds"] for c in cells if c is not None), default=0)
        rows.append(
            [title + (f", {seeds} seeds" if seeds < RANKED_SEEDS else ""), *_bold_ranked(cells)]
        )
    return _rst_grid(["Set (images, clusters)", *(name for _, name in _COLUMNS)], rows)


def _take(method):
    if on_features(method):
        return f"PretrainedFeatures, then {label(method[: -len(FEATURES_SUFFIX)])}"
    return label(method) + ("" if is_ours(method) else " on the pixels")


def _time(s):
    seconds = s["fit_s"] + s["feature_s"]
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def decisions(records):
    """``[(case, set, best, best of the other side)]``: the best ranked fit of each case's set.

    The other side is the best peer when the best is ours, and our best when it is a peer.
    """
    out = []
    for case, dataset, title in _CASES:
        methods = dict.fromkeys(r["method"] for r in records if r["dataset"] == dataset)
        fits = [s for s in (summary(records, dataset, m) for m in methods) if ranked(s)]
        if not fits:
            continue
        best = max(fits, key=rank_key)
        other = [s for s in fits if is_ours(s["method"]) != is_ours(best["method"])]
        out.append((case, title, best, max(other, key=rank_key, default=None)))
    return out


def decision_table(records):
    """The user guide's list-table: per case, what to take, its ACC, the other side's best."""
    cases = decisions(records)
    if not cases:
        return [f"(No set has {RANKED_SEEDS} seeds of every method yet: nothing to name.)"]
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 22 28 14 26 10",
        "",
        "   * - Your images (measured on)",
        "     - Take",
        "     - ACC: median (worst of 5)",
        "     - Best of the others",
        "     - Time, 2 CPU cores",
    ]
    for case, title, best, other in cases:
        side = "ours" if other is not None and is_ours(other["method"]) else "peer"
        versus = "–" if other is None else f"{side}: {_take(other['method'])}, {_acc(other)}"
        lines += [
            f"   * - {case} ({title})",
            f"     - {_take(best['method'])}",
            f"     - {_acc(best)}",
            f"     - {versus}",
            f"     - {_time(best)}",
        ]
    return lines


_OURS = ("dccs", "variational", "gatcluster", "dual-ae-spectral")
_PEERS = ("umap-kmeans", "kmeans", "spectral")
_SHORT = {"dccs": "DCCS", "variational": "VC", "gatcluster": "GAT", "dual-ae-spectral": "DualAE"}


def photos_table(records):
    """CIFAR-10's 4,000 photos: each method on the pixels and on the features, its fit time."""
    rows = []
    for method in (*_OURS, *_PEERS):
        pixels = summary(records, "cifar10-4k", method)
        features = summary(records, "cifar10-4k", method + FEATURES_SUFFIX)
        rows.append(
            [
                label(method),
                "–" if pixels is None else f"{_acc(pixels)}, {pixels['seeds']} seeds",
                "–" if features is None else f"{_acc(features)}, {features['seeds']} seeds",
                "–" if features is None else f"{features['fit_s']:.0f} s",
            ]
        )
    header = ["method", "on the pixels", "on the features", "fit on the features"]
    return _rst_grid(header, rows)


def _best_of_ours(records, dataset, suffix):
    fits = {m: summary(records, dataset, m + suffix) for m in _OURS}
    fits = {m: s for m, s in fits.items() if ranked(s)}
    if not fits:
        return "–"
    best = max(fits, key=lambda m: rank_key(fits[m]))
    return f"{_SHORT[best]} {_acc(fits[best])}"


def grey_table(records):
    """The grey sets of 5 seeds: pixels against features for KMeans, UMAP + KMeans, ours."""
    rows = []
    for case, dataset, title in _CASES:
        if dataset == "cifar10-4k":
            continue

        def both(method):
            cells = [summary(records, dataset, method + s) for s in ("", FEATURES_SUFFIX)]
            return " → ".join("–" if c is None else f"{c['median']:.3f}" for c in cells)

        rows.append(
            [
                title,
                both("kmeans"),
                both("umap-kmeans"),
                _best_of_ours(records, dataset, ""),
                _best_of_ours(records, dataset, FEATURES_SUFFIX),
            ]
        )
    header = ["set", "KMeans", "UMAP + KMeans", "best of ours: pixels", "features"]
    return _rst_grid(header, rows)


def _bold_ranked(cells):
    """Each cell's text, the best ranked one (``suite.rank_key``) in bold."""
    best = max(filter(ranked, cells), key=rank_key, default=None)

    def text(c):
        if c is None:
            return "–"
        return f"**{c['median']:.3f}** ({c['worst']:.3f})" if c is best else _acc(c)

    return [text(c) for c in cells]


def forty_table(records):
    """The two sets of 40 clusters of 10 images, every method on the pretrained features."""
    methods = (*_OURS, *_PEERS)
    columns = [
        _bold_ranked([summary(records, d, m + FEATURES_SUFFIX) for m in methods])
        for d in ("orl", "mixed40")
    ]
    rows = [[label(m), *cells] for m, *cells in zip(methods, *columns)]
    return _rst_grid(["method on the features", "ORL faces (400, 40)", "mixed40 (400, 40)"], rows)


TABLES = {
    ("README.rst", "headline-table"): readme_table,
    ("doc/user_guide.rst", "decision-table"): decision_table,
    ("doc/user_guide.rst", "photos-table"): photos_table,
    ("doc/user_guide.rst", "grey-table"): grey_table,
    ("doc/user_guide.rst", "forty-table"): forty_table,
}


def _between(text, name):
    start, end = f".. {name}-start\n", f".. {name}-end"
    head, rest = text.split(start, 1)
    body, tail = rest.split(end, 1)
    return head + start, body, end + tail


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", default=str(SUITE))
    parser.add_argument("--check", action="store_true", help="fail if a table is stale")
    args = parser.parse_args(argv)
    records = read_suite(args.suite)
    stale = []
    for path in dict.fromkeys(path for path, _ in TABLES):
        text = original = (ROOT / path).read_text()
        for name, build in ((n, b) for (p, n), b in TABLES.items() if p == path):
            head, body, tail = _between(text, name)
            fresh = "\n" + "\n".join(build(records)) + "\n\n"
            if body != fresh:
                stale.append(f"{path}: {name}")
                text = head + fresh + tail
        if text != original and not args.check:
            (ROOT / path).write_text(text)
    if stale and args.check:
        sys.exit("stale tables (run python benchmarks/headline.py): " + ", ".join(stale))
    print("rewrote: " + ", ".join(stale) if stale else "every table is up to date")


if __name__ == "__main__":
    main()
