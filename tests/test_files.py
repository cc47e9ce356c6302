"""datasets/_files.py: where the files are looked for, their checksums, atomic downloads."""

import gzip
import hashlib
from pathlib import Path

import pytest

from skdeepcluster.datasets import _files
from skdeepcluster.datasets._files import get_data_home


def test_data_home_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("SKDEEPCLUSTER_DATA", str(tmp_path))
    assert get_data_home() == tmp_path
    assert get_data_home(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("SKDEEPCLUSTER_DATA")
    assert get_data_home() == Path("~/skdeepcluster_data").expanduser()


def test_gzip_and_plain_files_read_the_same_bytes(tmp_path):
    data = bytes(range(256)) * 10
    (tmp_path / "plain").write_bytes(data)
    with gzip.open(tmp_path / "packed", "wb") as f:
        f.write(data)
    assert _files._read_maybe_gzip(tmp_path / "plain") == data
    assert _files._read_maybe_gzip(tmp_path / "packed") == data


def test_the_checksum_is_of_the_decompressed_data():
    data = b"images"
    _files._verify(data, hashlib.sha256(data).hexdigest(), "x")  # passes
    _files._verify(data, None, "x")  # nothing known: nothing checked
    with pytest.raises(OSError, match="does not have the expected content"):
        _files._verify(data + b"!", hashlib.sha256(data).hexdigest(), "the file x")


def test_files_are_found_in_the_sets_folder_then_data_home(tmp_path):
    dirs = _files._search_dirs(tmp_path, "mnist")
    assert dirs == [tmp_path / "mnist", tmp_path]
    assert _files._find([d / "a.gz" for d in dirs]) is None
    (tmp_path / "a.gz").write_bytes(b"")
    assert _files._find([d / "a.gz" for d in dirs]) == tmp_path / "a.gz"
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "a.gz").write_bytes(b"")
    assert _files._find([d / "a.gz" for d in dirs]) == tmp_path / "mnist" / "a.gz"


def test_a_download_that_fails_its_check_leaves_no_file(tmp_path):
    source = tmp_path / "source"
    source.write_bytes(b"wrong content")
    dest = tmp_path / "data" / "file"

    def check(data):
        _files._verify(data, hashlib.sha256(b"right").hexdigest(), "file")

    with pytest.raises(OSError, match="expected content"):
        _files._download(source.as_uri(), dest, check)
    assert not dest.exists() and not list(dest.parent.iterdir())  # no partial file either
    _files._download(source.as_uri(), dest, lambda data: None)
    assert dest.read_bytes() == b"wrong content"
