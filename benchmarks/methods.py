"""What the benchmark runner can fit: our estimators and the tools users pick instead.

Each entry builds an estimator for one fit from ``(n_clusters, seed, device,
epochs)`` and says which input it takes: ``"images"`` (the loader's uint8
image array, as a user would pass it to an ``skdeepcluster`` estimator),
``"pixels"`` (flattened pixels scaled to [0, 1], float32, what scikit-learn
and ClustPy expect) or ``"features"`` (the rows ``PretrainedFeatures()``
gives for the images, with its defaults: the pipeline
``make_pipeline(PretrainedFeatures(), estimator)``).  The methods on features
are named ``<method>+features``.  ``epochs`` is None for every method's own defaults;
the scaling runs set it to time a few epochs on large sets.
"""

import numpy as np

from skdeepcluster._cli.registry import METHODS as OURS


def _ours(cls):
    def build(n_clusters, seed, device, epochs):
        params = {"n_clusters": n_clusters, "random_state": seed, "device": device}
        if epochs is not None:
            # Every epoch parameter of the estimator (DualAE has three phases).
            params.update({name: epochs for name in cls().get_params() if name.endswith("epochs")})
        return cls(**params)

    return build


def _kmeans(n_clusters, seed, device, epochs):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=n_clusters, n_init=10, random_state=seed)


def _spectral(n_clusters, seed, device, epochs):
    from sklearn.cluster import SpectralClustering

    return SpectralClustering(
        n_clusters=n_clusters, affinity="nearest_neighbors", random_state=seed, n_jobs=None
    )


class UMAPKMeans:
    """UMAP to 10 dimensions, then k-means: what many practitioners try first on pixels.

    N2D's manifold step without the autoencoder: ``umap.UMAP(n_components=10,
    n_neighbors=15, min_dist=0.0, random_state=seed)`` on the pixels, then
    ``KMeans(n_clusters, n_init=10)`` on the embedding (umap-learn, from the
    ``bench`` extra).  ``predict`` embeds new points with the fitted UMAP.
    """

    def __init__(self, n_clusters, random_state):
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X, y=None):
        import umap  # the ``bench`` extra
        from sklearn.cluster import KMeans

        self.umap_ = umap.UMAP(
            n_components=10, n_neighbors=15, min_dist=0.0, random_state=self.random_state
        )
        embedding = self.umap_.fit_transform(X)
        self.kmeans_ = KMeans(self.n_clusters, n_init=10, random_state=self.random_state)
        self.labels_ = self.kmeans_.fit_predict(embedding)
        return self

    def predict(self, X):
        return self.kmeans_.predict(self.umap_.transform(X))


def _umap_kmeans(n_clusters, seed, device, epochs):
    return UMAPKMeans(n_clusters, seed)


def _clustpy(name):
    def build(n_clusters, seed, device, epochs):
        import torch
        from clustpy import deep  # the ``bench`` extra

        params = {
            "n_clusters": n_clusters,
            "random_state": seed,
            "device": torch.device("cuda" if device == "cuda" else "cpu"),
        }
        if epochs is not None:
            params.update(pretrain_epochs=epochs, clustering_epochs=epochs)
        return getattr(deep, name)(**params)

    return build


# name -> (builder, input kind, family)
METHODS = {
    **{name: (_ours(cls), "images", "skdeepcluster") for name, cls in OURS.items()},
    "kmeans": (_kmeans, "pixels", "scikit-learn"),
    "spectral": (_spectral, "pixels", "scikit-learn"),
    "umap-kmeans": (_umap_kmeans, "pixels", "umap-learn"),
    "clustpy-dec": (_clustpy("DEC"), "pixels", "clustpy"),
    "clustpy-idec": (_clustpy("IDEC"), "pixels", "clustpy"),
    "clustpy-vade": (_clustpy("VaDE"), "pixels", "clustpy"),
}
FEATURES_SUFFIX = "+features"
# Ours and the shallow peers on pretrained features (ClustPy's are built for pixels).
FEATURE_METHODS = [name + FEATURES_SUFFIX for name in (*OURS, "kmeans", "spectral", "umap-kmeans")]
METHODS.update(
    {
        name: (
            METHODS[name[: -len(FEATURES_SUFFIX)]][0],
            "features",
            METHODS[name[: -len(FEATURES_SUFFIX)]][2],
        )
        for name in FEATURE_METHODS
    }
)


def as_input(X, kind):
    """``X`` (uint8 images from a loader) in the form a method of ``kind`` takes (not features)."""
    if kind == "images":
        return X
    pixels = X.reshape(len(X), -1).astype(np.float32)
    return pixels / max(float(pixels.max()), 1.0)


# How the page and the figures name each method: ours by class name, the peers as users know them.
LABELS = {
    **{name: cls.__name__ for name, cls in OURS.items()},
    "kmeans": "KMeans",
    "spectral": "SpectralClustering",
    "umap-kmeans": "UMAP + KMeans",
    "clustpy-dec": "ClustPy DEC",
    "clustpy-idec": "ClustPy IDEC",
    "clustpy-vade": "ClustPy VaDE",
}


def label(method):
    """The name ``method`` (a runner's name) has on the page and in figures."""
    if on_features(method):
        return f"{label(method[: -len(FEATURES_SUFFIX)])} on features"
    return LABELS.get(method, method)


def on_features(method):
    """Whether ``method`` clusters pretrained features (``<method>+features``), not pixels."""
    return method.endswith(FEATURES_SUFFIX)


def is_ours(method):
    """Whether ``method`` is one of skdeepcluster's estimators (else a peer)."""
    return method in METHODS and METHODS[method][2] == "skdeepcluster"
