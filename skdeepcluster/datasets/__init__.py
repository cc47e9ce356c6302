"""Offline-first loaders for the image sets deep clustering papers use.

Every loader looks for its files in ``data_home`` (the argument, else the
``SKDEEPCLUSTER_DATA`` environment variable, else ``~/skdeepcluster_data``),
both directly in that folder and in a sub-folder named after the set
(``mnist/``, ``fashion-mnist/``, ``usps/``, ``coil20/``, ``orl_faces/``,
``mixed40/``, ``cifar10_4k/``).  It accepts:

- the standard distribution files: MNIST and Fashion-MNIST as their four idx
  files (``train-images-idx3-ubyte.gz`` ...; gzip or uncompressed), USPS as
  ``zip.train.gz`` and ``zip.test.gz`` (the text format of *The Elements of
  Statistical Learning*: a label then 256 grey values in [-1, 1] per line);
- an ``.npz`` archive holding ``X`` (uint8 images ``(n, H, W)``, or
  ``(n, H, W, 3)`` for colour), ``y`` and, for sets with an official split,
  ``n_train`` (the first ``n_train`` rows are the training part):
  ``mnist.npz``, ``fashion_mnist.npz``, ``coil20.npz``, ``orl_faces.npz``,
  ``mixed40.npz``, ``cifar10_4k.npz``.

The checksum of the *decompressed* data is verified where the published one
is known (MNIST, Fashion-MNIST, our COIL-20, ORL, mixed40 and cifar10_4k archives), so
recompressed copies
(such as those Debian's ``dataset-fashion-mnist`` package installs under
``/usr/share/datasets/fashion-mnist/``) load as well as the originals.  Only
when no file is found and ``download=True`` is a download tried; the file is
verified before it is moved into place, so no half file is ever left behind.

:func:`load_image_folder` reads a user's own folder of image files.
"""

import math
import struct

import numpy as np
from sklearn.utils import Bunch

from ._files import (
    _fetch_all,
    _find,
    _missing_error,
    _read_maybe_gzip,
    _search_dirs,
    _verify,
    get_data_home,
)
from ._image_folder import load_image_folder

__all__ = [
    "get_data_home",
    "load_mnist",
    "load_fashion_mnist",
    "load_usps",
    "load_coil20",
    "load_orl_faces",
    "load_mixed40",
    "load_cifar10_4k",
    "load_image_folder",
]

_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# SHA-256 of the decompressed idx files (the MNIST train images have the
# published MD5 6bbc9ace898e44ae57da46a324031adb; Fashion-MNIST's match the
# files whose gzip MD5s its authors publish).
_IDX_SETS = {
    "mnist": {
        "folder": "mnist",
        "npz": "mnist.npz",
        "mirror": "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "target_names": [str(d) for d in range(10)],
        "sha256": {
            "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        "descr": (
            "MNIST handwritten digits (LeCun, Cortes and Burges): 60,000 training and "
            "10,000 test images of 28x28 grey pixels (uint8), 10 classes. Clustering "
            "papers use train and test together (MNIST-full) or the test part alone "
            "(MNIST-test)."
        ),
    },
    "fashion_mnist": {
        "folder": "fashion-mnist",
        "npz": "fashion_mnist.npz",
        "mirror": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "target_names": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
        "sha256": {
            "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        "descr": (
            "Fashion-MNIST (Xiao, Rasul and Vollgraf; Zalando SE, MIT licence): 60,000 "
            "training and 10,000 test images of 28x28 grey pixels (uint8) of 10 kinds "
            "of garment."
        ),
    },
}

_USPS = {
    "folder": "usps",
    "mirror": "https://hastie.su.domains/ElemStatLearn/datasets/",
    "files": {"train": "zip.train.gz", "test": "zip.test.gz"},
    "descr": (
        "USPS handwritten digits: 7,291 training and 2,007 test images of 16x16 grey "
        "pixels, 10 classes. The ESL text files store values in [-1, 1]; they are "
        "mapped to uint8 0..255."
    ),
}


# Sets with no public mirror in this layout: one local ``.npz`` of 32x32 images each,
# checksums of its decompressed arrays.
def _local_set(key, n, target_names, sha256_X, sha256_y, descr, shape=(32, 32)):
    return {
        "folder": key,
        "npz": f"{key}.npz",
        "shape": shape,
        "n": n,
        "target_names": target_names,
        "sha256": {"X": sha256_X, "y": sha256_y},
        "descr": descr,
    }


_LOCAL_SETS = {
    "coil20": _local_set(
        "coil20",
        1440,
        [f"object {i + 1}" for i in range(20)],
        "00af61345d0330edf71687ff64099597be41553dcfbd308e75787f43e74988bc",
        "35049b23ee21c3eac769e31734e51a64b8072276517170093a3fddccd6b9e358",
        "COIL-20 (Columbia Object Image Library): 1,440 grey images of 20 objects, "
        "each seen from 72 poses 5 degrees apart, downsampled to 32x32 (uint8). "
        "There is no official train/test split.",
    ),
    "orl_faces": _local_set(
        "orl_faces",
        400,
        [f"person {i + 1}" for i in range(40)],
        "9e062ae590605223d40576a805c29565224950cb2882c2109df03781ffe78063",
        "193039d78919527e457c8fd7b865e06d33d6446a17b42ca3eef6cb12e6e0513e",
        "ORL / AT&T faces (AT&T Laboratories Cambridge): 400 grey images of 40 people, "
        "10 each, in the 32x32 version clustering papers use (uint8).",
    ),
    "mixed40": _local_set(
        "mixed40",
        400,
        (
            [f"digit {d}" for d in range(10)]
            + [f"garment {g}" for g in range(10)]
            + [f"object {o + 1}" for o in range(20)]
        ),
        "5cfbbd85ee2f1dd6047ed08e4f6a5fb1f1005d5dacf366a61c7d5a079f63eeee",
        "193039d78919527e457c8fd7b865e06d33d6446a17b42ca3eef6cb12e6e0513e",
        "mixed40: a stress set of 40 clusters of 10 grey 32x32 images (uint8) from three "
        "domains: the first ten MNIST test images of each digit and of each Fashion-MNIST "
        "garment (28x28, zero-padded), and every 7th pose of each COIL-20 object. "
        "Labels 0-9 digits, 10-19 garments, 20-39 objects.",
    ),
    "cifar10_4k": _local_set(
        "cifar10_4k",
        4000,
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        "bac45b45504ed1289a3f437be4bfbefece248abbc094a428a0b4dfab00e776ae",
        "9f4600c456726c0a94de60dc8fbb6186ebfef07335f5b9435f98a7079b858efa",
        "cifar10_4k: the first 4,000 images of CIFAR-10's first training batch (Krizhevsky "
        "2009), in order, 32x32 colour photos (uint8, RGB, channels last) of 10 classes, "
        "366-422 each.",
        shape=(32, 32, 3),
    ),
}

_SUBSETS = ("all", "train", "test")


def _parse_idx(data, what):
    (magic,) = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise ValueError(f"{what} is not an idx file of unsigned bytes.")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    offset = 4 + 4 * ndim
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def _idx_bytes(array):
    """The idx encoding of a uint8 array (the inverse of ``_parse_idx``)."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(
        ">" + "I" * array.ndim, *array.shape
    )
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _check_subset(subset, allowed=_SUBSETS):
    if subset not in allowed:
        raise ValueError(f"subset must be one of {allowed}, got {subset!r}.")


def _bunch(images, target, target_names, descr, return_X_y, **extra):
    images = np.ascontiguousarray(images, dtype=np.uint8)
    target = np.asarray(target, dtype=np.int64)
    if return_X_y:
        return images, target
    return Bunch(
        images=images,
        data=images.reshape(len(images), -1),
        target=target,
        target_names=np.asarray(target_names),
        DESCR=descr,
        **extra,
    )


def _bunch_of_subset(split, subset, target_names, descr, return_X_y):
    """Bunch (or X, y) of ``subset`` from ``split = {"train": (X, y), "test": (X, y)}``."""
    chosen = {"train": ["train"], "test": ["test"], "all": ["train", "test"]}[subset]
    images = np.concatenate([split[c][0] for c in chosen])
    target = np.concatenate([split[c][1] for c in chosen])
    extra = {"n_train": len(split["train"][0])} if subset == "all" else {}
    return _bunch(images, target, target_names, descr, return_X_y, **extra)


def _load_idx_set(key, data_home, subset, return_X_y, download):
    spec = _IDX_SETS[key]
    _check_subset(subset)
    dirs = _search_dirs(get_data_home(data_home), spec["folder"])
    sha = spec["sha256"]

    npz_path = _find([d / spec["npz"] for d in dirs])
    if npz_path is not None:
        with np.load(npz_path) as archive:
            X, y, n_train = archive["X"], archive["y"], int(archive["n_train"])
        parts = {
            "train_images": X[:n_train],
            "train_labels": y[:n_train].astype(np.uint8),
            "test_images": X[n_train:],
            "test_labels": y[n_train:].astype(np.uint8),
        }
        for part, array in parts.items():
            _verify(_idx_bytes(array), sha[part], f"{npz_path} ({part})")
    else:

        def locate(part):
            base = _IDX_FILES[part]
            return _find([d / f for d in dirs for f in (base + ".gz", base)])

        missing = [_IDX_FILES[p] + ".gz" for p in _IDX_FILES if locate(p) is None]
        if missing:
            if not download:
                raise _missing_error(key, missing, dirs, False)
            by_name = {_IDX_FILES[p] + ".gz": p for p in _IDX_FILES}

            def check_for(filename):
                part = by_name[filename]
                return lambda data: _verify(data, sha[part], filename)

            _fetch_all(key, spec["mirror"], missing, dirs, download, check_for)
        parts = {}
        for part in _IDX_FILES:
            path = locate(part)
            data = _read_maybe_gzip(path)
            _verify(data, sha[part], str(path))
            parts[part] = _parse_idx(data, str(path))

    split = {p: (parts[f"{p}_images"], parts[f"{p}_labels"]) for p in ("train", "test")}
    return _bunch_of_subset(split, subset, spec["target_names"], spec["descr"], return_X_y)


_LOADER_DOC = """
    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding the files (see :func:`get_data_home`).
    subset : {{"all", "train", "test"}}, default="all"
        Which part of the official split to return; ``"all"`` is the training
        part followed by the test part, as clustering papers use it.
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.
    download : bool, default=False
        Fetch missing files from the set's public mirror, verifying their
        checksums; offline this raises an ``OSError`` that names the files and
        the folder to put them in.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8, ``(n, {size}, {size})``), ``data`` (the same values
        flattened to ``(n, {n_features})``), ``target`` (int64), ``target_names``,
        ``DESCR`` and, for ``subset="all"``, ``n_train``.
    (images, target) : tuple
        If ``return_X_y`` is True.
"""


def load_mnist(data_home=None, *, subset="all", return_X_y=False, download=False):
    return _load_idx_set("mnist", data_home, subset, return_X_y, download)


def load_fashion_mnist(data_home=None, *, subset="all", return_X_y=False, download=False):
    return _load_idx_set("fashion_mnist", data_home, subset, return_X_y, download)


load_mnist.__doc__ = (
    "Load MNIST handwritten digits (70,000 images, 28x28, 10 classes).\n"
    + _LOADER_DOC.format(size=28, n_features=784)
    + """
    Examples
    --------
    >>> from skdeepcluster.datasets import load_mnist
    >>> X, y = load_mnist(return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (70000, 28, 28)
"""
)
load_fashion_mnist.__doc__ = (
    "Load Fashion-MNIST (70,000 images of garments, 28x28, 10 classes).\n"
    + _LOADER_DOC.format(size=28, n_features=784)
    + """
    Examples
    --------
    >>> from skdeepcluster.datasets import load_fashion_mnist
    >>> bunch = load_fashion_mnist("/usr/share/datasets", subset="test")  # doctest: +SKIP
    >>> bunch.images.shape  # doctest: +SKIP
    (10000, 28, 28)
"""
)


def _parse_usps(text, what):
    rows = np.array(
        [line.split() for line in text.decode("ascii").splitlines() if line.strip()],
        dtype=np.float64,
    )
    if rows.ndim != 2 or rows.shape[1] != 257:
        raise ValueError(f"{what} is not a USPS file: expected a label and 256 values per line.")
    labels = rows[:, 0].astype(np.int64)
    images = np.rint((np.clip(rows[:, 1:], -1, 1) + 1) * 127.5).astype(np.uint8)
    return images.reshape(-1, 16, 16), labels


def load_usps(data_home=None, *, subset="all", return_X_y=False, download=False):
    dirs = _search_dirs(get_data_home(data_home), _USPS["folder"])
    _check_subset(subset)
    files = _USPS["files"]

    def locate(part):
        return _find([d / files[part] for d in dirs])

    missing = [files[p] for p in files if locate(p) is None]
    if missing:
        if not download:
            raise _missing_error("usps", missing, dirs, False)

        def check_for(filename):
            return lambda data: _parse_usps(data, filename)

        _fetch_all("usps", _USPS["mirror"], missing, dirs, download, check_for)
    split = {p: _parse_usps(_read_maybe_gzip(locate(p)), str(locate(p))) for p in files}
    return _bunch_of_subset(split, subset, [str(d) for d in range(10)], _USPS["descr"], return_X_y)


load_usps.__doc__ = (
    "Load USPS handwritten digits (9,298 images, 16x16, 10 classes).\n\n"
    "    No checksum of the decompressed files is published; the loader checks\n"
    "    their format instead.\n"
    + _LOADER_DOC.format(size=16, n_features=256)
    + """
    Examples
    --------
    >>> from skdeepcluster.datasets import load_usps
    >>> X, y = load_usps(return_X_y=True)  # doctest: +SKIP
"""
)


def _load_local_set(key, data_home, return_X_y):
    spec = _LOCAL_SETS[key]
    dirs = _search_dirs(get_data_home(data_home), spec["folder"])
    path = _find([d / spec["npz"] for d in dirs])
    if path is None:
        raise _missing_error(key, [spec["npz"]], dirs, False)
    with np.load(path) as archive:
        X, y = archive["X"], archive["y"].astype(np.int64)
    _verify(np.ascontiguousarray(X).tobytes(), spec["sha256"]["X"], f"{path} (X)")
    _verify(y.tobytes(), spec["sha256"]["y"], f"{path} (y)")
    return _bunch(X, y, spec["target_names"], spec["descr"], return_X_y)


_LOCAL_DOC = """
    The set has no public mirror in the layout used here, so there is no
    ``download`` option: place ``{npz}`` (``X`` uint8 ``{shape}``
    and ``y``) in ``data_home``.  Its checksum is verified.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``{npz}`` (see :func:`get_data_home`).
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8, ``{shape}``), ``data`` (``({n}, {n_features})``),
        ``target`` (int64), ``target_names`` and ``DESCR``.
    (images, target) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> from skdeepcluster.datasets import {function}
    >>> X, y = {function}(return_X_y=True)  # doctest: +SKIP
"""


def load_coil20(data_home=None, *, return_X_y=False):
    return _load_local_set("coil20", data_home, return_X_y)


def load_orl_faces(data_home=None, *, return_X_y=False):
    return _load_local_set("orl_faces", data_home, return_X_y)


def load_mixed40(data_home=None, *, return_X_y=False):
    return _load_local_set("mixed40", data_home, return_X_y)


def load_cifar10_4k(data_home=None, *, return_X_y=False):
    return _load_local_set("cifar10_4k", data_home, return_X_y)


for _function, _key, _title in (
    (load_coil20, "coil20", "Load COIL-20 (1,440 images of 20 objects, 32x32)."),
    (load_orl_faces, "orl_faces", "Load the ORL faces (400 images of 40 people, 32x32)."),
    (load_mixed40, "mixed40", "Load mixed40 (40 clusters of 10 images from three domains, 32x32)."),
    (
        load_cifar10_4k,
        "cifar10_4k",
        "Load cifar10_4k (4,000 CIFAR-10 colour photos of 10 classes, 32x32).",
    ),
):
    _spec = _LOCAL_SETS[_key]
    _function.__doc__ = (
        _title
        + "\n"
        + _LOCAL_DOC.format(
            npz=_spec["npz"],
            n=_spec["n"],
            shape=(_spec["n"], *_spec["shape"]),
            n_features=math.prod(_spec["shape"]),
            function=_function.__name__,
        )
    )
