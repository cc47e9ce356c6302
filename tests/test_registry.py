"""_cli/registry.py: the methods and data sets the command and the benchmarks know by name."""

import pytest
from sklearn.base import ClusterMixin

from skdeepcluster._cli import main as cli
from skdeepcluster._cli import registry


def test_every_method_is_a_clusterer_the_command_can_build():
    for name, cls in registry.METHODS.items():
        est = cls(n_clusters=3, device="cpu", random_state=0, verbose=0)
        assert isinstance(est, ClusterMixin), name
    assert cli.METHODS is registry.METHODS  # the command and the benchmarks read one table


def test_sets_load_by_name_and_an_unknown_one_is_refused():
    assert registry.DATASETS == list(registry.LOADERS)
    X, y = registry.load("digits", None)  # shipped with scikit-learn
    assert X.shape == (1797, 8, 8) and len(set(y.tolist())) == 10
    with pytest.raises(ValueError, match="Unknown data set 'coil21'; the sets are digits, "):
        registry.load("coil21", None)
