"""The package's shape: layers and modules import only downwards, tests mirror the modules,
functions stay short, and only an estimator's own class edits its attributes."""

import ast
import re
from pathlib import Path

import pytest

import skdeepcluster

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
    "cluster_count": 1,
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


def test_the_contributing_picture_draws_each_layer_as_the_table_says():
    text = (Path(__file__).resolve().parents[1] / "CONTRIBUTING.rst").read_text()
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^    (\d)  (.*)$", text, flags=re.M)}
    for top, layer in LAYERS.items():
        if top != "__main__":  # drawn as "python -m skdeepcluster" above the command
            drawn = re.split(r"[\s.]+", lines[str(layer)].replace("/", " "))
            assert top in drawn, f"{top} is not on line {layer} of CONTRIBUTING.rst's picture"


# Inside nn/ and _framework/ the modules stand in an order, lowest first: a module imports
# only modules before it (a package's __init__ names them all).
ORDER = {
    "nn": [
        "progress",
        "distributed",
        "data",
        "backbones",
        "losses",
        "neighbors",
        "critics",
        "augment",
        "attention",
        "latent",
        "loop",
        "pretrained",
    ],
    "_framework": [
        "docs",
        "rules",
        "input",
        "inference",
        "session",
        "consensus",
        "restarts",
        "feature_rows",
        "base",
    ],
}


@pytest.mark.parametrize("package", sorted(ORDER))
def test_modules_inside_a_package_import_only_those_before_them(package):
    order = ORDER[package]
    modules = sorted(p.stem for p in (PACKAGE / package).glob("*.py") if p.stem != "__init__")
    assert sorted(order) == modules  # a new module takes its place in ORDER
    for name in order:
        tree = ast.parse((PACKAGE / package / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported = node.module.split(".")[0] if node.module else None
                for target in [imported] if imported else [a.name for a in node.names]:
                    assert order.index(target) < order.index(name), (
                        f"{package}/{name}.py imports {target}, which stands after it"
                    )


TESTS = Path(__file__).resolve().parent


def _test_file(path):
    """The test file of a module: tests/test_nn_<name>.py for nn/, tests/test_<name>.py else."""
    rel = path.relative_to(PACKAGE)
    if rel.parts[0] == "nn":
        return f"test_nn_{path.stem}.py"
    if rel.parts[0] == "datasets" and path.stem == "__init__":
        return "test_datasets.py"
    return f"test_{path.stem.lstrip('_')}.py"


MODULES = [
    p
    for p in sorted(PACKAGE.rglob("*.py"))
    if p.stem not in ("__init__", "__main__") or p.parent.name == "datasets"
]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_has_its_test_file(path):
    assert (TESTS / _test_file(path)).is_file(), f"{path.relative_to(PACKAGE)} has no tests"


@pytest.mark.parametrize("path", sorted(TESTS.glob("test_*.py")), ids=lambda p: p.name)
def test_no_test_module_imports_another(path):
    """Shared test code lives in tests/_harness.py (or conftest.py, _toy.py), not a test file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            assert not (node.module or "").startswith("test_"), f"{path.name} imports {node.module}"


# The longest a function may be, in lines of code (no docstring, blank or comment lines).
MAX_FUNCTION_LINES = 60


def _code_lines(node, lines):
    body = node.body
    first = body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    skip = range(first.lineno, first.end_lineno + 1) if docstring else range(0)
    return sum(
        1
        for number in range(node.lineno, node.end_lineno + 1)
        if number not in skip
        and lines[number - 1].strip()
        and not lines[number - 1].strip().startswith("#")
    )


def _stores_parameters(node):
    """An ``__init__`` that only stores its parameters (``self.p = p``), as scikit-learn's do.

    Its length is the length of the parameter list, which no split shortens.
    """
    statements = [s for s in node.body if not isinstance(s, ast.Expr)]
    return node.name == "__init__" and all(
        isinstance(s, ast.Assign)
        and len(s.targets) == 1
        and isinstance(s.targets[0], ast.Attribute)
        and isinstance(s.value, ast.Name)
        and s.targets[0].attr == s.value.id
        for s in statements
    )


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_function_is_longer_than_60_lines(path):
    text = path.read_text()
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _stores_parameters(
            node
        ):
            length = _code_lines(node, lines)
            assert length <= MAX_FUNCTION_LINES, f"{node.name} (line {node.lineno}): {length}"


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_only_the_estimators_own_class_edits_its_attributes(path):
    """``vars(...)`` is called in the base's methods alone (its explicit fitted-state interface)."""
    tree = ast.parse(path.read_text())
    allowed = set()
    if path == PACKAGE / "_framework" / "base.py":
        base = next(n for n in tree.body if getattr(n, "name", "") == "BaseDeepClusterer")
        allowed = {id(n) for n in ast.walk(base)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "vars":
            assert id(node) in allowed, f"vars() at line {node.lineno}"
