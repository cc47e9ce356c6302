"""_framework/docs.py: every estimator documents its parameters once, the shared ones alike."""

import inspect
import re

import pytest

from .conftest import ESTIMATORS, IDS


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
