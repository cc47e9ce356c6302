"""Restarts of one fit (``n_init``): their seeds, checkpoint files, which one is kept.

``fit`` trains ``n_init`` single fits from different seeds, as
:class:`~sklearn.cluster.KMeans` runs ``_kmeans_single_*``: each returns a
:class:`SingleFit` (its fitted state, its outputs on the training data, its
label-free score), and what is kept is a pure function of those.  With
``combine="best"`` the restart whose score is highest, as KMeans keeps the run of
least inertia; with ``combine="consensus"`` every finished restart, labelled by
their vote (:mod:`skdeepcluster._framework.consensus`), while the restart of highest
score still gives ``transform`` and the model a warm start continues.  The first
restart takes the seed a single fit takes, so ``n_init=1`` is a single fit bit for
bit; the others take the next draws of the same ``random_state``.  Every rank of a
data-parallel fit runs the same restarts with rank 0's seeds and chooses with rank
0's scores.
"""

import math
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ..nn.distributed import broadcast_from_first
from .consensus import Consensus
from .inference import cluster_labels

__all__ = [
    "SingleFit",
    "Kept",
    "restart_seeds",
    "restart_numbers",
    "restart_checkpoint",
    "keep_restarts",
    "best_restart",
    "combined_fits",
    "warn_empty_clusters",
    "warn_interrupted",
]


# The warnings come from a function that keep_restarts calls, which fit calls through
# _fit_context: this stack level names the line that called fit.
_CALLER_OF_FIT = 5


@dataclass
class SingleFit:
    """What one restart returns to the restarts: all they keep or combine of it.

    Attributes
    ----------
    seed : int
        The seed it trained from.
    state : dict
        The estimator's fitted state after it (``_get_fitted_state``).
    outputs : dict
        Its inference of the training data (``"proba"`` or ``"labels"``, ``"embedding"``).
    score : float
        Its label-free score on the training data (rank 0's on every rank).
    interrupted : TrainingInterrupted or None
        The Ctrl-C that ended it, if one did.
    """

    seed: int
    state: dict
    outputs: dict
    score: float
    interrupted: Any = None


@dataclass
class Kept:
    """What a fit keeps of its restarts (:func:`keep_restarts`).

    Attributes
    ----------
    state : dict
        The fitted state of the restart of highest score: the model kept.
    scores : ndarray of shape (n_init,)
        Every restart's score (rank 0's), NaN for those a Ctrl-C left unrun.
    best : int
        The kept restart's number.
    combined : list of dict
        The fitted states the consensus combines (empty without one).
    consensus : Consensus or None
        Their alignment (members not yet attached).
    labels : ndarray or None
        The consensus's clusters of the training data (None without one).
    """

    state: dict
    scores: Any
    best: int
    combined: list
    consensus: Any = None
    labels: Any = None


def restart_seeds(random_state, n_init):
    """The seeds of ``n_init`` restarts drawn from ``random_state``, rank 0's on every rank."""
    rng = check_random_state(random_state)
    seeds = [int(rng.randint(np.iinfo(np.int32).max)) for _ in range(n_init)]
    return [int(s) for s in broadcast_from_first(torch.tensor(seeds, dtype=torch.int64))]


def restart_checkpoint(path, restart):
    """The checkpoint file of restart ``restart`` (0-based).

    The first restart writes to ``path`` itself, so a fit of one restart
    reads and writes what it always did; restart ``r`` of more writes to
    the sibling ``"<path>.restart<r>"``.  A finished restart's file holds its
    final state, so a fit resumed after a crash reads the finished restarts
    back (straight to their read-out) and trains on inside the running one.
    """
    if path is None or restart == 0:
        return path
    return f"{os.fspath(path)}.restart{restart}"


def restart_numbers(n_restarts, continues_kept, kept_number):
    """Each restart's number (its checkpoint file): the kept restart's own when it goes on."""
    first = kept_number if continues_kept else 0
    return list(range(first, first + n_restarts))


def keep_restarts(fits, n_init, first, combine, n_clusters, name):
    """What a fit of ``n_init`` restarts keeps of ``fits``: a :class:`Kept`; warns.

    The scores are rank 0's on every rank; the best restart is kept, and with
    ``combine="consensus"`` more than one finished restart are aligned into a
    consensus.  ``first`` numbers the first restart; ``name`` (the
    estimator's class) is for the warnings: clusters the training data leave
    empty, and a fit a Ctrl-C ended.
    """
    scores = np.full(n_init, np.nan)
    local = torch.tensor([fit.score for fit in fits], dtype=torch.float64)
    scores[: len(fits)] = broadcast_from_first(local).numpy()
    best = best_restart(scores)
    combined = combined_fits(fits) if combine == "consensus" else []
    kept = Kept(fits[best].state, scores, first + best, [])
    if fits[-1].interrupted is not None:
        if n_init == 1:
            what = "the training so far"
        elif len(combined) > 1:
            what = f"the consensus of the {len(combined)} finished restarts"
        else:
            what = f"restart {kept.best + 1}, the best by score so far"
        warn_interrupted(name, fits, n_init, kept.state["n_iter_"], what)
    if len(combined) > 1:
        kept.combined = [fit.state for fit in combined]
        kept.consensus, training = Consensus.fit([fit.outputs for fit in combined], n_clusters)
        kept.labels = cluster_labels(training)
    used = kept.state["labels_"] if kept.labels is None else kept.labels
    warn_empty_clusters(name, used, n_clusters)
    return kept


def best_restart(scores):
    """The restart of highest score: a NaN ranks below every other, a tie keeps the earlier."""
    ranks = [-math.inf if math.isnan(score) else score for score in scores]
    return int(np.argmax(ranks))


def combined_fits(fits):
    """The restarts a consensus combines: the finished ones, or the interrupted first alone."""
    finished = [fit for fit in fits if fit.interrupted is None]
    return finished or fits[:1]


def warn_empty_clusters(name, labels, n_clusters):
    """Warn when the training data fill fewer than ``n_clusters`` clusters (as KMeans does)."""
    used = len(np.unique(labels))
    if used < n_clusters:
        warnings.warn(
            f"{name} used {used} of n_clusters={n_clusters} clusters: {n_clusters - used} are "
            f"empty on the training data (labels_ numbers the used ones 0..{used - 1}).",
            ConvergenceWarning,
            stacklevel=_CALLER_OF_FIT,
        )


def warn_interrupted(name, fits, n_init, n_iter, kept):
    """Say where Ctrl-C ended a fit of ``n_init`` restarts, and what the model is.

    ``fits`` are the restarts run, the last one interrupted; ``n_iter`` the
    kept model's complete epochs; ``kept`` what the model is, in words.
    """
    interrupted = fits[-1].interrupted
    where = f"restart {len(fits)} of n_init={n_init}, " if n_init > 1 else ""
    warnings.warn(
        f"{name}.fit was interrupted (KeyboardInterrupt) in {where}epoch "
        f"{interrupted.epoch + 1}, after {interrupted.steps} of its steps; the model, labels_ "
        f"and n_iter_={n_iter} (complete epochs) are those of {kept}.",
        UserWarning,
        stacklevel=_CALLER_OF_FIT,
    )
