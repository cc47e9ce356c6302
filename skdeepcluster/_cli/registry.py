"""The names the command and the benchmarks know: the four methods and the data sets.

``python -m skdeepcluster --method NAME --dataset NAME`` and ``benchmarks/`` read both
tables from here, so a method or a set is added in one place.
"""

from sklearn.datasets import load_digits

from .. import datasets
from ..dccs import DCCSClustering
from ..dual_ae_spectral import DualAESpectralClustering
from ..gatcluster import GATCluster
from ..variational import VariationalClustering

METHODS = {
    "dccs": DCCSClustering,
    "dual-ae-spectral": DualAESpectralClustering,
    "gatcluster": GATCluster,
    "variational": VariationalClustering,
}


def _digits(data_home):
    bunch = load_digits()
    return bunch.images, bunch.target


# The sets the command (and the benchmarks) can load by name: name -> loader(data_home).
LOADERS = {
    "digits": _digits,
    "mnist-test": lambda home: datasets.load_mnist(home, subset="test", return_X_y=True),
    "mnist": lambda home: datasets.load_mnist(home, return_X_y=True),
    "fashion-mnist-test": lambda home: datasets.load_fashion_mnist(
        home, subset="test", return_X_y=True
    ),
    "fashion-mnist": lambda home: datasets.load_fashion_mnist(home, return_X_y=True),
    "usps": lambda home: datasets.load_usps(home, return_X_y=True),
    "coil20": lambda home: datasets.load_coil20(home, return_X_y=True),
    "orl": lambda home: datasets.load_orl_faces(home, return_X_y=True),
    "mixed40": lambda home: datasets.load_mixed40(home, return_X_y=True),
    "cifar10-4k": lambda home: datasets.load_cifar10_4k(home, return_X_y=True),
}
DATASETS = list(LOADERS)


def load(name, data_home):
    """Images and labels of the set ``name`` (one of ``DATASETS``) from ``data_home``."""
    if name not in LOADERS:
        raise ValueError(f"Unknown data set {name!r}; the sets are {', '.join(DATASETS)}.")
    return LOADERS[name](data_home)
