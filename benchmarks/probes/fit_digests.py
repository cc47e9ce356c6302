"""Bitwise digests of short fits: does a change leave what every estimator computes alone?

Usage: OMP_NUM_THREADS=1 python benchmarks/probes/fit_digests.py [CASE ...]

Fits each case on the first 400 of scikit-learn's digits (8x8 images) for a few epochs,
seed 0, on the CPU, and prints a SHA-256 of its labels, its weights (``state_dict``), its
per-epoch losses (``history_`` without the timings), ``predict_proba`` where it has one,
``resolved_params_``, the restarts' scores and, of a consensus, each restart's labels and
weights, with the sizes of its clusters.  Run it before and after a change meant to move
code without changing behaviour: the digests must be the same.  One thread makes the sums
repeatable across runs of this machine; digests differ between machines (their float
rounding differs), so compare runs of one machine only.
The cases: each method with its defaults but for the epochs, GATCluster with two heads,
and DualAE with three restarts combined (``n_init=3``); then the branches the defaults do
not take, so that moving a method's training is checked on every path: each method on
feature rows (the digits' 64 values as rows: neighbour views, the k-means start, DualAE's
pairs from the input), VariationalClustering's pretraining and its ELBO's per-sample term,
GATCluster's other target normalisations, reused views and mutual-information term,
DualAE's paper affinity, DCCS's cosine schedule with given crops and flips, and the
restarts' other paths: a consensus of soft assignments, the best restart kept, and a warm
start of a consensus (a case ending in "-warm" is fitted twice, the second fit warm).
"""

import argparse
import hashlib
import warnings

import numpy as np
from sklearn.datasets import load_digits

from skdeepcluster import (
    DCCSClustering,
    DualAESpectralClustering,
    GATCluster,
    VariationalClustering,
)

_GAT = dict(max_epochs=2, batch_size=32, target_batch=100, num_repeat=1)
_DUAL = dict(batch_size=64, spectral_batch_size=100)
CASES = {
    "dccs": (DCCSClustering, dict(max_epochs=3, batch_size=64)),
    "vc": (VariationalClustering, dict(max_epochs=3, batch_size=64)),
    "gat": (GATCluster, _GAT),
    "gat-2-heads": (GATCluster, dict(_GAT, n_heads=2)),
    "dual": (
        DualAESpectralClustering,
        dict(_DUAL, pretrain_epochs=2, siamese_epochs=2, spectral_epochs=2, max_epochs=2),
    ),
    "dual-3-restarts": (
        DualAESpectralClustering,
        dict(_DUAL, pretrain_epochs=1, siamese_epochs=1, spectral_epochs=1, max_epochs=1, n_init=3),
    ),
    # The branches the defaults leave out ("-rows": the digits as 64-value feature rows).
    "dccs-rows": (DCCSClustering, dict(max_epochs=3, batch_size=64)),
    "vc-rows": (VariationalClustering, dict(max_epochs=3, batch_size=64)),
    "gat-rows": (GATCluster, _GAT),
    "dual-rows": (
        DualAESpectralClustering,
        dict(_DUAL, pretrain_epochs=2, spectral_epochs=2, siamese_epochs=2, max_epochs=2),
    ),
    "vc-pretrain-per-sample": (
        VariationalClustering,
        dict(
            max_epochs=2,
            pretrain_epochs=2,
            batch_size=64,
            categorical_kl="per_sample",
            straight_through=True,
        ),
    ),
    "gat-clean-reused-mi": (
        GATCluster,
        dict(_GAT, target_norm="clean", fresh_views=False, mi_weight=1.0),
    ),
    "gat-running-hflip": (GATCluster, dict(_GAT, target_norm="running", hflip=True)),
    "dual-knn": (
        DualAESpectralClustering,
        dict(_DUAL, affinity="knn", pretrain_epochs=2, spectral_epochs=2, max_epochs=2),
    ),
    "dccs-cosine-crops": (
        DCCSClustering,
        dict(max_epochs=3, batch_size=64, lr_schedule="cosine", crop_scale=(0.5, 1.0), hflip=True),
    ),
    "dccs-3-restarts": (DCCSClustering, dict(max_epochs=2, batch_size=64, n_init=3)),
    "gat-2-best": (GATCluster, dict(_GAT, max_epochs=1, n_init=2, combine="best")),
    "vc-2-restarts-warm": (
        VariationalClustering,
        dict(max_epochs=2, batch_size=64, n_init=2, warm_start=True),
    ),
}
# Per-epoch records that measure time, not what was computed.
_TIMINGS = ("time", "samples_per_s")


def digest(est, X):
    """SHA-256 (16 hex digits) of what ``est``'s fit on ``X`` computed."""
    h = hashlib.sha256()
    h.update(np.asarray(est.labels_).tobytes())
    for name, value in est.module_.state_dict().items():
        h.update(name.encode())
        h.update(value.detach().cpu().numpy().tobytes())
    losses = [{k: v for k, v in r.items() if k not in _TIMINGS} for r in est.history_]
    h.update(repr(losses).encode())
    if hasattr(est, "predict_proba"):
        h.update(np.asarray(est.predict_proba(X)).tobytes())
    h.update(repr(sorted((k, repr(v)) for k, v in est.resolved_params_.items())).encode())
    h.update(repr((est.restart_scores_.tolist(), est.best_restart_)).encode())
    for member in getattr(est, "consensus_", None) and est.consensus_.members or []:
        h.update(np.asarray(member.labels_).tobytes())
        for value in member.module_.state_dict().values():
            h.update(value.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", help=f"some of {', '.join(CASES)} (default: all)")
    args = parser.parse_args()
    unknown = [name for name in args.cases if name not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; the cases are {', '.join(CASES)}")
    digits = load_digits()
    for name in args.cases or CASES:
        cls, params = CASES[name]
        X = (digits.data if name.endswith("-rows") else digits.images)[:400]
        with warnings.catch_warnings():  # a few epochs leave clusters empty: said by the sizes
            warnings.simplefilter("ignore")
            est = cls(n_clusters=10, random_state=0, device="cpu", **params).fit(X)
            if name.endswith("-warm"):
                est.fit(X)
        sizes = np.bincount(est.labels_, minlength=10).tolist()
        print(f"{name:24} {digest(est, X)}  cluster sizes {sizes}", flush=True)


if __name__ == "__main__":
    main()
