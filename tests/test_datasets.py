import functools
import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from skdeepcluster import datasets
from skdeepcluster.datasets import (
    _idx_bytes,
    load_coil20,
    load_fashion_mnist,
    load_mixed40,
    load_mnist,
    load_orl_faces,
    load_usps,
)

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def _fake_idx_set(rng, n_train=6, n_test=4):
    parts = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    return {k: _idx_bytes(v) for k, v in parts.items()}, parts


@pytest.fixture
def fake_mnist(monkeypatch):
    """Synthetic idx files, with the loader's checksums set to theirs."""
    raw, parts = _fake_idx_set(np.random.default_rng(0))
    sha = {k: hashlib.sha256(v).hexdigest() for k, v in raw.items()}
    monkeypatch.setitem(datasets._IDX_SETS["mnist"], "sha256", sha)
    return raw, parts


def _write_idx(folder, raw, compress=True):
    folder.mkdir(parents=True, exist_ok=True)
    for part, data in raw.items():
        name = datasets._IDX_FILES[part]
        if compress:
            with gzip.open(folder / (name + ".gz"), "wb") as f:
                f.write(data)
        else:
            (folder / name).write_bytes(data)


@pytest.mark.parametrize("compress", [True, False])
def test_load_mnist_from_idx_files(tmp_path, fake_mnist, compress):
    raw, parts = fake_mnist
    _write_idx(tmp_path / "mnist", raw, compress)
    bunch = load_mnist(tmp_path)
    assert bunch.images.shape == (10, 28, 28) and bunch.images.dtype == np.uint8
    assert bunch.data.shape == (10, 784)
    np.testing.assert_array_equal(bunch.images[:6], parts["train_images"])
    np.testing.assert_array_equal(bunch.target[6:], parts["test_labels"])
    assert bunch.target.dtype == np.int64 and bunch.n_train == 6
    assert list(bunch.target_names) == [str(d) for d in range(10)] and "MNIST" in bunch.DESCR
    X, y = load_mnist(tmp_path, subset="test", return_X_y=True)
    np.testing.assert_array_equal(X, parts["test_images"])
    assert len(load_mnist(tmp_path, subset="train").target) == 6


def test_env_variable_is_used(tmp_path, fake_mnist, monkeypatch):
    _write_idx(tmp_path, fake_mnist[0])
    monkeypatch.setenv("SKDEEPCLUSTER_DATA", str(tmp_path))
    assert load_mnist(return_X_y=True)[0].shape == (10, 28, 28)


def test_recompressed_copy_loads_and_corrupt_file_is_refused(tmp_path, fake_mnist):
    raw, _ = fake_mnist
    _write_idx(tmp_path, raw)
    # Recompress one file at another level: different .gz bytes, same content.
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(raw["train_images"], compresslevel=1))
    assert load_mnist(tmp_path).images.shape == (10, 28, 28)
    damaged = bytearray(raw["train_images"])
    damaged[-1] ^= 0xFF
    path.write_bytes(gzip.compress(bytes(damaged)))
    with pytest.raises(OSError, match="expected content"):
        load_mnist(tmp_path)


def test_npz_layout_is_read_and_verified(tmp_path, fake_mnist):
    _, parts = fake_mnist
    X = np.concatenate([parts["train_images"], parts["test_images"]])
    y = np.concatenate([parts["train_labels"], parts["test_labels"]]).astype(np.int64)
    np.savez(tmp_path / "mnist.npz", X=X, y=y, n_train=6)
    Xl, yl = load_mnist(tmp_path, return_X_y=True)
    np.testing.assert_array_equal(Xl, X)
    np.testing.assert_array_equal(yl, y)
    y[0] = (y[0] + 1) % 10
    np.savez(tmp_path / "mnist.npz", X=X, y=y, n_train=6)
    with pytest.raises(OSError, match="expected content"):
        load_mnist(tmp_path)


def test_missing_files_give_one_clear_error(tmp_path):
    with pytest.raises(
        OSError, match=r"train-images-idx3-ubyte.gz.*download=True.*Place the files in"
    ):
        load_mnist(tmp_path)
    for load, name in (
        (load_coil20, "coil20.npz"),
        (load_orl_faces, "orl_faces.npz"),
        (load_mixed40, "mixed40.npz"),
    ):
        with pytest.raises(OSError, match=name):
            load(tmp_path)
    with pytest.raises(ValueError, match="subset"):
        load_mnist(tmp_path, subset="validation")


class _Server:
    def __init__(self, root):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_from_local_http_server(tmp_path, fake_mnist, monkeypatch):
    raw, parts = fake_mnist
    served = tmp_path / "served"
    _write_idx(served, raw)
    home = tmp_path / "home"
    with _Server(served) as server:
        monkeypatch.setitem(datasets._IDX_SETS["mnist"], "mirror", server.url)
        X, y = load_mnist(home, return_X_y=True, download=True)
    np.testing.assert_array_equal(X[:6], parts["train_images"])
    assert sorted(p.name for p in (home / "mnist").iterdir()) == sorted(
        datasets._IDX_FILES[p] + ".gz" for p in datasets._IDX_FILES
    )


def test_download_with_bad_checksum_leaves_no_file(tmp_path, fake_mnist, monkeypatch):
    raw, _ = fake_mnist
    served = tmp_path / "served"
    bad = dict(raw, test_labels=raw["test_labels"][:-1] + b"\x09")
    _write_idx(served, bad)
    home = tmp_path / "home"
    with _Server(served) as server:
        monkeypatch.setitem(datasets._IDX_SETS["mnist"], "mirror", server.url)
        with pytest.raises(OSError, match="t10k-labels-idx1-ubyte.gz does not have the expected"):
            load_mnist(home, download=True)
    left = sorted(p.name for p in (home / "mnist").iterdir())
    assert "t10k-labels-idx1-ubyte.gz" not in left
    assert not any(".part" in name for name in left)


def test_download_offline_names_files_and_folder(tmp_path, monkeypatch):
    # A port nobody listens on: the connection is refused at once.
    with _Server(tmp_path) as server:
        url = server.url
    monkeypatch.setitem(datasets._IDX_SETS["mnist"], "mirror", url)
    with pytest.raises(OSError, match=r"Downloading them failed.*Place the files in") as info:
        load_mnist(tmp_path / "home", download=True)
    assert "train-labels-idx1-ubyte.gz" in str(info.value)
    assert not (tmp_path / "home" / "mnist").exists() or not any(
        (tmp_path / "home" / "mnist").iterdir()
    )


def _usps_text(rng, n):
    lines = []
    labels = rng.integers(0, 10, n)
    values = rng.uniform(-1, 1, (n, 256))
    for label, row in zip(labels, values):
        lines.append(f"{label}.0000 " + " ".join(f"{v:.4f}" for v in row))
    return ("\n".join(lines) + "\n").encode(), labels, values


def test_load_usps_from_esl_files(tmp_path):
    rng = np.random.default_rng(1)
    train, y_train, v_train = _usps_text(rng, 5)
    test, y_test, _ = _usps_text(rng, 3)
    (tmp_path / "usps").mkdir()
    (tmp_path / "usps" / "zip.train.gz").write_bytes(gzip.compress(train))
    (tmp_path / "usps" / "zip.test.gz").write_bytes(gzip.compress(test))
    bunch = load_usps(tmp_path)
    assert bunch.images.shape == (8, 16, 16) and bunch.images.dtype == np.uint8
    np.testing.assert_array_equal(bunch.target, np.concatenate([y_train, y_test]))
    np.testing.assert_allclose(bunch.images[0].ravel() / 127.5 - 1, v_train[0], atol=0.01)
    assert load_usps(tmp_path, subset="test", return_X_y=True)[0].shape == (3, 16, 16)
    (tmp_path / "usps" / "zip.test.gz").write_bytes(gzip.compress(b"1 2 3\n"))
    with pytest.raises(ValueError, match="not a USPS file"):
        load_usps(tmp_path)


def test_load_usps_download_from_local_server(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    served = tmp_path / "served"
    served.mkdir()
    for name, n in (("zip.train.gz", 4), ("zip.test.gz", 2)):
        (served / name).write_bytes(gzip.compress(_usps_text(rng, n)[0]))
    with _Server(served) as server:
        monkeypatch.setitem(datasets._USPS, "mirror", server.url)
        X, y = load_usps(tmp_path / "home", return_X_y=True, download=True)
    assert X.shape == (6, 16, 16)


def test_real_shared_benchmark_files(shared_datasets):
    bunch = load_mnist(shared_datasets)
    assert bunch.images.shape == (70000, 28, 28) and bunch.n_train == 60000
    X, y = load_mnist(shared_datasets, subset="test", return_X_y=True)
    assert X.shape == (10000, 28, 28) and np.bincount(y).min() > 800
    fashion = load_fashion_mnist(shared_datasets, subset="train")
    assert fashion.images.shape == (60000, 28, 28) and fashion.target_names[0] == "T-shirt/top"
    coil = load_coil20(shared_datasets)
    assert coil.images.shape == (1440, 32, 32) and len(np.unique(coil.target)) == 20
    for load in (load_orl_faces, load_mixed40):  # 40 clusters of 10
        X, y = load(shared_datasets, return_X_y=True)
        assert X.shape == (400, 32, 32) and X.dtype == np.uint8
        assert np.bincount(y).tolist() == [10] * 40


def test_a_local_archive_with_other_content_is_refused(tmp_path):
    X = np.zeros((400, 32, 32), np.uint8)
    np.savez(tmp_path / "orl_faces.npz", X=X, y=np.repeat(np.arange(40), 10))
    with pytest.raises(OSError, match="expected content"):
        load_orl_faces(tmp_path)


@pytest.mark.skipif(
    not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist package is not installed"
)
def test_debian_recompressed_fashion_mnist():
    bunch = load_fashion_mnist("/usr/share/datasets")
    assert bunch.images.shape == (70000, 28, 28)
    assert np.bincount(bunch.target).tolist() == [7000] * 10
