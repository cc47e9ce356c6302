"""Finding, verifying and fetching a data set's files (private).

Files are looked for in ``data_home`` and its sub-folder named after the set; the SHA-256
of their *decompressed* data is checked where it is known, so recompressed copies load
as well as the originals; a download (only when asked) is verified before it is moved
into place, so no half file is left behind.
"""

import gzip
import hashlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path


def get_data_home(data_home=None):
    """Return the folder where the loaders look for data files.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use.  If None, the ``SKDEEPCLUSTER_DATA`` environment
        variable, else ``~/skdeepcluster_data``.

    Returns
    -------
    data_home : pathlib.Path
        The folder (not created).
    """
    if data_home is None:
        data_home = os.environ.get("SKDEEPCLUSTER_DATA", "~/skdeepcluster_data")
    return Path(data_home).expanduser()


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _read_maybe_gzip(path):
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        return f.read()


def _find(candidates):
    for path in candidates:
        if path.is_file():
            return path
    return None


def _search_dirs(data_home, folder):
    return [data_home / folder, data_home]


class _ChecksumError(OSError):
    pass


def _verify(data, expected, what):
    if expected is not None and _sha256(data) != expected:
        raise _ChecksumError(
            f"{what} does not have the expected content (SHA-256 of its decompressed "
            f"data is {_sha256(data)}, expected {expected}); the file is corrupt or "
            "a different data set. Delete it and try again."
        )


def _download(url, dest, check):
    """Fetch ``url`` into ``dest`` atomically, running ``check(bytes)`` first."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part-{os.getpid()}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as f:
            shutil.copyfileobj(response, f)
        check(_read_maybe_gzip(tmp))
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def _missing_error(name, files, dirs, download, cause=None):
    where = " or ".join(str(d) for d in dirs)
    msg = f"The {name} files {', '.join(files)} were not found in {where}."
    if download:
        msg += f" Downloading them failed ({cause})."
    else:
        msg += " Pass download=True to fetch them."
    msg += (
        f" Place the files in {dirs[0]} (or set data_home / the SKDEEPCLUSTER_DATA "
        "environment variable to the folder that holds them)."
    )
    return OSError(msg)


def _fetch_all(name, mirror, wanted, dirs, download, check_for):
    """Download every file in ``wanted`` (names) into ``dirs[0]``."""
    try:
        for filename in wanted:
            _download(mirror + filename, dirs[0] / filename, check_for(filename))
    except (urllib.error.URLError, OSError) as exc:
        if isinstance(exc, _ChecksumError):
            raise
        raise _missing_error(name, wanted, dirs, True, cause=exc) from exc
