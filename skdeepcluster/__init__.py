"""scikit-learn compatible deep image clustering estimators on PyTorch."""

from . import datasets, metrics
from .cluster_count import NClustersEstimate, estimate_n_clusters
from .dccs import DCCSClustering
from .dual_ae_spectral import DualAESpectralClustering
from .features import PretrainedFeatures
from .gatcluster import GATCluster
from .metrics import (
    ari_scorer,
    cluster_accuracy,
    cluster_accuracy_scorer,
    get_scorer,
    label_free_scorer,
    nmi_scorer,
)
from .variational import VariationalClustering

__version__ = "0.1.0.dev0"

__all__ = [
    "DCCSClustering",
    "DualAESpectralClustering",
    "GATCluster",
    "VariationalClustering",
    "PretrainedFeatures",
    "datasets",
    "metrics",
    "cluster_accuracy",
    "cluster_accuracy_scorer",
    "nmi_scorer",
    "ari_scorer",
    "get_scorer",
    "label_free_scorer",
    "estimate_n_clusters",
    "NClustersEstimate",
]
