"""_framework/rules.py: data facts, each parameter's rule, its check and its resolution."""

import pytest
import torch

from skdeepcluster._framework.rules import DataFacts, Rule, check_rules, resolve_rules


class _Est:
    def __init__(self, **params):
        self.__dict__.update(params)


RULES = {
    "width": Rule(lambda est, facts, _: 2 * facts.side),
    "height": Rule(lambda est, facts, resolved: resolved["width"] + facts.channels),
    "crop": Rule(check=lambda est, value: tuple(map(float, value))),
    "k": Rule(
        lambda est, facts, _: round(facts.per_cluster),
        given=lambda est, value, facts: min(value, facts.n_samples - 1),
        check=lambda est, value: _positive(value),
    ),
}


def _positive(value):
    if value < 1:
        raise ValueError(f"k must be positive, got {value}")
    return value


def test_data_facts_of_images_and_rows():
    facts = DataFacts.of(torch.zeros(30, 3, 8, 10), n_clusters=3)
    assert (facts.n_samples, facts.image, facts.channels, facts.side) == (30, True, 3, 8)
    assert facts.n_values == 240 and facts.per_cluster == 10
    rows = DataFacts.of(torch.zeros(5, 7), n_clusters=5)
    assert (rows.image, rows.channels, rows.side, rows.n_values) == (False, None, None, 7)


def test_auto_values_resolve_in_order_and_set_ones_pass_their_check():
    est = _Est(width="auto", height="auto", crop=[1, 1], k=40)
    checked = check_rules(est, RULES)
    assert checked == {"crop": (1.0, 1.0), "k": 40}  # the values the user set, normalised
    facts = DataFacts.of(torch.zeros(30, 3, 8, 8), n_clusters=3)
    resolved = resolve_rules(est, RULES, facts, checked)
    assert resolved == {"width": 16, "height": 19, "crop": (1.0, 1.0), "k": 29}
    assert list(resolved) == list(RULES)
    est.k = "auto"
    assert resolve_rules(est, RULES, facts, check_rules(est, RULES))["k"] == 10


def test_a_bad_set_value_fails_its_check_before_anything_resolves():
    with pytest.raises(ValueError, match="k must be positive"):
        check_rules(_Est(width="auto", height="auto", crop=(1, 1), k=0), RULES)
