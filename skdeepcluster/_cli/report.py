"""What ``python -m skdeepcluster FOLDER`` writes.

A CSV, a contact sheet per cluster and an overview.
"""

import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from scipy.spatial.distance import cdist
from torchvision.utils import make_grid

from ..datasets._image_folder import read_image

_WHITE = (255, 255, 255)


def confidence(estimator, X):
    """Per row of ``X``: how sure the fitted ``estimator`` is of its cluster, in [0, 1].

    The largest soft assignment where the estimator has ``predict_proba``;
    otherwise the margin between the two nearest cluster centres in the
    embedding its labels come from, ``(d2 - d1) / d2`` (0: half-way between
    two clusters, 1: on a centre).
    """
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X).max(axis=1)
    distances = np.sort(cdist(estimator.transform(X), estimator.cluster_centers_), axis=1)
    return (distances[:, 1] - distances[:, 0]) / np.maximum(distances[:, 1], 1e-12)


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # a Pillow without FreeType: its bitmap font
        return ImageFont.load_default()


def _thumbnails(root, names, side):
    """The files ``names`` under ``root`` as an RGB uint8 tensor (n, 3, side, side)."""
    images = np.stack([read_image(Path(root, name), (side, side)) for name in names])
    return torch.from_numpy(images).permute(0, 3, 1, 2)


def _grid(thumbnails, columns):
    grid = make_grid(thumbnails, nrow=columns, padding=2, pad_value=255)
    return Image.fromarray(grid.permute(1, 2, 0).numpy())


def _titled(image, title, font, band=28):
    sheet = Image.new("RGB", (max(image.width, 420), image.height + band), _WHITE)
    sheet.paste(image, (0, band))
    ImageDraw.Draw(sheet).text((4, 5), title, fill=(0, 0, 0), font=font)
    return sheet


def write_report(
    out,
    root,
    filenames,
    labels,
    scores,
    n_clusters,
    *,
    per_sheet=64,
    columns=8,
    side=96,
    overview_side=64,
):
    """Write ``clusters.csv``, ``cluster_<k>.png`` for each non-empty cluster, ``overview.png``.

    Images are read again from their files under ``root`` (in colour, at
    ``side`` pixels) so the sheets show them as a person knows them, not at
    the size they were clustered at.  Sheets hold a cluster's ``per_sheet``
    most confident images, most confident first.  Returns the paths written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "clusters.csv"]
    with open(written[0], "w", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(["file", "cluster", "confidence"])
        rows.writerows((name, int(k), f"{s:.4f}") for name, k, s in zip(filenames, labels, scores))
    font, members = _font(16), []
    for k in range(n_clusters):
        rows = np.flatnonzero(labels == k)
        members.append(rows[np.argsort(-scores[rows], kind="stable")])
        if not len(rows):
            continue
        top = members[k][:per_sheet]
        sheet = _titled(
            _grid(_thumbnails(root, filenames[top], side), columns),
            f"cluster {k}: {len(rows)} images"
            + ("" if len(top) == len(rows) else f"; the {len(top)} most confident")
            + ", most confident first",
            font,
        )
        sheet.save(out / f"cluster_{k:02d}.png")
        written.append(out / f"cluster_{k:02d}.png")
    label_width, cell = 110, overview_side + 2
    overview = Image.new("RGB", (label_width + columns * cell + 2, 30 + n_clusters * cell), _WHITE)
    draw = ImageDraw.Draw(overview)
    draw.text(
        (4, 6),
        f"{len(labels)} images in {n_clusters} clusters; each row: its most confident images",
        fill=(0, 0, 0),
        font=font,
    )
    for k, rows in enumerate(members):
        top = 30 + k * cell
        draw.text((4, top + cell // 2 - 9), f"{k}: {len(rows)} images", fill=(0, 0, 0), font=font)
        if len(rows):
            overview.paste(
                _grid(_thumbnails(root, filenames[rows[:columns]], overview_side), columns),
                (label_width, top),
            )
    overview.save(out / "overview.png")
    written.append(out / "overview.png")
    return written
