"""How good a partition does the data's own kNN graph give, without labels or training?

Usage: python benchmarks/probes/graph_partitions.py --data-home ../shared/datasets
       [--sets digits orl ...] [--seeds 0 1 2 3 4] [--neighbors 5 10 15]

For each set (pixels, or ``PretrainedFeatures()`` rows for ``cifar10-4k``), builds the
graph of each row's ``k`` nearest neighbours (cosine on centred rows, the statistic the
issue's neighbour table uses), symmetrised, and clusters its normalised-Laplacian
spectral embedding with k-means (scikit-learn's ``spectral_embedding``), beside
scikit-learn's ``SpectralClustering(affinity="nearest_neighbors")`` (the suite's peer)
and KMeans.  Prints ACC per seed, the median and worst, and the clusters used; labels
are read only to score.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.manifold import spectral_embedding
from sklearn.neighbors import NearestNeighbors

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run.py
from feature_cache import pretrained_features
from run import _load

from skdeepcluster.metrics import cluster_accuracy


def rows_of(name, data_home):
    X, y = _load(name, data_home, None)
    if name == "cifar10-4k":
        rows, _ = pretrained_features(name, X, "cpu")
    else:
        rows = X.reshape(len(X), -1).astype(np.float64)
    rows = rows - rows.mean(axis=0)
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    return rows, y


def knn_graph(rows, k):
    """The symmetric kNN graph (weights 1) of unit rows, by cosine."""
    nn = NearestNeighbors(n_neighbors=k + 1).fit(rows)
    _, idx = nn.kneighbors(rows)
    n = len(rows)
    edges = (np.repeat(np.arange(n), k), idx[:, 1:].ravel())
    graph = sparse.csr_matrix((np.ones(n * k), edges), shape=(n, n))
    return graph.maximum(graph.T)


def graph_spectral(rows, n_clusters, k, seed):
    embedding = spectral_embedding(
        knn_graph(rows, k), n_components=n_clusters, random_state=seed, drop_first=False
    )
    embedding /= np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-12)
    return KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(embedding)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-home", default=None)
    parser.add_argument(
        "--sets", nargs="+", default=["digits", "mnist-test-2k", "coil20-few", "orl", "cifar10-4k"]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--neighbors", type=int, nargs="+", default=[5, 10, 15])
    args = parser.parse_args()
    for name in args.sets:
        rows, y = rows_of(name, args.data_home)
        k_true = len(np.unique(y))
        methods = {"kmeans": lambda s: KMeans(k_true, n_init=10, random_state=s).fit_predict(rows)}
        methods["sklearn-spectral"] = lambda s: SpectralClustering(
            k_true, affinity="nearest_neighbors", random_state=s
        ).fit_predict(rows)
        for k in args.neighbors:
            methods[f"graph-spectral k={k}"] = lambda s, k=k: graph_spectral(rows, k_true, k, s)
        for method, fit in methods.items():
            accs, used, start = [], [], time.perf_counter()
            for seed in args.seeds:
                labels = fit(seed)
                accs.append(cluster_accuracy(y, labels))
                used.append(len(np.unique(labels)))
            seconds = (time.perf_counter() - start) / len(args.seeds)
            print(
                f"{name:14} {method:22} median {statistics.median(accs):.3f} worst {min(accs):.3f}"
                f"  per seed {' '.join(f'{a:.3f}' for a in accs)}  clusters {min(used)}-"
                f"{max(used)} of {k_true}  {seconds:.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
