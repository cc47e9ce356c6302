"""The package's shape: its layers import only downwards, and every parameter is documented."""

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


# The package's layers, lowest first (CONTRIBUTING.rst draws them): a module imports from
# its own layer and those below, never from above.
LAYERS = {
    "nn": 0,
    "metrics": 1,
    "datasets": 1,
    "_framework": 2,
    "features": 3,
    "dccs": 3,
    "variational": 3,
    "gatcluster": 3,
    "dual_ae_spectral": 3,
    "__init__": 4,
    "_cli": 5,
    "__main__": 5,
}


def _top(path):
    """The package's top-level name a file of it belongs to (``_framework`` for its modules)."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imported_tops(path):
    """The package's top-level names ``path`` imports (relative or absolute)."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                parts = [*base, *(node.module.split(".") if node.module else [])]
                names = [parts] if node.module else [[*parts, a.name] for a in node.names]
            else:
                names = [node.module.split(".")]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names]
        else:
            continue
        for parts in names:
            if parts[0] == "skdeepcluster":
                yield parts[1] if len(parts) > 1 else "__init__"


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_each_module_imports_only_from_its_layer_or_below(path):
    own = LAYERS[_top(path)]  # a new top-level module or package takes a place in LAYERS
    for top in _imported_tops(path):
        assert LAYERS[top] <= own, f"{path.relative_to(PACKAGE)} imports {top} from above"


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


def test_the_contributing_picture_draws_each_layer_as_the_table_says():
    text = (Path(__file__).resolve().parents[1] / "CONTRIBUTING.rst").read_text()
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^    (\d)  (.*)$", text, flags=re.M)}
    for top, layer in LAYERS.items():
        if top != "__main__":  # drawn as "python -m skdeepcluster" above the command
            drawn = re.split(r"[\s.]+", lines[str(layer)].replace("/", " "))
            assert top in drawn, f"{top} is not on line {layer} of CONTRIBUTING.rst's picture"
