"""_cli/report.py: a folder's clusters.csv, contact sheets and overview, and the confidence."""

import csv

import numpy as np
from PIL import Image

from skdeepcluster._cli.report import confidence, write_report


class _Soft:
    def predict_proba(self, X):
        return np.array([[0.9, 0.1], [0.4, 0.6]])


class _Centres:
    cluster_centers_ = np.array([[0.0, 0.0], [4.0, 0.0]])

    def transform(self, X):
        return np.array([[0.0, 0.0], [2.0, 0.0], [3.0, 0.0]])


def test_confidence_is_the_largest_probability_or_the_centres_margin():
    np.testing.assert_allclose(confidence(_Soft(), None), [0.9, 0.6])
    # on a centre: 1; half-way between two: 0; a quarter of the way: (3 - 1) / 3
    np.testing.assert_allclose(confidence(_Centres(), None), [1.0, 0.0, 2 / 3])


def test_the_report_lists_every_file_and_draws_a_sheet_per_used_cluster(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    names = []
    for i in range(5):
        names.append(f"{i}.png")
        Image.new("RGB", (12, 12), (40 * i, 0, 0)).save(folder / names[-1])
    labels, scores = np.array([0, 0, 2, 0, 2]), np.array([0.2, 0.9, 0.5, 0.7, 0.6])
    written = write_report(tmp_path / "out", folder, np.array(names), labels, scores, 3, side=16)
    assert [p.name for p in written] == [
        "clusters.csv",
        "cluster_00.png",
        "cluster_02.png",
        "overview.png",
    ]  # cluster 1 is empty: no sheet
    with open(written[0]) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["file", "cluster", "confidence"]
    assert rows[1:] == [[n, str(k), f"{s:.4f}"] for n, k, s in zip(names, labels, scores)]
    sheet = Image.open(written[1])
    assert sheet.width >= 3 * 16 and sheet.height > 16  # three thumbnails and a title
