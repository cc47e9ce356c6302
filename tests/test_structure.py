"""The package's shape: nn/ stands below the estimators, and every parameter is documented."""

import ast
import inspect
import re
from pathlib import Path

import pytest

import skdeepcluster

from .conftest import ESTIMATORS, IDS

PACKAGE = Path(skdeepcluster.__file__).parent


@pytest.mark.parametrize("path", sorted((PACKAGE / "nn").glob("*.py")), ids=lambda p: p.name)
def test_nn_imports_nothing_from_the_estimator_layer(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            inside = node.level == 1 or (node.module or "").startswith("skdeepcluster.nn")
            above = node.level > 1 or (
                node.level == 0 and (node.module or "").startswith("skdeepcluster") and not inside
            )
            assert not above, f"{path.name} imports {node.module!r} from above nn/"
            assert node.module not in ("sklearn",) and not (node.module or "").startswith(
                "sklearn"
            ), f"{path.name} imports scikit-learn"
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            assert not any(
                n == "skdeepcluster"
                or (n.startswith("skdeepcluster.") and not n.startswith("skdeepcluster.nn"))
                or n.startswith("sklearn")
                for n in names
            ), f"{path.name} imports {names}"


def _documented_parameters(cls):
    doc = cls.__doc__
    section = doc.split("    Parameters\n    ----------\n")[1].split("\n    Attributes\n")[0]
    names = []
    for line in section.splitlines():
        match = re.match(r"^    (\w+(?:, \w+)*) :", line)
        if match:
            names.extend(match.group(1).split(", "))
    return names


@pytest.mark.parametrize("cls", ESTIMATORS, ids=IDS)
def test_every_parameter_is_documented_once_in_signature_order(cls):
    assert not re.findall(r"^    <.*>$", cls.__doc__, flags=re.M), "a placeholder was left"
    signature = [name for name in inspect.signature(cls.__init__).parameters if name != "self"]
    assert _documented_parameters(cls) == signature


@pytest.mark.parametrize("cls", ESTIMATORS, ids=IDS)
def test_shared_parameters_read_the_same_everywhere(cls):
    def entry(doc, name):
        return re.search(rf"^    {name} :.*?(?=^    \w)", doc, flags=re.M | re.S).group(0)

    reference = ESTIMATORS[0].__doc__
    for name in (
        "image_shape",
        "device",
        "verbose",
        "max_device_bytes",
        "checkpoint_path",
        "checkpoint_every",
    ):
        assert entry(cls.__doc__, name) == entry(reference, name), name
