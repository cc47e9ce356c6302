"""Tables and plots from the runner's results, and the page ``doc/benchmarks.rst``.

The page is written by the suite itself (``python benchmarks/run.py --suite``)
through :func:`write_page`: per set, a table and the ACC-vs-fit-time figure,
each traced to its commits and machine.  To rewrite it from the results
without fitting the cells still missing::

    python benchmarks/report.py benchmarks/results/suite.jsonl \\
        benchmarks/results/cpu-scaling.json --rst doc/benchmarks.rst --plots doc/images

and for the JSON file of any other run::

    python benchmarks/report.py benchmarks/results/cpu-scaling.json --rst /tmp/page.rst \\
        --plots /tmp/images

Accuracy tables give the median over seeds of each figure (with the range of
ACC when there are several seeds), and below our rows the numbers the papers
report, marked "(reported)".  Scaling files give fit time and peak memory
against n.  Figures need matplotlib (the ``bench`` extra).
"""

import argparse
import json
import os
import statistics
from collections import defaultdict

from methods import METHODS
from reported import REPORTED

_ACCURACY_HEADER = ["Method", "n", "Seeds", "ACC", "NMI", "ARI", "Clusters used", "Fit (s)",
                    "Predict (samples/s)", "Peak RSS (MB)", "Peak GPU (MB)", "Device"]
_SCALING_HEADER = ["Method", "n", "Epochs", "Fit (s)", "Peak RSS before fit (MB)", "Peak RSS (MB)",
                   "Peak GPU (MB)", "Device"]


def _fmt(value, digits=3):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def _median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def _groups(runs, key):
    groups = defaultdict(list)
    for run in runs:
        groups[key(run)].append(run)
    return groups


# Sets we fit whose papers' figures are on a larger set: (that set, its size as shown).
_REPORTED_ON = {"fashion-mnist-test": ("fashion-mnist", "70,000 (train + test)")}


def accuracy_tables(results):
    """``{dataset: (header, rows)}`` with medians over seeds and reported numbers."""
    tables = {}
    for dataset, runs in _groups(results["runs"], lambda r: r["dataset"]).items():
        rows = []
        for method, group in _groups(runs, lambda r: r["method"]).items():
            ok = [r for r in group if r["status"] == "ok"]
            if not ok:
                rows.append([method, "–", str(len(group)), group[0]["status"], *[""] * 8])
                continue
            acc = _fmt(_median(ok, "acc"))
            if len(ok) > 1:
                acc += f" ({min(r['acc'] for r in ok):.3f}–{max(r['acc'] for r in ok):.3f})"
            seeds = f"{len(ok)}" + ("" if len(ok) == len(group) else f" of {len(group)}")
            rows.append([method, _fmt(ok[0]["n"]), seeds, acc, _fmt(_median(ok, "nmi")),
                         _fmt(_median(ok, "ari")), _clusters_used(ok),
                         _fmt(_median(ok, "fit_s"), 1),
                         _fmt(_median(ok, "predict_samples_per_s"), 0),
                         _fmt(_median(ok, "peak_rss_mb"), 0), _fmt(_median(ok, "gpu_peak_mb"), 0),
                         ok[0]["device"]])
        paper_set, size = _REPORTED_ON.get(dataset, (dataset, "full set"))
        for method in dict.fromkeys(r["method"] for r in runs):
            paper = REPORTED.get((method, paper_set))
            if paper:
                rows.append([f"{method} (reported: {paper['source']})", size, "–",
                             _fmt(paper["acc"]), _fmt(paper["nmi"]), _fmt(paper.get("ari")),
                             *["–"] * 6])
        tables[dataset] = (_ACCURACY_HEADER, rows)
    return tables


def _clusters_used(runs):
    """Non-empty clusters of each fit, in seed order: ``"20, 20, 19"``."""
    return ", ".join(str(r["n_clusters_found"]) if "n_clusters_found" in r else "?"
                     for r in sorted(runs, key=lambda r: r["seed"]))


def scaling_table(results):
    rows = []
    runs = sorted(results["runs"], key=lambda r: (r["method"], r.get("subsample") or 0))
    for run in runs:
        if run["status"] != "ok":
            rows.append([run["method"], _fmt(run.get("subsample")), _fmt(run.get("epochs")),
                         run["status"], "", "", "", ""])
            continue
        # scikit-learn's methods have no epochs to override.
        epochs = "–" if run["family"] == "scikit-learn" else _fmt(run.get("epochs") or "default")
        rows.append([run["method"], _fmt(run["n"]), epochs,
                     _fmt(run["fit_s"], 1), _fmt(run.get("rss_before_fit_mb"), 0),
                     _fmt(run["peak_rss_mb"], 0),
                     _fmt(run.get("gpu_peak_mb"), 0), run["device"]])
    return _SCALING_HEADER, rows


def _tables(results):
    if results["meta"]["kind"] == "scaling":
        return {"scaling": scaling_table(results)}
    return accuracy_tables(results)


def markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rst_table(header, rows):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + (row[0] or " "))
        lines += ["     - " + (cell or " ") for cell in row[1:]]
    return "\n".join(lines)


def _describe(meta):
    machine, v = meta["machine"], meta["versions"]
    hardware = f"{machine['cpu']}, {machine['cpu_count']} cores"
    if machine.get("memory_gb"):
        hardware += f", {machine['memory_gb']:.0f} GiB"
    if machine.get("gpu"):
        hardware += f"; GPU {machine['gpu']}"
    software = ", ".join(f"{k} {v[k]}" for k in v if v[k]) + ", not installed: " + (
        ", ".join(k for k in v if not v[k]) or "none")
    return hardware, software


def write_markdown(results, path):
    hardware, software = _describe(results["meta"])
    parts = [f"Command: `{results['meta']['command']}`", "",
             f"Date: {results['meta']['date']}; machine: {hardware}; {software}", ""]
    for name, (header, rows) in _tables(results).items():
        parts += [f"## {name}", "", markdown(header, rows), ""]
    with open(path, "w") as f:
        f.write("\n".join(parts))


# One colour per method, the same in every figure: the runner's methods in
# its order on matplotlib's "tab10" cycle, any other name after them.
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"]


def method_colour(method):
    """The colour ``method`` has in every figure."""
    names = list(METHODS)
    index = names.index(method) if method in names else len(names) + sum(map(ord, method))
    return _PALETTE[index % len(_PALETTE)]


def acc_time_series(runs):
    """``{method: (fit_s, acc, acc_low, acc_high)}`` of the successful runs of one set.

    The medians over seeds, and the lowest and highest ACC of the seeds (the
    error bar).
    """
    series = {}
    for method, group in _groups([r for r in runs if r["status"] == "ok"],
                                 lambda r: r["method"]).items():
        accs = [r["acc"] for r in group]
        series[method] = (_median(group, "fit_s"), statistics.median(accs), min(accs), max(accs))
    return series


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def acc_time_figure(runs, folder):
    """Draw ACC against fit time for ``runs`` of one set and size; return the file name."""
    plt = _pyplot()
    dataset, n = runs[0]["dataset"], runs[0]["n"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for method, (fit_s, acc, low, high) in acc_time_series(runs).items():
        # Ours as circles, the peers as squares.
        ours = method in METHODS and METHODS[method][2] == "skdeepcluster"
        ax.errorbar(fit_s, acc, yerr=[[acc - low], [high - acc]], fmt="o" if ours else "s",
                    capsize=4, color=method_colour(method), label=method)
    ax.set(xscale="log", xlabel="fit time (s, log scale)", ylabel="ACC (median, seed range)",
           title=f"{dataset} (n={n:,}): skdeepcluster ●, peers ■")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    name = f"bench_acc_vs_time_{dataset}_{n}.png"
    os.makedirs(folder, exist_ok=True)
    fig.savefig(os.path.join(folder, name), dpi=90)
    plt.close(fig)
    return name


def plots(all_results, folder):
    """Write one ACC-vs-fit-time figure per set and the scaling figure; return the file names."""
    os.makedirs(folder, exist_ok=True)
    accuracy = [r for res in all_results if res["meta"]["kind"] == "accuracy"
                for r in res["runs"] if r["status"] == "ok"]
    # One figure per set and size: runs of one set at different sizes never share axes.
    written = [acc_time_figure(runs, folder)
               for runs in _groups(accuracy, lambda r: (r["dataset"], r["n"])).values()]
    scaling = [r for res in all_results if res["meta"]["kind"] == "scaling"
               for r in res["runs"] if r["status"] == "ok"]
    if scaling:
        plt = _pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for method, group in _groups(scaling, lambda r: r["method"]).items():
            group = sorted(group, key=lambda r: r["n"])
            n = [r["n"] for r in group]
            style = {"marker": "o", "label": method, "color": method_colour(method)}
            axes[0].plot(n, [r["fit_s"] for r in group], **style)
            axes[1].plot(n, [r["peak_rss_mb"] for r in group], **style)
        axes[0].set(xscale="log", yscale="log", xlabel="n", ylabel="fit time (s)")
        axes[1].set(xscale="log", yscale="log", xlabel="n", ylabel="peak RSS (MB)")
        axes[1].legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(os.path.join(folder, "bench_scaling.png"), dpi=90)
        plt.close(fig)
        written.append("bench_scaling.png")
    return written


_INTRO = """\
Benchmarks
==========

.. This page is generated by ``benchmarks/report.py`` from the JSON files the
   runner wrote; edit the preamble in ``benchmarks/report.py``, not here.

Where each estimator stands against scikit-learn's ``KMeans`` and
``SpectralClustering`` (nearest-neighbour affinity) on the same pixels,
against the deep clusterers of ClustPy (``DEC``, ``IDEC``, ``VaDE`` with their
defaults) and against the numbers the papers report.  Accuracy tables come
from the final model with default parameters (labels are used only for
scoring); scaling tables time a fixed number of epochs (their "Epochs"
column) on growing subsets, so growth in n shows without full fits.
NMI is scikit-learn's (arithmetic average; DCCS and some papers use the
geometric one).  "Predict" is ``predict`` on the training set, "Peak RSS" the
peak resident memory of the process that ran the fit (one fresh process per
fit).  Reproduce with ``pip install ".[bench]"`` and the commands below.
"""


def write_rst(all_results, path, images=()):
    parts = [_INTRO]
    for results in all_results:
        meta = results["meta"]
        hardware, software = _describe(meta)
        title = "Scaling" if meta["kind"] == "scaling" else "Accuracy and speed"
        title += f" ({meta['date'][:10]}, {'GPU' if meta['machine'].get('gpu') else 'CPU'})"
        parts += [title, "-" * len(title), "", "Command::", "", "    " + meta["command"], "",
                  f"Machine: {hardware}.", "", f"Versions: {software}.", ""]
        for name, (header, rows) in _tables(results).items():
            if meta["kind"] != "scaling":
                parts += [name, "~" * len(name), ""]
            parts += [rst_table(header, rows), ""]
    for image in images:
        parts += [f".. image:: {image}", "   :width: 100%", ""]
    with open(path, "w") as f:
        f.write("\n".join(parts))


# The suite's grid (``run.py --suite``): every method of methods.py on these sets and seeds,
# the cheap sets first, so a partial run fills whole tables.
SUITE_SETS = ("digits", "coil20-few", "orl", "mixed40", "mnist-test-2k", "coil20", "mnist-test",
              "fashion-mnist-test")
SEEDS = (0, 1, 2)


def suite_grid():
    """Every ``(method, dataset, seed)`` cell of the suite, in the order it runs them."""
    return [(m, d, s) for d in SUITE_SETS for s in SEEDS for m in METHODS]


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
    machines = _listing(_describe({"machine": r["machine"], "versions": {}})[0]
                        for r in runs if r.get("machine"))
    wall = sum(r.get("wall_s") or 0 for r in runs)
    return (f"{len(runs)} fits, {when}, commit {_listing(r.get('commit') for r in runs)}, "
            f"on {machines}; their processes took {_duration(wall)} in all")


_SUITE_INTRO = """\
Benchmarks
==========

.. This page is generated by ``benchmarks/run.py --suite`` (through
   ``benchmarks/report.py``) from ``benchmarks/results/suite.jsonl``; edit
   the text in ``benchmarks/report.py``, not here.

Every estimator of skdeepcluster with its default parameters, beside what a
practitioner would try instead on the same pixels: scikit-learn's ``KMeans``
and ``SpectralClustering`` (nearest-neighbour affinity), UMAP to 10
dimensions followed by ``KMeans`` (umap-learn), and ClustPy's ``DEC``,
``IDEC`` and ``VaDE`` with their defaults.  Each fit runs in a fresh process
on three seeds (0, 1, 2); labels are used only to score the final model.

- **ACC** is the Hungarian-matched accuracy, the median over seeds with the
  lowest and highest seed in brackets; NMI (scikit-learn's, arithmetic
  average; DCCS and some papers use the geometric one) and ARI are medians.
- **Clusters used** lists the non-empty clusters of each seed's fit: a fit
  that leaves a cluster empty has failed silently, whatever its ACC.
- **Fit** is the median fit time, **Predict** ``predict`` on the training set,
  **Peak RSS** the peak resident memory of the process that ran the fit.
- **Reported** rows are the papers' own figures.  They are not measured the
  same way: the papers train on their own splits, several released codes
  keep the epoch with the best accuracy against the labels, and some train
  for longer; we report the final model of a default fit.
"""


def write_page(suite_path, scaling_paths, page, folder, grid=None):
    """Write the benchmarks page: the suite, set by set, with its figures, then the scaling runs.

    ``grid``, the cells ``(method, dataset, seed)`` expected (default: the
    whole suite), lets the page say which of them have no result yet.
    """
    grid = suite_grid() if grid is None else grid
    runs = read_suite(suite_path)
    order = {name: i for i, name in enumerate(METHODS)}
    runs.sort(key=lambda r: (order.get(r["method"], len(order)), r["seed"]))
    by_set = _groups(runs, lambda r: r["dataset"])
    rel = os.path.relpath(os.path.abspath(folder), os.path.dirname(os.path.abspath(page))) \
        if folder else None
    source = os.path.relpath(os.path.abspath(suite_path), os.path.dirname(
        os.path.dirname(os.path.abspath(page))))
    latest = max(runs, key=lambda r: r.get("date", ""))
    _, software = _describe({"machine": latest["machine"], "versions": latest["versions"]})
    parts = [_SUITE_INTRO, "The suite", "---------", "",
             "One command runs the suite and regenerates this page; stopped, it continues "
             "where it stopped when started again::", "",
             "    pip install \".[bench]\"",
             "    python benchmarks/run.py --suite --data-home DIR", "",
             "where ``DIR`` holds ``mnist.npz``, ``fashion_mnist.npz``, ``coil20.npz``, "
             "``orl_faces.npz`` and ``mixed40.npz`` "
             "(see ``skdeepcluster.datasets``).",
             f"Raw results: ``{source}``, one line per fit with its date, commit and machine.", "",
             f"In this run: {_measured(runs)}.", "", f"Versions (latest fit): {software}.", ""]
    have = {cell(r) for r in runs}
    missing = [c for c in grid if c not in have]
    if missing:
        counts = _groups(missing, lambda c: c[1])
        parts += [f"**Partial:** {len(grid) - len(missing)} of the suite's {len(grid)} fits have "
                  "a result; still to run: " + ", ".join(
                      f"{name} ({len(cells)} fits)" for name, cells in counts.items()) + ".", ""]
    sets = list(by_set)
    methods = list(dict.fromkeys(r["method"] for r in runs))
    overview = []
    for method in methods:
        row = [method]
        for name in sets:
            # The set's clusters: KMeans, for one, always fills every one it is asked for.
            k = max(r.get("n_clusters_found", 0) for r in by_set[name])
            ok = [r for r in by_set[name] if r["method"] == method and r["status"] == "ok"]
            acc = _fmt(_median(ok, "acc")) if ok else "–"
            if any(r["n_clusters_found"] < k for r in ok):
                acc += f" (clusters used: {_clusters_used(ok)} of {k})"
            if ok and len(ok) < len(SEEDS):
                acc += f" ({len(ok)} seed{'s' * (len(ok) > 1)})"
            row.append(acc)
        overview.append(row)
    parts += ["Overview", "~~~~~~~~", "",
              "ACC, median over the seeds; every fit used every cluster unless its cell "
              "says otherwise, and a cell with fewer than three seeds says how many it has.", "",
              rst_table(["Method", *sets], overview), ""]
    tables = accuracy_tables({"runs": runs})
    for name in sets:
        n = max((r["n"] for r in by_set[name] if r["status"] == "ok"), default=None)
        title = f"{name} (n={n:,})" if n else name
        parts += [title, "-" * len(title), "", f"Measured: {_measured(by_set[name])}.", "",
                  rst_table(*tables[name]), ""]
        ok = [r for r in by_set[name] if r["status"] == "ok"]
        if ok and folder:
            image = acc_time_figure(ok, folder)
            parts += [f".. image:: {os.path.join(rel, image)}", "   :width: 90%",
                      f"   :alt: ACC against fit time on {name}", ""]
    for path in scaling_paths:
        with open(path) as f:
            results = json.load(f)
        hardware, software = _describe(results["meta"])
        title = f"Scaling ({results['meta']['date'][:10]})"
        parts += [title, "-" * len(title), "",
                  "Fit time and peak memory on growing subsets, for a fixed number of epochs "
                  "(the Epochs column), so growth in n shows without full fits.  Command::", "",
                  "    " + results["meta"]["command"], "",
                  f"Machine: {hardware}.", "", f"Versions: {software}.", "",
                  rst_table(*scaling_table(results)), ""]
        if folder:
            for image in plots([results], folder):
                parts += [f".. image:: {os.path.join(rel, image)}", "   :width: 90%", ""]
    with open(page, "w") as f:
        f.write("\n".join(parts))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+",
                        help="files written by run.py: the suite's .jsonl (then the others are "
                             "its scaling runs) or .json files of other runs")
    parser.add_argument("--rst", help="write this reStructuredText page")
    parser.add_argument("--plots", help="folder for the PNG figures")
    args = parser.parse_args()
    suites = [path for path in args.results if path.endswith(".jsonl")]
    if suites:  # the benchmarks page, without fitting anything
        if len(suites) > 1 or not args.rst:
            parser.error("give one suite file (.jsonl) and --rst")
        write_page(suites[0], [p for p in args.results if p not in suites], args.rst, args.plots)
        print(f"wrote {args.rst}")
        return
    all_results = []
    for path in args.results:
        with open(path) as f:
            all_results.append(json.load(f))
    images = plots(all_results, args.plots) if args.plots else []
    if args.rst:
        rel = os.path.relpath(os.path.abspath(args.plots),
                              os.path.dirname(os.path.abspath(args.rst))) if images else ""
        write_rst(all_results, args.rst, [os.path.join(rel, name) for name in images])
        print(f"wrote {args.rst}")
    for results in all_results:
        for name, (header, rows) in _tables(results).items():
            print(f"\n{name}\n" + markdown(header, rows))


if __name__ == "__main__":
    main()
