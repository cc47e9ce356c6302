"""One smoke run of the benchmark runner and report on a tiny subset (not a benchmark)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
pytestmark = pytest.mark.skipif(
    not (BENCH / "run.py").exists(), reason="needs the repository's benchmarks/ folder"
)


@pytest.mark.slow
def test_runner_records_every_fit_and_report_renders_it(tmp_path):
    stem = tmp_path / "smoke"
    cmd = [
        sys.executable,
        str(BENCH / "run.py"),
        "--methods",
        "kmeans",
        "dccs",
        "clustpy-dec",
        "--datasets",
        "digits",
        "coil20",
        "--subsample",
        "120",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--data-home",
        str(tmp_path / "no-data"),
        "--out",
        str(stem),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
    results = json.loads(stem.with_suffix(".json").read_text())
    assert "run.py" in results["meta"]["command"]
    assert results["meta"]["versions"]["torch"] and results["meta"]["machine"]["cpu_count"]
    runs = {(r["method"], r["dataset"]): r for r in results["runs"]}
    assert len(runs) == 6  # nothing dropped
    for method in ("kmeans", "dccs"):
        run = runs[method, "digits"]
        assert run["status"] == "ok" and run["n"] == 120 and run["device"] == "cpu"
        assert 0 <= run["acc"] <= 1 and run["fit_s"] > 0 and run["peak_rss_mb"] > 0
    peer = runs["clustpy-dec", "digits"]["status"]
    if importlib.util.find_spec("clustpy") is None:
        assert peer.startswith("failed: ModuleNotFoundError")
    else:
        assert peer == "ok"
    # A missing data file is reported for every method, not dropped.
    assert all(
        runs[m, "coil20"]["status"].startswith("failed: OSError")
        for m in ("kmeans", "dccs", "clustpy-dec")
    )

    markdown = stem.with_suffix(".md").read_text()
    assert "| dccs | 120 | 1 |" in markdown
    # Every fit's non-empty clusters are in the table (an empty cluster is a silent failure).
    header = markdown.split("## digits")[1].splitlines()[2]
    column = header.split(" | ").index("Clusters used")
    row = next(line for line in markdown.splitlines() if line.startswith("| dccs | 120 |"))
    assert row.split(" | ")[column] == str(runs["dccs", "digits"]["n_clusters_found"])
    rst = tmp_path / "bench.rst"
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "report.py"),
            str(stem.with_suffix(".json")),
            "--rst",
            str(rst),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    page = rst.read_text()
    assert ".. list-table::" in page and "python" in page and "digits" in page


def _bench_module(name):
    """A module of benchmarks/ (which is not a package), imported from there."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


def _tables():
    return _bench_module("tables")


def _page():
    return _bench_module("page")


def _ok_record(method, seed, acc, fit_s, dataset="digits", n=100, clusters=10):
    """The runner's record of one finished fit (ACC, NMI and ARI all ``acc``)."""
    return {
        "method": method,
        "dataset": dataset,
        "seed": seed,
        "status": "ok",
        "n": n,
        "acc": acc,
        "nmi": acc,
        "ari": acc,
        "n_clusters_found": clusters,
        "fit_s": fit_s,
        "predict_samples_per_s": 1000.0,
        "peak_rss_mb": 900.0,
        "gpu_peak_mb": None,
        "device": "cpu",
    }


def _tiny_results():
    run = _ok_record
    runs = [
        run("kmeans", 0, 0.70, 0.1),
        run("kmeans", 1, 0.74, 0.3),
        run("kmeans", 2, 0.72, 0.2),
        run("dccs", 0, 0.90, 20.0),
        run("dccs", 1, 0.80, 30.0),
        {"method": "dccs", "dataset": "digits", "seed": 2, "status": "timeout after 9 s"},
        run("kmeans", 0, 0.50, 1.0, n=200),
    ]
    return {"meta": {"kind": "accuracy"}, "runs": runs}


def test_report_series_have_seed_ranges_and_fixed_colours():
    tables = _tables()
    runs = [r for r in _tiny_results()["runs"] if r.get("n", 100) == 100]
    series = tables.acc_time_series(runs)
    assert set(series) == {"kmeans", "dccs"}  # one series per method, failed seeds left out
    assert series["kmeans"] == pytest.approx((0.2, 0.72, 0.70, 0.74))  # medians, seed range
    assert series["dccs"] == pytest.approx((25.0, 0.85, 0.80, 0.90))
    header, rows = tables.accuracy_tables({"runs": runs})["digits"]
    row = {r[0]: r for r in rows}
    assert row["kmeans"][header.index("ACC")] == "0.720 (0.700–0.740)"
    assert row["dccs"][header.index("Seeds")] == "2 of 3"
    colours = {m: tables.method_colour(m) for m in ("kmeans", "dccs", "umap-kmeans", "spectral")}
    assert len(set(colours.values())) == 4
    assert tables.method_colour("dccs") == colours["dccs"]
    assert tables.method_colour("dccs+features") == colours["dccs"]  # hollow in the figures


def test_report_draws_one_figure_per_set_and_size(tmp_path):
    pytest.importorskip("matplotlib")
    names = _tables().plots([_tiny_results()], str(tmp_path))
    assert names == ["bench_acc_vs_time_digits_100.png", "bench_acc_vs_time_digits_200.png"]
    assert all((tmp_path / name).stat().st_size > 0 for name in names)


def _suite_file(path):
    """A tiny suite file: two sets, three seeds of kmeans, a failed and a replaced line."""
    machine = {"cpu": "Test CPU", "cpu_count": 2, "memory_gb": 24.0, "gpu": None}
    versions = {"python": "3.11", "torch": "2.14.1", "clustpy": None}
    lines = []
    for dataset, n in (("digits", 100), ("coil20-few", 200)):
        for method, seed, acc in (
            ("kmeans", 0, 0.70),
            ("kmeans", 1, 0.74),
            ("kmeans", 2, 0.72),
            ("dccs", 0, 0.20),
            ("dccs", 0, 0.90),
            ("dccs", 1, 0.80),
        ):
            # one fit on the second set leaves two clusters empty
            clusters = 8 if (n, method, seed) == (200, "dccs", 1) else 10
            fit_s = 20.0 if method == "dccs" else 0.1
            lines.append(
                {
                    **_ok_record(method, seed, acc, fit_s, dataset, n, clusters),
                    "wall_s": 600.0,
                    "date": "2026-12-01T23:00:00+00:00",
                    "commit": "abc1234",
                    "machine": machine,
                    "versions": versions,
                }
            )
        lines.append(
            {
                "method": "dccs",
                "dataset": dataset,
                "seed": 2,
                "status": "timeout after 9 s",
                "wall_s": 9.0,
                "date": "2026-12-02T01:00:00",
                "commit": "def5678",
                "machine": machine,
                "versions": versions,
            }
        )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_suite_page_has_a_table_per_set_traced_to_its_commit(tmp_path):
    page_module = _page()
    suite = tmp_path / "suite.jsonl"
    _suite_file(suite)
    runs = _bench_module("suite").read_suite(str(suite))
    assert len(runs) == 12  # one record per cell: the later dccs seed-0 line replaces the earlier
    page = tmp_path / "doc" / "benchmarks.rst"
    page.parent.mkdir()
    grid = [
        (m, d, seed)
        for d in ("digits", "coil20-few", "mnist-test")
        for seed in (0, 1, 2)
        for m in ("kmeans", "dccs")
    ]
    page_module.write_page(str(suite), [], str(page), None, grid)
    text = page.read_text()
    assert (
        "**Partial:** 12 of the suite's 18 fits have a result; still to run: KMeans and "
        "DCCSClustering on MNIST-test (seeds 0, 1, 2)."
    ) in text
    digits, coil = "sklearn digits (n=100)", "COIL-20, 10 per object (n=200)"
    for title in (digits, coil):
        assert f"{title}\n{'-' * len(title)}\n" in text
    # Every set says which fits, dates, commits and machine it comes from, and their cost;
    # columns with one value for every fit are folded into that line.
    assert (
        text.count(
            "Measured: 6 fits, 2026-12-01 to 2026-12-02, commit abc1234, def5678, on "
            "Test CPU, 2 cores, 24 GiB; their processes took 50 min in all; device "
            "cpu; no GPU."
        )
        == 2
    )
    assert "took 1 h 40 min in all" in text  # the whole suite: 10 x 600 s + 2 x 9 s
    tables = text.split(f"{digits}\n{'-' * len(digits)}\n")[1]
    assert "Peak GPU" not in tables and "Device" not in tables
    assert "     - 2 of 3\n" in tables  # seeds stay a column where a fit is missing
    # The summary first; it names a best only on five seeds, and these sets have three.
    summary = text.split("In a minute")[1].split("Overview")[0]
    assert digits not in summary and ":ref:`which-estimator`" in summary
    # Ours by class name, the peers marked; a cell says when seeds are missing; no best named.
    overview = text.split("Overview")[1].split("The suite")[0]
    assert "* - ``DCCSClustering``" in overview and "* - *peer:* KMeans" in overview
    assert "0.850 (2 seeds)" in overview and "0.720\n" in overview
    assert "0.850\u00a0† (2 seeds)" in overview and "† Clusters left empty" in overview
    assert "0.850 (0.800–0.900)" in tables and "0.200" not in overview
    assert "**" not in overview and "**" not in tables
    assert ".. image::" not in text  # no figures asked for
    # The page from the command line, against the whole suite's grid, fitting nothing.
    cli = tmp_path / "cli.rst"
    subprocess.run(
        [sys.executable, str(BENCH / "report.py"), str(suite), "--rst", str(cli)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    total = len(_bench_module("suite").suite_grid())
    assert f"**Partial:** 12 of the suite's {total} fits have a result" in cli.read_text()


def _ranking_records():
    """digits: five seeds of most methods; DCCS's best median left a cluster empty once,
    GATCluster's higher one has three seeds only."""
    accs = {
        "kmeans": (0.70, 0.71, 0.72, 0.73, 0.74),
        "umap-kmeans": (0.78, 0.79, 0.80, 0.81, 0.82),
        "variational": (0.70, 0.77, 0.78, 0.79, 0.80),
        "dual-ae-spectral": (0.74, 0.75, 0.76, 0.77, 0.78),
        "dccs": (0.83, 0.84, 0.85, 0.86, 0.87),
        "gatcluster": (0.94, 0.95, 0.96),
    }
    return [
        _ok_record(m, seed, acc, 10.0, clusters=9 if (m, seed) == ("dccs", 4) else 10)
        for m, values in accs.items()
        for seed, acc in enumerate(values)
    ]


def test_a_best_is_named_only_on_five_seeds_that_used_every_cluster():
    headline = _bench_module("headline")
    records = _ranking_records()
    digits = next(row for row in headline.readme_table(records) if row.startswith("digits"))
    assert "**0.800** (0.780)" in digits  # UMAP + KMeans: the best of the ranked fits
    assert "0.850 (0.830) †" in digits and "0.950 (0.940)" in digits  # shown, not crowned
    assert digits.count("**") == 2
    case, _, best, other = next(d for d in headline.decisions(records) if d[0].startswith("Small"))
    assert best["method"] == "umap-kmeans" and best["worst"] == 0.78
    assert other["method"] == "variational"  # the best of ours among the ranked fits
    table = "\n".join(headline.decision_table(records))
    assert "     - UMAP + KMeans on the pixels\n     - 0.800 (0.780)\n" in table
    assert "ours: VariationalClustering, 0.780 (0.700)" in table


def test_readme_and_user_guide_tables_are_the_suite_records():
    """The tables the README and the user guide quote are what the records give, to the digit."""
    out = subprocess.run(
        [sys.executable, str(BENCH / "headline.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr + out.stdout


def test_reported_figures_carry_the_papers_names():
    page = _page()
    records = [
        _ok_record("clustpy-dec", seed, 0.5, 1.0, dataset="mnist-test") for seed in (0, 1, 2)
    ]
    _, rows, _ = page._set_table("mnist-test", records)
    names = [row[0] for row in rows]
    assert "*peer:* ClustPy DEC" in names  # what we fitted
    assert any(name.startswith("DEC (reported: Yang et al. 2019") for name in names)


def test_suite_page_puts_each_figure_beside_its_table(tmp_path):
    pytest.importorskip("matplotlib")
    suite = tmp_path / "suite.jsonl"
    _suite_file(suite)
    page = tmp_path / "doc" / "benchmarks.rst"
    page.parent.mkdir()
    _page().write_page(str(suite), [], str(page), str(tmp_path / "doc" / "images"))
    coil = "COIL-20, 10 per object (n=200)"
    sections = page.read_text().split(f"{coil}\n{'-' * len(coil)}\n")
    assert ".. image:: images/bench_acc_vs_time_digits_100.png" in sections[0]
    assert ".. image:: images/bench_acc_vs_time_coil20-few_200.png" in sections[1]
    assert (tmp_path / "doc" / "images" / "bench_acc_vs_time_coil20-few_200.png").stat().st_size


@pytest.mark.slow
def test_suite_resumes_and_reruns_one_cell(tmp_path):
    suite = tmp_path / "suite.jsonl"

    def run(*extra):
        cmd = [
            sys.executable,
            str(BENCH / "run.py"),
            "--suite",
            "--methods",
            "kmeans",
            "--datasets",
            "digits",
            "--out",
            str(suite),
            "--page",
            "none",
            *extra,
        ]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300).stdout

    assert "2 fits to run, 0 cells already" in run("--seeds", "0", "1")
    first = [json.loads(line) for line in suite.read_text().splitlines()]
    assert [r["seed"] for r in first] == [0, 1] and all(r["status"] == "ok" for r in first)
    assert all(r["wall_s"] >= r["fit_s"] > 0 and r["date"] and r["machine"] for r in first)
    assert "1 fits to run, 2 cells already" in run("--seeds", "0", "1", "2")  # resumed
    assert "1 fits to run" in run("--seeds", "1", "--rerun")
    lines = [json.loads(line) for line in suite.read_text().splitlines()]
    assert sorted(r["seed"] for r in lines) == [0, 1, 2]  # the rerun replaced its line
    assert lines[-1]["seed"] == 1 and lines[-1]["date"] >= first[1]["date"]


@pytest.mark.parametrize("probe", sorted(p.name for p in (BENCH / "probes").glob("*.py")))
def test_every_probe_starts(probe):
    """A probe that patches or imports names the package no longer has fails here, not by hand."""
    out = subprocess.run(
        [sys.executable, str(BENCH / "probes" / probe), "--help"],
        capture_output=True,
        text=True,
        cwd=BENCH.parent,
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.slow
def test_checkpoint_cost_probe_times_the_writes():
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "probes" / "checkpoint_cost.py"),
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--methods",
            "variational",
        ],
        capture_output=True,
        text=True,
        cwd=BENCH.parent,
    )
    assert out.returncode == 0, out.stderr
    row = out.stdout.splitlines()[-1].split()
    assert row[0] == "variational" and float(row[2]) > 0 and "(2 writes)" in out.stdout


def test_scaling_section_is_dated_and_a_row_per_method(tmp_path):
    suite, scaling = tmp_path / "suite.jsonl", tmp_path / "scaling.json"
    _suite_file(suite)
    runs = [
        {"method": m, "subsample": n, "status": "ok", "n": n, "fit_s": t, "peak_rss_mb": 1000.0}
        for m, n, t in (("dccs", 1000, 1.5), ("dccs", 5000, 6.0), ("kmeans", 1000, 0.2))
    ]
    runs.append({"method": "kmeans", "subsample": 5000, "status": "timeout after 9.0 s"})
    scaling.write_text(
        json.dumps(
            {
                "meta": {
                    "command": "python benchmarks/run.py --scaling",
                    "date": "2026-11-23T10:00:00",
                    "commit": "fed4321",
                    "kind": "scaling",
                    "versions": {"torch": "2.14.1"},
                    "machine": {"cpu": "Test CPU", "cpu_count": 2, "gpu": None},
                },
                "runs": runs,
            }
        )
    )
    page = tmp_path / "benchmarks.rst"
    _page().write_page(str(suite), [str(scaling)], str(page), None)
    section = page.read_text().split("Scaling (2026-11-23)\n")[1]
    assert section.startswith(
        "--------------------\n\n**Measured 2026-11-23, commit fed4321, and "
        "not re-run since**; DualAESpectralClustering, GATCluster and "
        "VariationalClustering are not in it."
    )
    assert "The accuracy tables above are newer." in section  # the suite is of 2026-12-01/02
    assert (
        "   * - ``DCCSClustering``\n     - 1.5 s, 1,000 MB\n     - 6.0 s, 1,000 MB\n"
        "   * - *peer:* KMeans\n     - 0.2 s, 1,000 MB\n     - timeout after 9.0 s\n"
    ) in section
