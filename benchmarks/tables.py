"""Tables and figures of the runner's results, shared by the page and the report command.

Accuracy tables give the median over seeds of each figure (with the range of
ACC when there are several seeds), and below our rows the numbers the papers
report, marked "(reported)".  Scaling tables give fit time and peak memory
against n.  Figures need matplotlib (the ``bench`` extra).
"""

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


def fmt(value, digits=3):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def groups(runs, key):
    groups = defaultdict(list)
    for run in runs:
        groups[key(run)].append(run)
    return groups


# Sets we fit whose papers' figures are on a larger set: (that set, its size as shown).
_REPORTED_ON = {"fashion-mnist-test": ("fashion-mnist", "70,000 (train + test)")}


def accuracy_tables(results):
    """``{dataset: (header, rows)}`` with medians over seeds and reported numbers."""
    tables = {}
    for dataset, runs in groups(results["runs"], lambda r: r["dataset"]).items():
        rows = []
        for method, group in groups(runs, lambda r: r["method"]).items():
            ok = [r for r in group if r["status"] == "ok"]
            if not ok:
                rows.append([method, "–", str(len(group)), group[0]["status"], *[""] * 8])
                continue
            acc = fmt(median(ok, "acc"))
            if len(ok) > 1:
                acc += f" ({min(r['acc'] for r in ok):.3f}–{max(r['acc'] for r in ok):.3f})"
            seeds = f"{len(ok)}" + ("" if len(ok) == len(group) else f" of {len(group)}")
            rows.append(
                [
                    method,
                    fmt(ok[0]["n"]),
                    seeds,
                    acc,
                    fmt(median(ok, "nmi")),
                    fmt(median(ok, "ari")),
                    _clusters_used(ok),
                    fmt(median(ok, "fit_s"), 1),
                    fmt(median(ok, "predict_samples_per_s"), 0),
                    fmt(median(ok, "peak_rss_mb"), 0),
                    fmt(median(ok, "gpu_peak_mb"), 0),
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
                        fmt(paper["acc"]),
                        fmt(paper["nmi"]),
                        fmt(paper.get("ari")),
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
                    fmt(run.get("subsample")),
                    fmt(run.get("epochs")),
                    run["status"],
                    "",
                    "",
                    "",
                    "",
                ]
            )
            continue
        # scikit-learn's methods have no epochs to override.
        epochs = "–" if run["family"] == "scikit-learn" else fmt(run.get("epochs") or "default")
        rows.append(
            [
                run["method"],
                fmt(run["n"]),
                epochs,
                fmt(run["fit_s"], 1),
                fmt(run.get("rss_before_fit_mb"), 0),
                fmt(run["peak_rss_mb"], 0),
                fmt(run.get("gpu_peak_mb"), 0),
                run["device"],
            ]
        )
    return _SCALING_HEADER, rows


def tables(results):
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


def describe(meta):
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
    for method, group in groups(
        [r for r in runs if r["status"] == "ok"], lambda r: r["method"]
    ).items():
        accs = [r["acc"] for r in group]
        series[method] = (median(group, "fit_s"), statistics.median(accs), min(accs), max(accs))
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
    # Sized to be shown at the page's width (about 800 pixels) with a legend that reads there;
    # the constrained layout keeps the title and the legend outside the axes inside the figure.
    fig, ax = plt.subplots(figsize=(8, 4.6), layout="constrained")
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
    ax.set(xscale="log", xlabel="fit time (s, log scale)", ylabel="ACC (median, seed range)")
    fig.suptitle(f"{title or dataset} (n={n:,}): skdeepcluster ●, peers ■{hollow}", fontsize=11)
    ax.grid(alpha=0.3)
    fig.legend(fontsize=10, loc="outside right center")
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
        for runs in groups(accuracy, lambda r: (r["dataset"], r["n"])).values()
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
        for method, group in groups(scaling, lambda r: r["method"]).items():
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
