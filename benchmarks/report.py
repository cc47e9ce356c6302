"""Tables and plots from the runner's results, and the page ``doc/benchmarks.rst``.

The page is written by the suite itself (``python benchmarks/run.py --suite``)
through :func:`page.write_page`: per set, a table and the ACC-vs-fit-time figure,
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

from methods import FEATURES_SUFFIX, METHODS, is_ours, label, on_features
from reported import REPORTED

_ACCURACY_HEADER = [
    "Method",
    "n",
    "Seeds",
    "ACC",
    "NMI",
    "ARI",
    "Clusters used",
    "Fit (s)",
    "Predict (samples/s)",
    "Peak RSS (MB)",
    "Peak GPU (MB)",
    "Device",
]
_SCALING_HEADER = [
    "Method",
    "n",
    "Epochs",
    "Fit (s)",
    "Peak RSS before fit (MB)",
    "Peak RSS (MB)",
    "Peak GPU (MB)",
    "Device",
]


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
            rows.append(
                [
                    method,
                    _fmt(ok[0]["n"]),
                    seeds,
                    acc,
                    _fmt(_median(ok, "nmi")),
                    _fmt(_median(ok, "ari")),
                    _clusters_used(ok),
                    _fmt(_median(ok, "fit_s"), 1),
                    _fmt(_median(ok, "predict_samples_per_s"), 0),
                    _fmt(_median(ok, "peak_rss_mb"), 0),
                    _fmt(_median(ok, "gpu_peak_mb"), 0),
                    ok[0]["device"],
                ]
            )
        paper_set, size = _REPORTED_ON.get(dataset, (dataset, "full set"))
        for method in dict.fromkeys(r["method"] for r in runs):
            paper = REPORTED.get((method, paper_set))
            if paper:
                rows.append(
                    [
                        f"{method} (reported: {paper['source']})",
                        size,
                        "–",
                        _fmt(paper["acc"]),
                        _fmt(paper["nmi"]),
                        _fmt(paper.get("ari")),
                        *["–"] * 6,
                    ]
                )
        tables[dataset] = (_ACCURACY_HEADER, rows)
    return tables


def _clusters_used(runs):
    """Non-empty clusters of each fit, in seed order: ``"20, 20, 19"``."""
    return ", ".join(
        str(r["n_clusters_found"]) if "n_clusters_found" in r else "?"
        for r in sorted(runs, key=lambda r: r["seed"])
    )


def scaling_table(results):
    rows = []
    runs = sorted(results["runs"], key=lambda r: (r["method"], r.get("subsample") or 0))
    for run in runs:
        if run["status"] != "ok":
            rows.append(
                [
                    run["method"],
                    _fmt(run.get("subsample")),
                    _fmt(run.get("epochs")),
                    run["status"],
                    "",
                    "",
                    "",
                    "",
                ]
            )
            continue
        # scikit-learn's methods have no epochs to override.
        epochs = "–" if run["family"] == "scikit-learn" else _fmt(run.get("epochs") or "default")
        rows.append(
            [
                run["method"],
                _fmt(run["n"]),
                epochs,
                _fmt(run["fit_s"], 1),
                _fmt(run.get("rss_before_fit_mb"), 0),
                _fmt(run["peak_rss_mb"], 0),
                _fmt(run.get("gpu_peak_mb"), 0),
                run["device"],
            ]
        )
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
    software = (
        ", ".join(f"{k} {v[k]}" for k in v if v[k])
        + ", not installed: "
        + (", ".join(k for k in v if not v[k]) or "none")
    )
    return hardware, software


def write_markdown(results, path):
    hardware, software = _describe(results["meta"])
    parts = [
        f"Command: `{results['meta']['command']}`",
        "",
        f"Date: {results['meta']['date']}; machine: {hardware}; {software}",
        "",
    ]
    for name, (header, rows) in _tables(results).items():
        parts += [f"## {name}", "", markdown(header, rows), ""]
    with open(path, "w") as f:
        f.write("\n".join(parts))


# One colour per method, the same in every figure: the runner's methods in
# its order on matplotlib's "tab10" cycle, any other name after them.
_PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


def method_colour(method):
    """The colour ``method`` has in every figure (on features, its colour on the pixels)."""
    if on_features(method):
        method = method[: -len(FEATURES_SUFFIX)]
    names = list(METHODS)
    index = names.index(method) if method in names else len(names) + sum(map(ord, method))
    return _PALETTE[index % len(_PALETTE)]


def acc_time_series(runs):
    """``{method: (fit_s, acc, acc_low, acc_high)}`` of the successful runs of one set.

    The medians over seeds, and the lowest and highest ACC of the seeds (the
    error bar).
    """
    series = {}
    for method, group in _groups(
        [r for r in runs if r["status"] == "ok"], lambda r: r["method"]
    ).items():
        accs = [r["acc"] for r in group]
        series[method] = (_median(group, "fit_s"), statistics.median(accs), min(accs), max(accs))
    return series


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def acc_time_figure(runs, folder, title=None):
    """Draw ACC against fit time for ``runs`` of one set and size; return the file name."""
    plt = _pyplot()
    dataset, n = runs[0]["dataset"], runs[0]["n"]
    # Sized to be shown at the page's width (about 800 pixels) with a legend that reads there.
    fig, ax = plt.subplots(figsize=(8, 4.4))
    series = acc_time_series(runs)
    for method, (fit_s, acc, low, high) in series.items():
        # Ours as circles, the peers as squares; filled on the pixels, hollow on features.
        colour = method_colour(method)
        ax.errorbar(
            fit_s,
            acc,
            yerr=[[acc - low], [high - acc]],
            fmt="o" if is_ours(method) else "s",
            markersize=8,
            capsize=4,
            color=colour,
            label=label(method),
            markeredgewidth=2,
            markerfacecolor="white" if on_features(method) else colour,
        )
    hollow = (
        ";\nfilled: on the pixels, hollow: on features" if any(map(on_features, series)) else ""
    )
    ax.set(
        xscale="log",
        xlabel="fit time (s, log scale)",
        ylabel="ACC (median, seed range)",
        title=f"{title or dataset} (n={n:,}): skdeepcluster ●, peers ■{hollow}",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=10, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    name = f"bench_acc_vs_time_{dataset}_{n}.png"
    os.makedirs(folder, exist_ok=True)
    fig.savefig(os.path.join(folder, name), dpi=100)
    plt.close(fig)
    return name


def plots(all_results, folder):
    """Write one ACC-vs-fit-time figure per set and the scaling figure; return the file names."""
    os.makedirs(folder, exist_ok=True)
    accuracy = [
        r
        for res in all_results
        if res["meta"]["kind"] == "accuracy"
        for r in res["runs"]
        if r["status"] == "ok"
    ]
    # One figure per set and size: runs of one set at different sizes never share axes.
    written = [
        acc_time_figure(runs, folder)
        for runs in _groups(accuracy, lambda r: (r["dataset"], r["n"])).values()
    ]
    scaling = [
        r
        for res in all_results
        if res["meta"]["kind"] == "scaling"
        for r in res["runs"]
        if r["status"] == "ok"
    ]
    if scaling:
        plt = _pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(10, 5))
        for method, group in _groups(scaling, lambda r: r["method"]).items():
            group = sorted(group, key=lambda r: r["n"])
            n = [r["n"] for r in group]
            style = {
                "marker": "o" if is_ours(method) else "s",
                "label": label(method),
                "color": method_colour(method),
            }
            axes[0].plot(n, [r["fit_s"] for r in group], **style)
            axes[1].plot(n, [r["peak_rss_mb"] for r in group], **style)
        axes[0].set(
            xscale="log", yscale="log", xlabel="n (images)", ylabel="fit time (s)", title="Fit time"
        )
        axes[1].set(
            xscale="log",
            yscale="log",
            xlabel="n (images)",
            ylabel="peak RSS (MB)",
            title="Peak memory",
        )
        epochs = sorted({str(r.get("epochs")) for r in scaling if r.get("epochs")})
        fig.suptitle(
            f"Scaling: fit time and peak memory against n ({', '.join(epochs) or 'default'} "
            "epoch(s) per deep fit)",
            fontsize=13,
        )
        fig.legend(
            *axes[0].get_legend_handles_labels(),
            loc="lower center",
            ncol=4,
            fontsize=10,
            frameon=False,
        )
        fig.tight_layout(rect=(0, 0.12, 1, 1))
        fig.savefig(os.path.join(folder, "bench_scaling.png"), dpi=100)
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
        parts += [
            title,
            "-" * len(title),
            "",
            "Command::",
            "",
            "    " + meta["command"],
            "",
            f"Machine: {hardware}.",
            "",
            f"Versions: {software}.",
            "",
        ]
        for name, (header, rows) in _tables(results).items():
            if meta["kind"] != "scaling":
                parts += [name, "~" * len(name), ""]
            parts += [rst_table(header, rows), ""]
    for image in images:
        parts += [f".. image:: {image}", "   :width: 100%", ""]
    with open(path, "w") as f:
        f.write("\n".join(parts))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "results",
        nargs="+",
        help="files written by run.py: the suite's .jsonl (then the others are "
        "its scaling runs) or .json files of other runs",
    )
    parser.add_argument("--rst", help="write this reStructuredText page")
    parser.add_argument("--plots", help="folder for the PNG figures")
    args = parser.parse_args()
    suites = [path for path in args.results if path.endswith(".jsonl")]
    if suites:  # the benchmarks page, without fitting anything
        from page import write_page

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
        rel = (
            os.path.relpath(os.path.abspath(args.plots), os.path.dirname(os.path.abspath(args.rst)))
            if images
            else ""
        )
        write_rst(all_results, args.rst, [os.path.join(rel, name) for name in images])
        print(f"wrote {args.rst}")
    for results in all_results:
        for name, (header, rows) in _tables(results).items():
            print(f"\n{name}\n" + markdown(header, rows))


if __name__ == "__main__":
    main()
