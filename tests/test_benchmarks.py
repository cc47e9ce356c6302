"""One smoke run of the benchmark runner and report on a tiny subset (not a benchmark)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
pytestmark = pytest.mark.skipif(not (BENCH / "run.py").exists(),
                                reason="needs the repository's benchmarks/ folder")


@pytest.mark.slow
def test_runner_records_every_fit_and_report_renders_it(tmp_path):
    stem = tmp_path / "smoke"
    cmd = [sys.executable, str(BENCH / "run.py"), "--methods", "kmeans", "dccs", "clustpy-dec",
           "--datasets", "digits", "coil20", "--subsample", "120", "--epochs", "1",
           "--device", "cpu", "--data-home", str(tmp_path / "no-data"), "--out", str(stem)]
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
    assert all(runs[m, "coil20"]["status"].startswith("failed: OSError") for m in
               ("kmeans", "dccs", "clustpy-dec"))

    markdown = stem.with_suffix(".md").read_text()
    assert "| dccs | 120 | 1 |" in markdown
    # Every fit's non-empty clusters are in the table (an empty cluster is a silent failure).
    header = markdown.split("## digits")[1].splitlines()[2]
    column = header.split(" | ").index("Clusters used")
    row = next(line for line in markdown.splitlines() if line.startswith("| dccs | 120 |"))
    assert row.split(" | ")[column] == str(runs["dccs", "digits"]["n_clusters_found"])
    rst = tmp_path / "bench.rst"
    subprocess.run([sys.executable, str(BENCH / "report.py"), str(stem.with_suffix(".json")),
                    "--rst", str(rst)], check=True, capture_output=True, text=True, timeout=120)
    page = rst.read_text()
    assert ".. list-table::" in page and "python" in page and "digits" in page
