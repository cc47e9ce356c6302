"""Data-dependent defaults: each method's ``"auto"`` parameters as one table of rules.

A method lists its rules in the class attribute ``_auto_rules``, parameter name ->
:class:`Rule`, in the order they resolve.  Once per fit the base resolves the table
(:func:`resolve_rules`) into ``resolved_params_``, which the training hooks read instead of
the parameters: a parameter set to ``"auto"`` takes ``rule.auto(estimator, facts,
resolved)``, one the user set takes ``rule.given(estimator, value, facts)`` (the value as
given unless the rule says otherwise).  ``resolved`` holds the values of the rules above
it, ``facts`` what the training data show (:class:`DataFacts`).  Each rule's reason is
said once, in its parameter's entry of the method's docstring.
"""

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

__all__ = ["AUTO", "DataFacts", "Rule", "resolve_rules"]

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


@dataclass(frozen=True)
class Rule:
    """One data-dependent default.

    Parameters
    ----------
    auto : callable
        ``auto(estimator, facts, resolved) -> value``: the value where the
        parameter is ``"auto"``.
    given : callable, optional
        ``given(estimator, value, facts) -> value``: the value used where the
        user set one (default: as given).
    """

    auto: Callable
    given: Callable = _as_given


def resolve_rules(estimator, rules, facts):
    """The value of every parameter of ``rules`` for ``facts``, by name, in the table's order."""
    resolved = {}
    for name, rule in rules.items():
        value = getattr(estimator, name)
        if isinstance(value, str) and value == AUTO:
            resolved[name] = rule.auto(estimator, facts, resolved)
        else:
            resolved[name] = rule.given(estimator, value, facts)
    return resolved
