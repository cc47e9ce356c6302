"""A folder of image files as a uint8 image array: :func:`load_image_folder`.

Re-exported by :mod:`skdeepcluster.datasets` (whose benchmark loaders fill
that module); decoding is Pillow's, which torchvision depends on.
"""

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from sklearn.utils import Bunch

_INTEGER_16 = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_LUMA = np.array([299, 587, 114])  # ITU-R 601-2, as Pillow's "L" conversion


def _files(root):
    """Every non-hidden file under ``root`` (recursively), sorted by relative path."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [Path(dirpath, f) for f in filenames if not f.startswith(".")]
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def _to_rgb(img):
    """An RGB image of any mode: 16-bit scaled to 8, transparency laid on white."""
    if img.mode in _INTEGER_16 or img.mode == "F":
        values = np.asarray(img, dtype=np.float64)
        if img.mode != "F":  # 0-65535 onto 0-255
            values = values / 257.0
        img = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return img.convert("RGB")


def _fit_size(img, size):
    """Resize the shorter side to the target's and crop the centre (aspect ratio kept)."""
    if size is None or img.size == (size[1], size[0]):
        return img
    return ImageOps.fit(img, (size[1], size[0]), method=Image.Resampling.BILINEAR)


def read_image(path, size=None):
    """One image file as an RGB uint8 array of shape ``size + (3,)`` (or its own size)."""
    with Image.open(path) as img:
        img.seek(0)  # the first frame of an animation
        img.load()
        return np.asarray(_fit_size(_to_rgb(img), size))


def _check_size(size):
    if size is None:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in size
        )
    ):
        raise ValueError(
            f"size must be a positive int, a (height, width) pair or None; got {size!r}."
        )
    return int(size[0]), int(size[1])


def _listing(paths, reasons=None, limit=10):
    shown = [f"{p} ({reasons[p]})" if reasons else str(p) for p in paths[:limit]]
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return ", ".join(shown) + more


def load_image_folder(path, *, size=32, color="auto", on_error="raise", return_X_y=False):
    """Load a folder of images (PNG, JPEG, and the other formats Pillow reads).

    Every file under ``path`` is read, recursively, in sorted order of its
    path (hidden files and folders, whose names start with a dot, are left
    out).  When ``path`` holds no files of its own but two or more
    sub-folders, each sub-folder is a class, as in
    ``torchvision.datasets.ImageFolder``: ``target`` numbers them in sorted
    order of their names.

    Parameters
    ----------
    path : str or path-like
        The folder.
    size : int, (height, width) or None, default=32
        Every image is resized so that its shorter side fits and its centre
        is cropped to this size (aspect ratio kept).  32 x 32 keeps a fit of a
        few thousand images to minutes on a CPU.  None keeps the files' own
        size, which must then be the same for all.
    color : {"auto", "grey", "rgb"}, default="auto"
        "grey" returns ``(n, H, W)`` luma (ITU-R 601-2), "rgb" ``(n, H, W, 3)``;
        "auto" is "grey" when every image is grey (equal channels), else "rgb".
        Transparent pixels are laid on white; 16-bit images are scaled to 8
        bits; an animation gives its first frame.
    on_error : {"raise", "warn"}, default="raise"
        What a file that is not a readable image does: "raise" a ValueError
        naming every such file, or "warn" (a UserWarning naming them) and
        skip it.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch (``target`` is None
        when the folder has no class sub-folders).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (uint8), ``data`` (one row per image), ``filenames`` (paths
        relative to ``path``, with ``/``), ``target`` and ``target_names``
        (None without class sub-folders), ``skipped`` (the files left out)
        and ``DESCR``.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        When ``path`` is missing or not a folder.
    ValueError
        When the folder has no files, no readable image, unreadable files
        (``on_error="raise"``), or images of different sizes with
        ``size=None``.

    Examples
    --------
    >>> from skdeepcluster.datasets import load_image_folder
    >>> photos = load_image_folder("my_photos", size=32)  # doctest: +SKIP
    >>> photos.images.shape  # doctest: +SKIP
    (250, 32, 32, 3)
    """
    if color not in ("auto", "grey", "rgb"):
        raise ValueError(f"color must be 'auto', 'grey' or 'rgb'; got {color!r}.")
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn'; got {on_error!r}.")
    size = _check_size(size)
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"No folder {str(root)!r}.")
    if not root.is_dir():
        raise NotADirectoryError(f"{str(root)!r} is a file, not a folder of images.")
    files = _files(root)
    if not files:
        raise ValueError(f"The folder {str(root)!r} holds no files.")
    images, kept, failed = [], [], {}
    for file in files:
        relative = file.relative_to(root).as_posix()
        try:
            images.append(read_image(file, size))
        except Exception as exc:  # noqa: BLE001 - any decoder failure is the file's
            failed[relative] = type(exc).__name__
        else:
            kept.append(relative)
    skipped = list(failed)
    if skipped:
        what = f"{len(skipped)} of the {len(files)} files in {str(root)!r} are not readable images"
        if on_error == "raise":
            raise ValueError(
                f"{what}: {_listing(skipped, failed)}. Remove them, or pass "
                "on_error='warn' to skip them."
            )
        warnings.warn(f"{what}; skipped: {_listing(skipped, failed)}.", UserWarning, stacklevel=2)
    if not images:
        raise ValueError(f"The folder {str(root)!r} holds no readable image.")
    shapes = sorted({im.shape[:2] for im in images})
    if len(shapes) > 1:
        raise ValueError(
            f"The images have different sizes ({_listing(shapes)}); pass a "
            "size, e.g. size=32, to resize them to one."
        )
    images = np.stack(images)
    if color == "grey" or (color == "auto" and (images == images[..., :1]).all()):
        images = ((images.astype(np.int64) @ _LUMA + 500) // 1000).astype(np.uint8)
    target = target_names = None
    classes = sorted({name.split("/", 1)[0] for name in kept if "/" in name})
    if len(classes) >= 2 and all("/" in name for name in kept):
        target_names = np.asarray(classes)
        target = np.searchsorted(target_names, [name.split("/", 1)[0] for name in kept])
    if return_X_y:
        return images, target
    return Bunch(
        images=images,
        data=images.reshape(len(images), -1),
        target=target,
        target_names=target_names,
        filenames=np.asarray(kept),
        skipped=skipped,
        DESCR=f"{len(images)} images of {str(root)!r}, {images.shape[1:]} uint8.",
    )
