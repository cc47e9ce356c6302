"""How the partitions of restarts combine best (issue 52): measured on saved single fits.

Usage (from the repository root)::

    python benchmarks/probes/restart_consensus.py --method gatcluster --dataset digits \\
        --seeds 0-7 --data-home ../shared/datasets [--out benchmarks/results/restarts]

Fits the method with its defaults once per seed, or reuses the fits
``restart_criteria.py`` saved in ``--out`` (labels and soft assignments),
then combines the labels of every subset of 3 and of 5 of those fits, with
no label used, and prints ACC (mean, median, worst and best over the
subsets) and the fewest clusters any combination used:

- ``one fit``: each fit alone (today's ``n_init=1``);
- ``agree-most``: keep the fit of highest mean adjusted Rand index with the
  others of its subset;
- ``vote``: the package's consensus on hard labels (Hungarian alignment to
  the fit that agrees most, then re-aligned to the vote until it settles);
- ``soft mean``: the same alignment, the aligned soft assignments averaged
  (what ``combine="consensus"`` does for estimators with ``predict_proba``);
- ``HBGF``: the bipartite graph of samples and every fit's clusters (Fern and
  Brodley 2004): its normalised incidence's top singular vectors, k-means.

Then, per fit, the cheapest form of a consensus inside one fit: its trained
representation kept and only the clustering step diversified, as several
cluster heads on one backbone would (SCAN, TEMI): k-means on the fit's
embedding (``transform``) from 10 starts, the one of least inertia and the
vote of all 10, and the vote of the fit's own labels with 4 of them.  If the
partitions read from one representation agree, heads cannot cancel what a
poor representation gets wrong.

A subset stands for ``n_init`` restarts of one fit; restarts of one fit are
the next draws of its ``random_state``, not these seeds, so the fit time of
a restart is a single fit's.
"""

import itertools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # restart_criteria.py
from restart_criteria import saved_fits, saved_fits_parser


def hbgf(partitions, n_clusters):
    """Hybrid bipartite graph formulation: spectral clustering of samples and clusters together."""
    from scipy.sparse import csr_matrix, diags
    from sklearn.cluster import KMeans

    n, m = len(partitions[0]), len(partitions)
    columns = np.concatenate([p + i * n_clusters for i, p in enumerate(partitions)])
    incidence = csr_matrix(
        (np.ones(n * m), (np.tile(np.arange(n), m), columns)), shape=(n, m * n_clusters)
    )
    sizes = np.asarray(incidence.sum(axis=0)).ravel()
    normalised = incidence @ diags(1 / np.sqrt(np.maximum(sizes, 1))) / np.sqrt(m)
    # Dense: n rows of m * n_clusters columns is small, and ARPACK's svds fails on 20 clusters
    # of 200 samples (error 3).  The top singular vectors, sign and order aside, as svds's.
    u = np.linalg.svd(normalised.toarray(), full_matrices=False)[0][:, :n_clusters]
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)
    return KMeans(n_clusters, n_init=10, random_state=0).fit_predict(u)


def combinations(partitions, probas, n_clusters):
    """Every combination's labels of one subset of fits, by name."""
    from skdeepcluster._framework.consensus import consensus, most_agreeing

    out = {
        "agree-most": partitions[most_agreeing(partitions)],
        "vote": consensus(partitions, n_clusters)[0],
    }
    if probas is not None:
        out["soft mean"] = consensus(partitions, n_clusters, probas)[0]
    out["HBGF"] = hbgf(partitions, n_clusters)
    return out


def one_representation(fits, y, n_clusters):
    """Per fit: ACC of its labels, of k-means on its embedding (best, vote), of labels + k-means."""
    from sklearn.cluster import KMeans

    from skdeepcluster._framework.consensus import consensus
    from skdeepcluster.metrics import cluster_accuracy

    print(
        f"\n{'one representation':18s} {'labels':>6s} {'km best':>7s} {'km vote':>7s} "
        f"{'lab+4km':>7s} {'agree':>6s}  (ACC; agree: mean ACC of k-means against the labels)"
    )
    rows = []
    for fit in fits:
        labels = np.asarray(fit["labels"], dtype=np.intp)
        runs = [
            KMeans(n_clusters, n_init=1, random_state=r).fit(fit["embedding"]) for r in range(10)
        ]
        starts = [run.labels_ for run in runs]
        best = min(runs, key=lambda run: run.inertia_).labels_
        rows.append(
            [
                cluster_accuracy(y, labels),
                cluster_accuracy(y, best),
                cluster_accuracy(y, consensus(starts, n_clusters)[0]),
                cluster_accuracy(y, consensus([labels] + starts[:4], n_clusters)[0]),
                np.mean([cluster_accuracy(labels, p) for p in starts]),
            ]
        )
    rows = np.array(rows)
    for name, values in (("median", np.median(rows, axis=0)), ("worst", rows.min(axis=0))):
        print(f"{name:18s} " + " ".join(f"{v:7.3f}" for v in values))


def main(argv=None):
    parser = saved_fits_parser(__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="3,5", help="subset sizes (restarts combined)")
    args = parser.parse_args(argv)

    from skdeepcluster.metrics import cluster_accuracy

    _, y, _, fits = saved_fits(args)
    n_clusters = len(np.unique(y))
    # Labels as each fit's raw numbering does not matter: alignment and ACC ignore it.
    partitions = [np.asarray(fit["labels"], dtype=np.intp) for fit in fits]
    probas = [fit["proba"] for fit in fits] if all("proba" in fit for fit in fits) else None
    single = [cluster_accuracy(y, p) for p in partitions]
    fit_s = [float(fit["fit_s"]) for fit in fits]
    print(
        f"\none fit: ACC median {np.median(single):.3f} (range {min(single):.3f}-"
        f"{max(single):.3f}), mean {np.mean(single):.3f}, fit {np.median(fit_s):.0f} s "
        f"(median), every fit {min(len(np.unique(p)) for p in partitions)}+ clusters"
    )
    print(
        f"{'restarts':>8s}  {'combination':11s} {'mean':>6s} {'median':>6s} {'worst':>6s} "
        f"{'best':>6s} {'clusters':>8s}  subsets"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        if size > len(fits):
            continue
        scores = {}
        for subset in itertools.combinations(range(len(fits)), size):
            sub_probas = None if probas is None else [probas[i] for i in subset]
            for name, labels in combinations(
                [partitions[i] for i in subset], sub_probas, n_clusters
            ).items():
                scores.setdefault(name, []).append(
                    (cluster_accuracy(y, labels), len(np.unique(labels)))
                )
        for name, values in scores.items():
            acc = np.array([v[0] for v in values])
            print(
                f"{size:8d}  {name:11s} {acc.mean():6.3f} {np.median(acc):6.3f} "
                f"{acc.min():6.3f} {acc.max():6.3f} {min(v[1] for v in values):8d}  "
                f"{len(values)}",
                flush=True,
            )
    one_representation(fits, y, n_clusters)


if __name__ == "__main__":
    main()
