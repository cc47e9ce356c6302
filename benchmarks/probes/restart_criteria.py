"""Which label-free criterion ranks one method's fits like their accuracy does (issue 41).

Usage (from the repository root)::

    python benchmarks/probes/restart_criteria.py --method dccs --dataset digits \\
        --seeds 0-7 --data-home ../shared/datasets [--out benchmarks/results/restarts]

Fits the method with its defaults (or ``--set NAME=VALUE``, in its own
``--out``) once per seed (a fit already saved in
``--out`` is reused, so a run can be stopped and continued) and keeps what a
criterion may read: labels, ``predict_proba``, ``transform``, ``history_``
and, where the estimator has it, ``score_samples``.  Then prints, for every
candidate criterion (higher is meant to be better), its value for each fit,
Spearman's rank correlation with ACC over the seeds, and the ACC of the fit
it would keep:

- ``nbr_kappa_pix{5,10,30}``: the share of each image's 5/10/30 nearest
  neighbours (PCA-50 of the pixels, one space for every fit) in its
  cluster, corrected for chance by the cluster sizes (Cohen's kappa);
- ``nbr_kappa_own``: the same with 10 neighbours in the fit's own embedding;
- ``sil_pix``, ``ch_pix``: silhouette and Calinski-Harabasz on the PCA-50;
- ``consensus``: the mean ARI of the fit's labels to every other seed's;
- ``-final_loss``: minus the sum of the loss terms of the last epoch;
- ``confidence``: the mean largest soft assignment;
- ``elbo``: the mean ``score_samples`` (VariationalClustering).

The column ``n_init=3`` is restarts simulated from the saved fits: the
mean ACC of the fit the criterion keeps over every triple of the seeds (the
ACC row gives one fit's mean there).  "consensus" is computed against all
the other seeds, not those of a triple.  Labels are used only to print ACC
beside the criteria.
"""

import argparse
import itertools
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run.py
from run import DATASET_CHOICES, _load, parse_params

from skdeepcluster._cli.registry import METHODS

_SKIP = {"epoch", "time", "samples_per_s", "phase", "temperature", "relation_fallback", "lr"}


def _seeds(text):
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def fit_and_save(method, X, y, seed, path, params=None):
    est = METHODS[method](
        n_clusters=len(np.unique(y)), random_state=seed, device="cpu", **(params or {})
    )
    start = time.perf_counter()
    est.fit(X)
    fit_s = time.perf_counter() - start
    out = {
        "labels": est.labels_,
        "fit_s": fit_s,
        "embedding": est.transform(X),
        "history": json.dumps(est.history_),
        "params": json.dumps(params or {}),
    }
    if hasattr(est, "predict_proba"):
        out["proba"] = est.predict_proba(X)
    if hasattr(est, "score_samples"):
        out["score_samples"] = est.score_samples(X)
    np.savez_compressed(path, **out)


def neighbour_kappa(neighbours, labels):
    """Chance-corrected share of each row's neighbours that share its label."""
    agree = (labels[neighbours] == labels[:, None]).mean()
    chance = ((np.bincount(labels) / len(labels)) ** 2).sum()
    return (agree - chance) / (1 - chance)


def criteria(X, fits):
    """Every candidate criterion of every fit (a dict of lists, in the order of ``fits``)."""
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, silhouette_score
    from sklearn.neighbors import NearestNeighbors

    pixels = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    pixels = (pixels - pixels.min()) / max(pixels.max() - pixels.min(), 1e-12)
    Z = PCA(min(50, *pixels.shape), random_state=0).fit_transform(pixels)
    near = NearestNeighbors(n_neighbors=31).fit(Z).kneighbors(Z, return_distance=False)[:, 1:]
    rows = {}
    for fit in fits:
        labels, several = fit["labels"], len(np.unique(fit["labels"])) > 1
        values = {f"nbr_kappa_pix{k}": neighbour_kappa(near[:, :k], labels) for k in (5, 10, 30)}
        own = (
            NearestNeighbors(n_neighbors=11)
            .fit(fit["embedding"])
            .kneighbors(fit["embedding"], return_distance=False)[:, 1:]
        )
        values["nbr_kappa_own"] = neighbour_kappa(own, labels)
        values["sil_pix"] = silhouette_score(Z, labels) if several else -1.0
        values["ch_pix"] = calinski_harabasz_score(Z, labels) if several else 0.0
        values["consensus"] = np.mean(
            [adjusted_rand_score(labels, other["labels"]) for other in fits if other is not fit]
        )
        last = json.loads(str(fit["history"]))[-1]
        values["-final_loss"] = -sum(
            v for k, v in last.items() if k not in _SKIP and isinstance(v, (int, float))
        )
        if "proba" in fit:
            values["confidence"] = fit["proba"].max(axis=1).mean()
        if "score_samples" in fit:
            values["elbo"] = fit["score_samples"].mean()
        for key, value in values.items():
            rows.setdefault(key, []).append(float(value))
    return rows


def saved_fits_parser(description):
    """The probes' arguments: a method, a set, its seeds, where the data and the fits are."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--method", required=True, choices=sorted(METHODS))
    parser.add_argument("--dataset", required=True, choices=DATASET_CHOICES)
    parser.add_argument("--seeds", default="0-7", help="'0-7' or '0,3,5'")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", default="benchmarks/results/restarts")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter other than the default (a Python literal), repeatable; "
        "give such fits their own --out",
    )
    return parser


def saved_fits(args):
    """``(X, y, seeds, fits)``: one default fit per seed, read from ``args.out`` or fitted there.

    Prints each fit's ACC, clusters used and fit time.
    """
    from skdeepcluster.metrics import cluster_accuracy

    X, y = _load(args.dataset, args.data_home, None)
    os.makedirs(args.out, exist_ok=True)
    seeds, fits, params = _seeds(args.seeds), [], parse_params(args.set)
    for seed in seeds:
        path = os.path.join(args.out, f"{args.method}_{args.dataset}_{seed}.npz")
        if not os.path.exists(path):
            fit_and_save(args.method, X, y, seed, path, params)
        fits.append(dict(np.load(path)))
        fit = fits[-1]
        saved = json.loads(str(fit.get("params", "{}")))
        if saved != params:
            raise ValueError(f"{path} was fitted with {saved}, not {params}: give another --out.")
        print(
            f"{args.method} {args.dataset} seed {seed}: "
            f"ACC {cluster_accuracy(y, fit['labels']):.3f}, "
            f"{len(np.unique(fit['labels']))} of {len(np.unique(y))} clusters used, "
            f"fit {float(fit['fit_s']):.0f} s",
            flush=True,
        )
    return X, y, seeds, fits


def main(argv=None):
    args = saved_fits_parser(__doc__.split("\n")[0]).parse_args(argv)

    from scipy.stats import spearmanr

    from skdeepcluster.metrics import cluster_accuracy

    X, y, seeds, fits = saved_fits(args)
    acc = np.array([cluster_accuracy(y, fit["labels"]) for fit in fits])
    triples = [list(t) for t in itertools.combinations(range(len(fits)), 3)]
    print(
        f"\n{'criterion':16s} {'Spearman':>8s} {'kept ACC':>8s} {'n_init=3':>8s}  per seed {seeds}"
    )
    for key, values in criteria(X, fits).items():
        rho = spearmanr(values, acc).correlation if len(fits) > 2 else float("nan")
        kept = acc[int(np.argmax(values))]
        # n_init=3 simulated: the mean ACC of the fit kept in every triple of the seeds.
        three = np.mean([acc[t[int(np.argmax(np.asarray(values)[t]))]] for t in triples])
        print(
            f"{key:16s} {rho:+8.2f} {kept:8.3f} {three:8.3f}  "
            + " ".join(f"{v:.4g}" for v in values)
        )
    print(
        f"{'ACC':16s} {'':8s} {max(acc):8.3f} {acc.mean():8.3f}  "
        + " ".join(f"{a:.3f}" for a in acc)
    )


if __name__ == "__main__":
    main()
