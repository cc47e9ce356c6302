"""Data-dependent defaults and checked values: each method's rules, as one table.

A method lists its rules in the class attribute ``_auto_rules``, parameter name ->
:class:`Rule`, in the order they resolve: one for each parameter that takes ``"auto"``,
and one for each parameter whose value needs a check the constraints cannot make (a
crop range, say).  Before anything moves to the device, :func:`check_rules` passes every
value the user set through its rule's ``check``, which raises ``ValueError`` for a bad one
and returns it normalised.  Once per fit the base then resolves the table
(:func:`resolve_rules`) into ``resolved_params_``, which the training hooks read instead of
the parameters: a parameter set to ``"auto"`` takes ``rule.auto(estimator, facts,
resolved)``, one the user set takes ``rule.given(estimator, value, facts)`` of its checked
value (that value unless the rule says otherwise).  ``resolved`` holds the values of the
rules above it, ``facts`` what the training data show (:class:`DataFacts`).  Each rule's
reason is said once, in its parameter's entry of the method's docstring.
"""

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

__all__ = ["AUTO", "DataFacts", "Rule", "check_rules", "resolve_rules"]

AUTO = "auto"


@dataclass(frozen=True)
class DataFacts:
    """What the training data show, that the rules key on.

    Attributes
    ----------
    data : DeviceData or torch.Tensor
        The scaled training rows ``(n, C, H, W)`` (images) or ``(n, D)`` (rows).
    n_samples, n_clusters : int
        Training samples, and the clusters asked for.
    image : bool
        Whether the rows are images.
    channels, side : int or None
        The images' channels and their smaller side in pixels (None for rows).
    n_values : int
        Values per sample.
    device : torch.device
        Where the fit trains.
    """

    data: Any
    n_samples: int
    n_clusters: int
    image: bool
    channels: int | None
    side: int | None
    n_values: int
    device: torch.device

    @classmethod
    def of(cls, data, n_clusters):
        """The facts of ``data`` (anything with ``len``, ``shape``, ``dim()``, ``device``)."""
        image = data.dim() == 4
        return cls(
            data=data,
            n_samples=len(data),
            n_clusters=n_clusters,
            image=image,
            channels=int(data.shape[1]) if image else None,
            side=int(min(data.shape[2:])) if image else None,
            n_values=math.prod(data.shape[1:]),
            device=data.device,
        )

    @property
    def per_cluster(self):
        """Training samples per cluster asked for."""
        return self.n_samples / self.n_clusters


def _as_given(estimator, value, facts):
    return value


def _is_auto(value):
    return isinstance(value, str) and value == AUTO


@dataclass(frozen=True)
class Rule:
    """One parameter's rule: its data-dependent default, its check, or both.

    Parameters
    ----------
    auto : callable, optional
        ``auto(estimator, facts, resolved) -> value``: the value where the
        parameter is ``"auto"`` (None for a parameter that has no ``"auto"``).
    given : callable, optional
        ``given(estimator, value, facts) -> value``: the value used where the
        user set one, from its checked value (default: that value).
    check : callable, optional
        ``check(estimator, value) -> value``: a value the user set, normalised
        (a float pair, a bool), or ``ValueError`` naming the parameter.  It may
        read the validated input's attributes (``image_shape_``), nothing of
        the data.  Default: the value as it is.
    """

    auto: Callable | None = None
    given: Callable = _as_given
    check: Callable | None = None


def check_rules(estimator, rules):
    """Every value the user set of a parameter of ``rules``, checked and normalised, by name.

    Raises the rule's ``ValueError`` for a bad value; runs before anything
    moves to the device, so a bad value never fails mid-fit.
    """
    checked = {}
    for name, rule in rules.items():
        value = getattr(estimator, name)
        if not _is_auto(value):
            checked[name] = value if rule.check is None else rule.check(estimator, value)
    return checked


def resolve_rules(estimator, rules, facts, checked):
    """The value of every parameter of ``rules`` for ``facts``, by name, in the table's order.

    ``checked`` is :func:`check_rules`'s result: the values the user set.
    """
    resolved = {}
    for name, rule in rules.items():
        if name in checked:
            resolved[name] = rule.given(estimator, checked[name], facts)
        else:
            resolved[name] = rule.auto(estimator, facts, resolved)
    return resolved
