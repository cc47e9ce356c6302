"""The benchmarks page, ``doc/benchmarks.rst``, from the suite's records.

Written by the suite itself (``python benchmarks/run.py --suite``) or, without
fitting anything, by ``python benchmarks/report.py benchmarks/results/suite.jsonl
benchmarks/results/cpu-scaling.json --rst doc/benchmarks.rst --plots doc/images``.
It opens with a summary a user can choose from in a minute (the best estimator
of each set against the best peer), then an overview of every
method on every set, then a table and a figure per set, then the scaling runs.
"""

import json
import os
import re
import statistics

from methods import FEATURE_METHODS, METHODS, is_ours, label
from reported import PAPER_NAMES
from suite import SEEDS, cell, rank_key, ranked, read_suite, suite_grid, summary
from tables import (
    acc_time_figure,
    accuracy_tables,
    describe,
    fmt,
    groups,
    median,
    plots,
    rst_table,
)

# What each set is called on the page.
SET_LABELS = {
    "digits": "sklearn digits",
    "coil20-few": "COIL-20, 10 per object",
    "orl": "ORL faces",
    "mixed40": "mixed40",
    "mnist-test-2k": "MNIST-test 2,000",
    "coil20": "COIL-20",
    "cifar10-4k": "CIFAR-10 4,000 (colour)",
    "mnist-test": "MNIST-test",
    "fashion-mnist-test": "Fashion-MNIST test",
}
# Columns of the per-set tables folded into the "Measured" line when every fit has one value.
_FOLDABLE = ("Seeds", "Peak GPU (MB)", "Device")


def _duration(seconds):
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _listing(values):
    return ", ".join(dict.fromkeys(v for v in values if v)) or "unknown"


def _measured(runs):
    """Where, when and at which commit ``runs`` were measured, and what they cost."""
    dates = sorted(r["date"][:10] for r in runs if r.get("date"))
    if not dates:
        when = "unknown dates"
    else:
        when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    machines = _listing(
        describe({"machine": r["machine"], "versions": {}})[0] for r in runs if r.get("machine")
    )
    wall = sum(r.get("wall_s") or 0 for r in runs)
    return (
        f"{len(runs)} fits, {when}, commit {_listing(r.get('commit') for r in runs)}, "
        f"on {machines}; their processes took {_duration(wall)} in all"
    )


def _name(method):
    """A method's cell: ours by class name, the peers marked as such."""
    return f"``{label(method)}``" if is_ours(method) else f"*peer:* {label(method)}"


def _set_title(name, runs):
    n = max((r["n"] for r in runs if r["status"] == "ok"), default=None)
    return f"{SET_LABELS.get(name, name)} (n={n:,})" if n else SET_LABELS.get(name, name)


def _used_every_cluster(runs, method):
    """Whether every successful fit of ``method`` among one set's ``runs`` filled every cluster."""
    # The set's clusters: KMeans, for one, always fills every one it is asked for.
    k = max(r.get("n_clusters_found", 0) for r in runs)
    return all(
        r["n_clusters_found"] >= k for r in runs if r["method"] == method and r["status"] == "ok"
    )


def _method_rank(method):
    """Where ``method`` sorts: ours first, in the runner's order, then any other name."""
    names = list(METHODS)
    return names.index(method) if method in names else len(names)


def _missing_text(missing):
    """``"ClustPy DEC and ClustPy IDEC on cifar10-4k, seeds 0-2"``: the cells without a result."""
    parts = []
    for name, cells in groups(missing, lambda c: c[1]).items():
        for seeds, group in groups(
            cells, lambda c: tuple(s for m, d, s in cells if m == c[0])
        ).items():
            methods = _and_list([label(m) for m in dict.fromkeys(c[0] for c in group)])
            listed = ", ".join(map(str, seeds))
            parts.append(f"{methods} on {SET_LABELS.get(name, name)} (seeds {listed})")
    return "; ".join(parts)


def _and_list(names):
    """``"a, b and c"``."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _summary(by_set):
    """For each set: our best method and the best peer (by median ACC), their seeds, our lead.

    Only fits ``suite.ranked`` admits are named (five seeds or more, every cluster used).
    """
    rows = []
    for name, runs in by_set.items():
        fits = [summary(runs, name, m) for m in dict.fromkeys(r["method"] for r in runs)]
        fits = list(filter(ranked, fits))
        ours = max((f for f in fits if is_ours(f["method"])), key=rank_key, default=None)
        if ours is None:
            continue
        theirs = max((f for f in fits if not is_ours(f["method"])), key=rank_key, default=None)
        best, peer = ours["method"], theirs and theirs["method"]
        lead = "–" if peer is None else f"{ours['median'] - theirs['median']:+.3f}"
        rows.append(
            [
                _set_title(name, runs),
                _name(best),
                _median_cell(runs, best),
                "–" if peer is None else label(peer),
                "–" if peer is None else _median_cell(runs, peer),
                lead,
            ]
        )
    return rows


def _summary_table(by_set):
    rows = _summary(by_set)
    if not rows:
        return "(No set has five seeds of our estimators yet: none is named.)"
    header = ["Set", "Best of ours", "ACC (seed range)", "Best peer", "ACC (seed range)", "Lead"]
    return rst_table(header, rows)


def _median_cell(runs, method):
    """``"0.803 (0.803–0.824)"``: the median ACC of ``method`` over its seeds and their range."""
    accs = [r["acc"] for r in runs if r["method"] == method and r["status"] == "ok"]
    text = f"{statistics.median(accs):.3f} ({min(accs):.3f}–{max(accs):.3f})"
    return text if _used_every_cluster(runs, method) else text + " (some clusters left empty)"


def _bold_best(rows, column, fits):
    """Bold the leading number of ``column`` in the row of the best ranked fit (``suite.rank_key``).

    ``fits`` holds each row's summary (``None`` for a row that is not a fit of ours or a peer's).
    """
    best = max(filter(ranked, fits), key=rank_key, default=None)
    for row, fit in zip(rows, fits):
        if fit is not None and fit is best:
            first, *rest = re.split(r"(?=\s)", row[column], maxsplit=1)  # \s: NBSP too
            row[column] = f"**{first}**" + "".join(rest)


def _set_table(name, runs):
    """The set's table: class names, the best ACC in bold, constant columns folded.

    Returns the header, the rows and what the folded columns said.
    """
    header, rows = accuracy_tables({"runs": runs})[name]
    measured = [" (reported: " not in row[0] for row in rows]
    methods = [row[0].partition(" (reported: ")[0] for row in rows]
    for row, m, method in zip(rows, measured, methods):
        source = row[0].partition(" (reported: ")[2]
        if m:
            row[0] = _name(method)
        else:  # the paper's method, not the peer library that implements it here
            name = PAPER_NAMES.get(method, label(method))
            row[0] = f"{name} (reported: {source[:-1]}; {row[1]})"
    folded = {}
    for column in _FOLDABLE:
        i = header.index(column)
        values = {row[i] for row, m in zip(rows, measured) if m}
        if len(values) == 1 and (column != "Seeds" or values == {str(len(SEEDS))}):
            folded[column] = values.pop()
    keep = [i for i, h in enumerate(header) if h != "n" and h not in folded]
    header = [("ACC (seed range)" if header[i] == "ACC" else header[i]) for i in keep]
    rows = [[row[i] for i in keep] for row in rows]
    fits = [summary(runs, name, method) if m else None for m, method in zip(measured, methods)]
    _bold_best(rows, header.index("ACC (seed range)"), fits)
    return header, rows, folded


def _features_text(runs):
    """What the set's methods on features clustered: the network, and the time its rows took."""
    done = {(r["features"], r["feature_s"], r["n"]) for r in runs if r.get("feature_s")}
    return "".join(
        f"  Features: {model}, {seconds:.0f} s for the {n:,} images (once, for every "
        "method on features)."
        for model, seconds, n in sorted(done)
    )


def _folded_text(folded):
    parts = []
    if "Seeds" in folded:
        parts.append(f"{folded['Seeds']} seeds per method")
    if "Device" in folded:
        parts.append(f"device {folded['Device']}")
    if folded.get("Peak GPU (MB)") == "–":
        parts.append("no GPU")
    return "; ".join(parts)


_SUITE_INTRO = """\
Benchmarks
==========

.. This page is generated by ``benchmarks/run.py --suite`` (through
   ``benchmarks/page.py``) from ``benchmarks/results/suite.jsonl``; edit
   the text in ``benchmarks/page.py``, not here.

Every estimator of skdeepcluster with its default parameters, beside what a
practitioner would try instead on the same pixels: scikit-learn's ``KMeans``
and ``SpectralClustering`` (nearest-neighbour affinity), UMAP to 10
dimensions followed by ``KMeans`` (umap-learn), and ClustPy's ``DEC``,
``IDEC`` and ``VaDE`` with their defaults.  Each fit runs in a fresh process;
labels are used only to score the final model.  The sets of up to 2,000
images and CIFAR-10's features are fitted on five seeds (0-4), the larger sets
and ClustPy's methods on three (0-2): a fit of 10,000 images takes 2 to 11
minutes on two CPU cores.  Our estimators appear under their class names
(``DCCSClustering``), the peers after them, marked *peer*.  A best is named
(in bold) only among fits of five seeds that used every cluster in every
seed: one fit of a deep estimator is one draw, and three draws crowned lucky
ones.

On the colour photos (CIFAR-10) and the grey sets of up to 4,000 images the
suite also clusters pretrained features, the rows ``PretrainedFeatures()``
gives (EfficientNet-Lite0's ImageNet features, from the ``pretrained``
extra): our four estimators and ``KMeans``, ``SpectralClustering`` and UMAP +
``KMeans`` on the same rows, named "... on features", as
``make_pipeline(PretrainedFeatures(), estimator)`` would fit them.  The
features are computed once per set; their time is given with the set, apart
from the fit times.
"""

_DEFINITIONS = """\
- **ACC** is the Hungarian-matched accuracy, the median over seeds with the
  lowest and highest seed in brackets; NMI (scikit-learn's, arithmetic
  average; DCCS and some papers use the geometric one) and ARI are medians.
- **Clusters used** lists the non-empty clusters of each seed's fit: a fit
  that leaves a cluster empty has failed silently, whatever its ACC.
- **Fit** is the median fit time, **Predict** ``predict`` on the training set,
  **Peak RSS** the peak resident memory of the process that ran the fit.
- **Commit** is the package's checked-out commit when the fit ran, marked
  ``+dirty`` when the package had uncommitted changes (the "Measured" lines
  name every commit of a set's fits).
- **Reported** rows are the papers' own figures.  They are not measured the
  same way: the papers train on their own splits, several released codes
  keep the epoch with the best accuracy against the labels, and some train
  for longer; we report the final model of a default fit.
"""


def _overview(by_set, runs, grid):
    """ACC medians, a row per method and a column per set; the best of each column in bold.

    A cell with fewer seeds than ``grid`` asks of it says how many it has.
    """
    sets, methods = list(by_set), list(dict.fromkeys(r["method"] for r in runs))
    rows = []
    for method in methods:
        row = [_name(method)]
        for name in sets:
            ok = [r for r in by_set[name] if r["method"] == method and r["status"] == "ok"]
            acc = fmt(median(ok, "acc")) if ok else "–"
            if not _used_every_cluster(by_set[name], method):
                acc += "\u00a0†"  # said under the table (no break: the cells stay short)
            if ok and len(ok) < sum(c[:2] == (method, name) for c in grid):
                acc += f" ({len(ok)} seed{'s' * (len(ok) > 1)})"
            row.append(acc)
        rows.append(row)
    for column, name in enumerate(sets, start=1):
        _bold_best(rows, column, [summary(by_set[name], name, m) for m in methods])
    return ["Method", *(SET_LABELS.get(name, name) for name in sets)], rows


def _scaling_pivot(results):
    """A row per method (ours first), a column per n: fit time and peak memory, or the failure."""
    sizes = sorted({r["subsample"] for r in results["runs"] if r.get("subsample")})
    rows = []
    for method, group in sorted(
        groups(results["runs"], lambda r: r["method"]).items(),
        key=lambda item: _method_rank(item[0]),
    ):
        by_n = {r["subsample"]: r for r in group}
        row = [_name(method)]
        for n in sizes:
            run = by_n.get(n)
            row.append(
                "–"
                if run is None
                else run["status"]
                if run["status"] != "ok"
                else f"{run['fit_s']:.1f} s, {run['peak_rss_mb']:,.0f} MB"
            )
        rows.append(row)
    return ["Method", *(f"n={n:,}" for n in sizes)], rows


def _scaling_section(path, rel, folder, suite_date):
    with open(path) as f:
        results = json.load(f)
    hardware, software = describe(results["meta"])
    measured = {r["method"] for r in results["runs"]}
    absent = [
        label(m) for m in METHODS if is_ours(m) and m not in FEATURE_METHODS and m not in measured
    ]
    commit = _listing([results["meta"].get("commit")] + [r.get("commit") for r in results["runs"]])
    date = results["meta"]["date"][:10]
    title = f"Scaling ({date})"
    parts = [
        title,
        "-" * len(title),
        "",
        f"**Measured {date}, commit {commit}"
        + (" (the runner did not yet record it)" if commit == "unknown" else "")
        + ", and not re-run since**"
        + (
            f"; {_and_list(absent)} {'are' if len(absent) > 1 else 'is'} not in it"
            if absent
            else ""
        )
        + (".  The accuracy tables above are newer." if date < suite_date[:10] else ".")
        + "  A fit over the timeout says so in its row.",
        "",
        "Fit time and peak memory (of the fit's process) on growing subsets of MNIST, "
        "for a fixed number of epochs of every deep fit (``--epochs`` in the command), "
        "so growth in n shows without full fits.  Command::",
        "",
        "    " + results["meta"]["command"],
        "",
        f"Machine: {hardware}.",
        "",
        f"Versions: {software}.",
        "",
        rst_table(*_scaling_pivot(results)),
        "",
    ]
    if folder:
        for image in plots([results], folder):
            parts += [
                f".. image:: {os.path.join(rel, image)}",
                "   :width: 100%",
                "   :alt: fit time and peak memory against n",
                "",
            ]
    return parts


def write_page(suite_path, scaling_paths, page, folder, grid=None):
    """Write the benchmarks page: a summary, an overview, each set with its figure, the scaling.

    ``grid``, the cells ``(method, dataset, seed)`` expected (default: the
    whole suite), lets the page say which of them have no result yet.
    """
    grid = suite_grid() if grid is None else grid
    runs = read_suite(suite_path)
    runs.sort(key=lambda r: (_method_rank(r["method"]), r["seed"]))
    by_set = groups(runs, lambda r: r["dataset"])
    rel = (
        os.path.relpath(os.path.abspath(folder), os.path.dirname(os.path.abspath(page)))
        if folder
        else None
    )
    source = os.path.relpath(
        os.path.abspath(suite_path), os.path.dirname(os.path.dirname(os.path.abspath(page)))
    )
    latest = max(runs, key=lambda r: r.get("date", ""))
    _, software = describe({"machine": latest["machine"], "versions": latest["versions"]})
    parts = [_SUITE_INTRO]
    have = {cell(r) for r in runs}
    missing = [c for c in grid if c not in have]
    if missing:
        parts += [
            f"**Partial:** {len(grid) - len(missing)} of the suite's {len(grid)} fits have "
            "a result; still to run: " + _missing_text(missing) + ".",
            "",
        ]
    parts += [
        "In a minute",
        "-----------",
        "",
        "Our best estimator of each set by median ACC over five seeds, the range its "
        "seeds spanned (one fit can land anywhere in it), the best peer on the same set "
        "(on the pixels or on the same pretrained features) and our lead over it; "
        "only fits of five seeds that used every cluster are named, so the sets of "
        "three seeds are in the overview only.  Which "
        "to take for your images, and what each costs: "
        ":ref:`which-estimator`.",
        "",
        _summary_table(by_set),
        "",
        "Overview",
        "~~~~~~~~",
        "",
        "ACC, median over the seeds (five on the sets of up to 2,000 images and on "
        "CIFAR-10's features, three elsewhere and for ClustPy); a cell with fewer seeds "
        "than its set's grid says how many it has.  Bold: the best of a column among "
        "the fits of five seeds that used every cluster.",
        "",
        rst_table(*_overview(by_set, runs, grid)),
        "",
        "† Clusters left empty in at least one seed's fit (a silent failure, whatever the "
        "ACC): the set's table lists the clusters each fit used.  Every other fit used "
        "every cluster.",
        "",
        "The suite",
        "---------",
        "",
        _DEFINITIONS,
        "One command runs the suite and regenerates this page; stopped, it continues "
        "where it stopped when started again::",
        "",
        '    pip install ".[bench]"',
        "    python benchmarks/run.py --suite --data-home DIR",
        "",
        "where ``DIR`` holds ``mnist.npz``, ``fashion_mnist.npz``, ``coil20.npz``, "
        "``orl_faces.npz``, ``mixed40.npz`` and ``cifar10_4k.npz`` (see "
        "``skdeepcluster.datasets``).",
        f"Raw results: ``{source}``, one line per fit with its date, commit and machine.",
        "",
        f"In this run: {_measured(runs)}.",
        "",
        f"Versions (latest fit): {software}.",
        "",
    ]
    for name, set_runs in by_set.items():
        title = _set_title(name, set_runs)
        header, rows, folded = _set_table(name, set_runs)
        extra = _folded_text(folded)
        parts += [
            title,
            "-" * len(title),
            "",
            f"Measured: {_measured(set_runs)}"
            + (f"; {extra}" if extra else "")
            + "."
            + _features_text(set_runs),
            "",
            rst_table(header, rows),
            "",
        ]
        ok = [r for r in set_runs if r["status"] == "ok"]
        if ok and folder:
            image = acc_time_figure(ok, folder, SET_LABELS.get(name, name))
            parts += [
                f".. image:: {os.path.join(rel, image)}",
                "   :width: 100%",
                f"   :alt: ACC against fit time on {SET_LABELS.get(name, name)}",
                "",
            ]
    for path in scaling_paths:
        parts += _scaling_section(path, rel, folder, latest.get("date", ""))
    with open(page, "w") as f:
        f.write("\n".join(parts))
