"""``python -m skdeepcluster``: the estimator's scores beside KMeans's."""

import csv
import functools
import re

import numpy as np
import pytest
import torch
from torch import nn

from skdeepcluster import DCCSClustering, DualAESpectralClustering, PretrainedFeatures
from skdeepcluster._cli import main as cli


def test_prints_the_estimator_and_kmeans_side_by_side(monkeypatch, capsys):
    quick = functools.partial(
        DualAESpectralClustering,
        pretrain_epochs=2,
        siamese_epochs=1,
        spectral_epochs=1,
        max_epochs=1,
        latent_dim=8,
    )
    monkeypatch.setitem(cli.METHODS, "dual-ae-spectral", quick)
    cli.main(["--seed", "1"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("digits: 1797 images, 10 clusters, device")
    assert out[1].split() == ["ACC", "NMI", "ARI", "fit", "(s)"]
    score = r"\s+0\.\d{4}\s+-?0\.\d{4}\s+-?0\.\d{4}\s+\d+\.\d\d$"
    assert re.match(r"DualAESpectralClustering" + score, out[2])
    assert re.match(r"KMeans \(pixels\)" + score, out[3])


def _folder(root, labelled=True):
    from PIL import Image

    rng = np.random.RandomState(0)
    for k, colour in enumerate([(230, 30, 30), (30, 30, 230)]):
        for i in range(8):
            image = np.clip(rng.normal(colour, 20, (20, 24, 3)), 0, 255).astype(np.uint8)
            folder = root / (f"class_{k}" if labelled else "")
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{k}_{i}.png")
    return root


def test_a_folder_gives_a_csv_contact_sheets_and_an_overview(monkeypatch, capsys, tmp_path):
    from PIL import Image

    quick = functools.partial(DCCSClustering, max_epochs=2)
    monkeypatch.setitem(cli.METHODS, "dccs", quick)
    out = tmp_path / "out"
    cli.main(
        [
            str(_folder(tmp_path / "photos")),
            "--method",
            "dccs",
            "--out",
            str(out),
            "--size",
            "8",
            "--features",
            "pixels",
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    # the estimate beside the class sub-folders' count, which the fit keeps
    assert re.match(r"number of clusters: \d+ estimated.*; clustering into 2 \(class", lines[0])
    assert lines[1].startswith(f"{tmp_path / 'photos'}: 16 images, 2 clusters, device cpu")
    assert lines[2].startswith(f"wrote {out / 'clusters.csv'} (file, cluster, confidence)")
    assert lines[2].endswith(f"{out / 'k.png'} (the criterion of the number of clusters)")
    assert re.match(r"DCCSClustering\s+[01]\.\d{4}", lines[4])  # labelled: the scores
    assert lines[5].startswith("KMeans (pixels)")
    with open(out / "clusters.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == sorted(
        f"class_{k}/{k}_{i}.png" for k in (0, 1) for i in range(8)
    )
    used = sorted({int(r["cluster"]) for r in rows})
    assert all(0 <= float(r["confidence"]) <= 1 for r in rows)
    sheets = sorted(p.name for p in out.glob("cluster_*.png"))
    assert sheets == [f"cluster_{k:02d}.png" for k in used]
    size = len([r for r in rows if int(r["cluster"]) == used[0]])
    with Image.open(out / sheets[0]) as sheet:  # 8 to a row of 96-pixel thumbnails, a title
        assert sheet.size == (max(2 + 8 * 98, 420), 28 + 2 + ((size + 7) // 8) * 98)
    with Image.open(out / "overview.png") as overview:
        assert overview.size == (110 + 8 * 66 + 2, 30 + 2 * 66)


def test_an_unlabelled_folder_gets_the_estimate_and_prints_no_scores(monkeypatch, capsys, tmp_path):
    from PIL import Image

    quick = functools.partial(
        DualAESpectralClustering,
        pretrain_epochs=1,
        siamese_epochs=1,
        spectral_epochs=1,
        max_epochs=1,
        latent_dim=4,
    )
    monkeypatch.setitem(cli.METHODS, "dual-ae-spectral", quick)
    folder = str(_folder(tmp_path / "flat", labelled=False))
    monkeypatch.chdir(tmp_path)
    cli.main([folder, "--size", "8", "--features", "pixels", "--verbose", "0"])
    lines = capsys.readouterr().out.splitlines()
    # two colours of 8 images each: the estimate finds them, the fit uses it
    # 16 images: 2 or 3 clusters (5 images a cluster at least), no runner-up that is not next
    assert lines[0].startswith("number of clusters: 2 estimated (modularity of 2 to 3 clusters")
    assert lines[0].endswith("; clustering into 2")
    assert len(lines) == 3 and lines[1].startswith(f"{folder}: 16 images, 2 clusters")
    with Image.open(tmp_path / "flat_clusters" / "k.png") as plot:
        assert plot.size == (900, 500)
    cli.main([folder, "--n-clusters", "3", "--size", "8", "--features", "pixels"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("; clustering into 3 (--n-clusters)") and len(lines) == 3
    confidences = [
        float(row.split(",")[2])
        for row in (tmp_path / "flat_clusters" / "clusters.csv").read_text().split()[1:]
    ]
    assert len(confidences) == 16 and all(0 <= c <= 1 for c in confidences)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--n-clusters", "0"], "a number of clusters is at least 1"),
        (["--n-clusters", "many"], "a number of clusters or auto"),
    ],
)
def test_a_bad_number_of_clusters_is_one_line(capsys, tmp_path, argv, words):
    with pytest.raises(SystemExit):
        cli.main([str(_folder(tmp_path / "flat", labelled=False)), *argv])
    assert words in capsys.readouterr().err


def test_two_images_are_too_few_to_count_clusters(capsys, tmp_path):
    from PIL import Image

    for i in range(2):
        Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
    with pytest.raises(SystemExit):
        cli.main([str(tmp_path)])
    assert "estimating the number of clusters needs 3 or more" in capsys.readouterr().err


def test_a_bad_folder_is_one_line_not_a_trace(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("no image")
    for argv, message in (
        ([str(tmp_path / "absent")], "No folder"),
        ([str(tmp_path)], "not readable images"),
        (
            [str(_folder(tmp_path / "ok")), "--n-clusters", "17"],
            "--n-clusters must be from 1 to the folder's 16 images",
        ),
    ):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err


def _small_features(monkeypatch, sizes):
    """The command's pretrained features: a small module instead of ImageNet weights."""

    def features(device, verbose):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(3, 6, 3, stride=2), nn.ReLU())
        return PretrainedFeatures(net, input_size=16, device=device).fit(
            np.zeros((1, 8, 8, 3), np.uint8)
        ), None

    monkeypatch.setattr(cli, "_pretrained_features", features)
    read = cli.datasets.load_image_folder

    def load_image_folder(folder, size, **kwargs):
        sizes.append(size)
        return read(folder, size=size, **kwargs)

    monkeypatch.setattr(cli.datasets, "load_image_folder", load_image_folder)


def test_colour_photos_go_through_pretrained_features(monkeypatch, capsys, tmp_path):
    quick = functools.partial(DCCSClustering, max_epochs=2)
    monkeypatch.setitem(cli.METHODS, "dccs", quick)
    sizes = []
    _small_features(monkeypatch, sizes)
    cli.main(
        [str(_folder(tmp_path / "photos")), "--out", str(tmp_path / "out"), "--verbose", "0"]
    )  # DCCS: the default on features
    lines = capsys.readouterr().out.splitlines()
    assert sizes == [cli._FEATURE_SIZE]  # read at the networks' size
    assert lines[0].startswith("features: Sequential (a torch.nn.Module), 6 values per image")
    assert lines[1].startswith("number of clusters: ")  # of the features, as the fit reads
    assert re.match(r"DCCSClustering \(features\)\s+[01]\.\d{4}", lines[5])
    assert lines[6].startswith("KMeans (features)") and lines[7].startswith("KMeans (pixels)")
    assert len((tmp_path / "out" / "clusters.csv").read_text().split()) == 17


def test_grey_images_stay_on_their_pixels_unless_asked(monkeypatch, capsys, tmp_path):
    from PIL import Image

    quick = functools.partial(DCCSClustering, max_epochs=2)
    monkeypatch.setitem(cli.METHODS, "dccs", quick)
    sizes = []
    _small_features(monkeypatch, sizes)
    for k in range(2):
        (tmp_path / "grey" / f"c{k}").mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((12, 12), 40 + 150 * k + i, np.uint8)).save(
                tmp_path / "grey" / f"c{k}" / f"{i}.png"
            )
    argv = [str(tmp_path / "grey"), "--method", "dccs", "--out", str(tmp_path / "out")]
    cli.main(argv)
    out = capsys.readouterr().out
    assert "grey images are clustered on their pixels" in out and "features:" not in out
    assert sizes == [cli._FEATURE_SIZE, cli._PIXEL_SIZE]  # read again at the pixels' size
    cli.main(argv + ["--features", "pretrained", "--verbose", "0"])
    assert "DCCSClustering (features)" in capsys.readouterr().out


def test_without_weights_auto_says_how_to_get_them_and_pretrained_stops(
    monkeypatch, capsys, tmp_path
):
    quick = functools.partial(DCCSClustering, max_epochs=2)
    monkeypatch.setitem(cli.METHODS, "dccs", quick)
    monkeypatch.setattr(cli, "_pretrained_features", lambda device, verbose: (None, "no weights"))
    folder = str(_folder(tmp_path / "photos"))
    cli.main([folder, "--method", "dccs", "--out", str(tmp_path / "out"), "--verbose", "0"])
    out = capsys.readouterr().out
    assert 'pip install "skdeepcluster[pretrained]"' in out.splitlines()[0]
    assert "KMeans (features)" not in out
    with pytest.raises(SystemExit) as exit_:
        cli.main([folder, "--features", "pretrained"])
    assert exit_.value.code == 2 and "no weights" in capsys.readouterr().err


def test_kmeans_pixels_are_shrunk_to_the_pixel_size():
    # Photos read at 224 px for features: KMeans's pixel baseline takes them at 32 px
    # (4,000 photos at 224 px took it 330 s); small images keep their pixels as they are.
    rng = np.random.default_rng(0)
    photos = rng.integers(0, 256, (3, 64, 96, 3), dtype=np.uint8)
    rows = cli._pixels(photos)
    assert rows.shape == (3, 32 * 48 * 3) and 0 <= rows.min() and rows.max() <= 1
    flat = np.full((2, 64, 64), 200, np.uint8)
    np.testing.assert_allclose(cli._pixels(flat), 1.0, rtol=1e-6)
    digits = rng.integers(0, 17, (4, 8, 8)).astype(np.float64)
    np.testing.assert_array_equal(cli._pixels(digits), digits.reshape(4, -1) / digits.max())
