"""Restarts of one fit (``n_init``): seeds, checkpoint files, the one kept, their consensus.

``fit`` trains ``n_init`` models from different seeds.  With
``combine="best"`` it keeps the one whose label-free criterion (the
estimator's ``score`` on the training data) is highest, as
:class:`~sklearn.cluster.KMeans` keeps the run of least inertia; with
``combine="consensus"`` it keeps every restart and labels each sample by
their vote (:mod:`skdeepcluster._framework.consensus`), while the restart of highest
score still gives ``transform`` and the model a warm start continues.
The first restart takes the seed a single fit takes, so ``n_init=1`` is
today's fit bit for bit; the others take the next draws of the same
``random_state``.  Every rank of a data-parallel fit runs the same restarts
with rank 0's seeds and chooses with rank 0's scores.
"""

import math
import os
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ..nn.distributed import broadcast_from_first
from .consensus import consensus, shifted, vote

__all__ = [
    "Restarts",
    "restart_seeds",
    "restart_checkpoint",
    "KeptRestart",
    "fitted_state",
    "Consensus",
]


# Warnings come from a function Restarts.finish calls, called by fit through _fit_context:
# this stack level names the line that called fit.
_CALLER_OF_FIT = 5


class Restarts:
    """The restarts one ``fit`` runs, and what it keeps of them.

    Made when ``fit`` starts: it draws the restarts' seeds and, for a warm
    start, takes what the last fit kept (every restart of a consensus, else
    the kept restart, trained on from the fit's first seed).  :meth:`run`
    trains them, :meth:`finish` puts the kept restart or the consensus on
    the estimator and warns of empty clusters and of an interruption.

    Parameters
    ----------
    estimator : BaseDeepClusterer
        The estimator being fitted (its ``n_init``, ``combine``, ``random_state``).
    warm : bool
        Whether this fit continues the last one (``warm_start``).
    """

    def __init__(self, estimator, warm):
        previous = getattr(estimator, "consensus_", None) if warm else None
        vars(estimator).pop("consensus_", None)
        starts = [None] if warm else [None] * estimator.n_init
        if previous is not None:
            starts = [fitted_state(member) for member in previous.members]
        self._starts = starts
        self.seeds = restart_seeds(estimator.random_state, len(starts))
        # A warm start of the kept restart goes on under its number (its checkpoint file).
        self._continues_kept = warm and previous is None
        self._first = getattr(estimator, "best_restart_", 0) if self._continues_kept else 0
        self._kept = KeptRestart(len(self.seeds))
        combined = estimator.combine == "consensus"
        self._combined = Consensus(estimator.n_clusters) if combined else None
        self._finished = []  # the training outputs of the restarts the consensus combines
        self._interrupted = self._restart = None

    def run(self, estimator, fit_restart, score):
        """Train the restarts: ``fit_restart(seed, number)`` -> (interruption or None, outputs).

        ``score(outputs)`` is the restart's label-free criterion.  An
        interruption ends the fit after the restart it came in.
        """
        for restart, (seed, start) in enumerate(zip(self.seeds, self._starts)):
            if start is not None:
                vars(estimator).update(start)
            interrupted, outputs = fit_restart(seed, self._first + restart)
            self._kept.offer(estimator, restart, score(outputs), seed)
            if self._combined is not None and (interrupted is None or not self._finished):
                self._combined.add(estimator)
                self._finished.append(outputs)
            if interrupted is not None:  # the best of the finished and the current restart
                self._interrupted, self._restart = interrupted, restart
                break

    def finish(self, estimator):
        """Put the kept restart, or the consensus of the finished ones, on ``estimator``."""
        self._kept.restore(estimator)
        if self._continues_kept:
            estimator.best_restart_ = self._first
        if self._combined is not None and len(self._finished) > 1:
            estimator.consensus_ = self._combined
            raw = estimator._raw_labels(self._combined.fit(self._finished))
            estimator._set_label_map(raw)
            estimator.labels_ = estimator.label_map_[raw]
        warn_empty_clusters(estimator)
        if self._interrupted is not None:
            self._warn_interrupted(estimator)

    def _warn_interrupted(self, estimator):
        n_init, restart = len(self.seeds), self._restart
        where = f"restart {restart + 1} of n_init={n_init}, " if n_init > 1 else ""
        warnings.warn(
            f"{type(estimator).__name__}.fit was interrupted (KeyboardInterrupt) in {where}epoch "
            f"{self._interrupted.epoch + 1}, after {self._interrupted.steps} of its steps; the "
            f"model, labels_ and n_iter_={estimator.n_iter_} (complete epochs) are those of "
            + (
                "the training so far."
                if n_init == 1
                else f"the consensus of the {len(self._finished)} finished restarts."
                if hasattr(estimator, "consensus_")
                else f"restart {estimator.best_restart_ + 1}, the best by score so far."
            ),
            UserWarning,
            stacklevel=_CALLER_OF_FIT,
        )


def warn_empty_clusters(estimator):
    """Warn when the training data fill fewer than ``n_clusters`` clusters (as KMeans does)."""
    used = len(np.unique(estimator.labels_))
    if used < estimator.n_clusters:
        warnings.warn(
            f"{type(estimator).__name__} used {used} of n_clusters={estimator.n_clusters} "
            f"clusters: {estimator.n_clusters - used} are empty on the training data (labels_ "
            f"numbers the used ones 0..{used - 1}).",
            ConvergenceWarning,
            stacklevel=_CALLER_OF_FIT,
        )


def restart_seeds(random_state, n_init):
    """The seeds of ``n_init`` restarts drawn from ``random_state``, rank 0's on every rank."""
    rng = check_random_state(random_state)
    seeds = [int(rng.randint(np.iinfo(np.int32).max)) for _ in range(n_init)]
    return [int(s) for s in broadcast_from_first(torch.tensor(seeds, dtype=torch.int64))]


def fitted_state(estimator):
    """The attributes a fit sets on ``estimator``: its fitted ``*_`` ones and training state."""
    return {
        name: value
        for name, value in vars(estimator).items()
        if name.endswith("_") or name == "_training_state"
    }


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


class KeptRestart:
    """The best of a fit's restarts so far: every restart's score and the kept one's fitted state.

    Parameters
    ----------
    n_init : int
        Restarts the fit runs (scores of those it does not reach stay NaN).
    """

    def __init__(self, n_init):
        self.scores = np.full(n_init, np.nan)
        self.best = None
        self._state = None

    def offer(self, estimator, restart, score, seed):
        """Record restart ``restart``'s ``score``; keep the estimator's fitted state if best.

        Rank 0's score is taken on every rank, so every rank keeps the same
        restart.  A NaN score ranks below every other; a tie keeps the
        earlier restart.  With ``estimator.verbose``, says the score.
        """
        score = float(broadcast_from_first(torch.tensor([score], dtype=torch.float64)))
        self.scores[restart] = score
        if estimator.verbose and len(self.scores) > 1:
            print(
                f"restart {restart + 1}/{len(self.scores)} (seed {seed}): score {score:.5g}",
                flush=True,
            )
        rank = -math.inf if math.isnan(score) else score
        if self.best is None or rank > self._rank:
            self.best, self._rank = restart, rank
            self._state = fitted_state(estimator)

    def restore(self, estimator):
        """Put the kept restart's fitted state back on ``estimator``, with the scores of all."""
        for name in [n for n in vars(estimator) if n.endswith("_") and n not in self._state]:
            delattr(estimator, name)  # set by a later restart only
        vars(estimator).update(self._state)
        estimator.restart_scores_ = self.scores.copy()
        estimator.best_restart_ = self.best


class Consensus:
    """The restarts of a fit, kept whole, and the vote that labels a sample from their labels.

    ``add`` takes each finished restart (a shallow copy of the estimator:
    its own fitted attributes, the same parameters); ``fit`` aligns their
    training labels and stores the alignments; ``outputs`` gives the
    consensus of new samples as ``_inference`` gives a single model's: soft
    assignments (the restarts' aligned mean) where the method has them, else
    labels (the vote).

    Parameters
    ----------
    n_clusters : int
        Clusters of every restart.
    """

    def __init__(self, n_clusters):
        self.n_clusters = n_clusters
        self.members = []
        self.perms = self.reference = self.offsets = None

    def add(self, estimator):
        """Keep ``estimator``'s fitted state as a restart (a shallow copy of its attributes).

        Not ``copy.copy``, which goes through pickling's state and drops the
        optimisers a warm start continues.
        """
        member = object.__new__(type(estimator))
        vars(member).update(vars(estimator))
        self.members.append(member)

    def fit(self, outputs):
        """Align the restarts on their training ``outputs`` (one ``_infer`` result each).

        Returns the consensus of the training data, as :meth:`outputs` gives it.
        """
        partitions, probas = self._votes(outputs)
        _, self.perms, self.reference, self.offsets = consensus(partitions, self.n_clusters, probas)
        return self._vote(partitions, probas)

    def outputs(self, X):
        """The consensus of validated ``X``: ``{"proba": ...}`` or ``{"labels": ...}``."""
        return self._vote(*self._votes([member._infer(X) for member in self.members]))

    def _vote(self, partitions, probas):
        labels, shares = vote(
            partitions, self.perms, self.n_clusters, probas, self.reference, self.offsets
        )
        if probas is None:
            return {"labels": labels}
        return {"proba": shifted(shares, self.offsets)}

    def _votes(self, outputs):
        partitions = [member._raw_labels(out) for member, out in zip(self.members, outputs)]
        soft = all("proba" in out for out in outputs)
        return partitions, [out["proba"] for out in outputs] if soft else None
