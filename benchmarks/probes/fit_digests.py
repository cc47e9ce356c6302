"""Bitwise digests of short fits: does a change leave what every estimator computes alone?

Usage: OMP_NUM_THREADS=1 python benchmarks/probes/fit_digests.py [CASE ...]

Fits each case on the first 400 of scikit-learn's digits (8x8 images) for a few epochs,
seed 0, on the CPU, and prints a SHA-256 of its labels, its weights (``state_dict``), its
per-epoch losses (``history_`` without the timings), ``predict_proba`` where it has one
and ``resolved_params_``, with the sizes of its clusters.  Run it before and after a
change meant to move code without changing behaviour: the digests must be the same.
One thread makes the sums repeatable across runs of this machine; digests differ
between machines (their float rounding differs), so compare runs of one machine only.
The cases: each method with its defaults but for the epochs, GATCluster with two heads,
and DualAE with three restarts combined (``n_init=3``).
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
    return h.hexdigest()[:16]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", help=f"some of {', '.join(CASES)} (default: all)")
    args = parser.parse_args()
    unknown = [name for name in args.cases if name not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; the cases are {', '.join(CASES)}")
    X = load_digits().images[:400]
    for name in args.cases or CASES:
        cls, params = CASES[name]
        with warnings.catch_warnings():  # a few epochs leave clusters empty: said by the sizes
            warnings.simplefilter("ignore")
            est = cls(n_clusters=10, random_state=0, device="cpu", **params).fit(X)
        sizes = np.bincount(est.labels_, minlength=10).tolist()
        print(f"{name:16} {digest(est, X)}  cluster sizes {sizes}", flush=True)


if __name__ == "__main__":
    main()
