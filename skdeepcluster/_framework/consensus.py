"""One partition from several: the consensus of a fit's restarts (``combine="consensus"``).

Restarts number their clusters arbitrarily, so each is first aligned to a
reference partition by the Hungarian method on their contingency table (the
one-to-one matching of clusters that shares the most samples); the aligned
partitions then vote per sample.  The reference starts as the restart that
agrees most with the others (mean adjusted Rand index) and becomes the vote
itself, re-aligning every restart to it until the vote stops changing.
Everything is linear in the number of samples (a ``k x k`` table per
restart, no ``n x n`` co-association matrix), so 70,000 images combine in
well under a second.

A vote needs nothing but each restart's labels of a sample, so new samples
(``predict``) get their consensus label from the restarts' labels of them
through the same alignments: ``labels_`` equals ``predict(X_train)``.
:class:`Consensus` keeps the alignments with the restarts: it combines outputs
the estimator computes with each restart, and calls none of them.

References: A. Strehl and J. Ghosh, "Cluster ensembles - a knowledge reuse
framework for combining multiple partitions", JMLR 3, 2002; A. Topchy, A. K.
Jain and W. Punch, "Clustering ensembles: models of consensus and weak
partitions", IEEE TPAMI 27(12), 2005 (voting after relabelling).
"""

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..metrics import adjusted_rand_score
from .inference import cluster_labels

__all__ = [
    "alignment",
    "most_agreeing",
    "vote",
    "fill_empty",
    "consensus",
    "shifted",
    "Consensus",
]

# Rounds of re-aligning the restarts to the vote (it settles in two or three).
_MAX_ROUNDS = 20


def alignment(labels, reference, n_clusters):
    """The relabelling of ``labels`` onto ``reference``: ``perm[c]`` is cluster ``c``'s match.

    The one-to-one map of clusters (labels in ``[0, n_clusters)``) that puts
    the most samples in the same cluster as ``reference`` (Hungarian method).
    """
    table = np.bincount(
        np.asarray(labels) * n_clusters + np.asarray(reference), minlength=n_clusters * n_clusters
    ).reshape(n_clusters, n_clusters)
    rows, cols = linear_sum_assignment(table, maximize=True)
    perm = np.empty(n_clusters, dtype=np.intp)
    perm[rows] = cols
    return perm


def most_agreeing(partitions):
    """Index of the partition of highest mean adjusted Rand index with the others.

    The first of those on a tie (and so the only one of one partition).
    """
    m = len(partitions)
    agreement = np.zeros(m)
    for i in range(m):
        for j in range(i + 1, m):
            ari = adjusted_rand_score(partitions[i], partitions[j])
            agreement[i] += ari
            agreement[j] += ari
    return int(np.argmax(agreement))


def vote(partitions, perms, n_clusters, probas=None, reference=0, offsets=None):
    """Per-sample consensus of aligned ``partitions``: ``(labels, shares)``.

    ``shares[i, c]`` is the fraction of partitions that put sample ``i`` in
    (aligned) cluster ``c``.  With ``probas`` (each partition's soft
    assignments, columns in its own numbering) the shares are their aligned
    mean instead, and the labels its argmax.  Without, a tie of votes goes to
    the partition ``reference``'s cluster, then to the lowest cluster number.
    ``offsets`` (one per cluster, from :func:`fill_empty`) are added to the
    shares before the argmax.
    """
    shares, ranked = _shares(partitions, perms, n_clusters, probas, reference)
    if offsets is not None:
        ranked = ranked + offsets
    return ranked.argmax(axis=1), shares


def _shares(partitions, perms, n_clusters, probas, reference):
    """The shares (see :func:`vote`) and what the labels are the argmax of (ties broken)."""
    n, m = len(partitions[0]), len(partitions)
    shares = np.zeros((n, n_clusters))
    if probas is not None:
        for proba, perm in zip(probas, perms):
            shares[:, perm] += proba
        shares /= m
        return shares, shares
    rows = np.arange(n)
    for labels, perm in zip(partitions, perms):
        shares[rows, perm[labels]] += 1.0
    shares /= m
    tie_break = np.zeros_like(shares)
    tie_break[rows, perms[reference][partitions[reference]]] = 0.5 / m
    return shares, shares + tie_break


def fill_empty(ranked, sizes):
    """Per-cluster offsets to the shares that leave no cluster of the vote empty.

    ``ranked`` is what the vote takes the argmax of (:func:`vote`'s shares,
    ties broken), ``sizes`` each aligned cluster's median size over the
    partitions.

    A cluster every restart fills can still lose every sample in the vote
    (its samples split between neighbours).  Such a cluster takes the
    samples closest to choosing it, as many as the restarts' median size of
    it: its offset is the smallest that moves them.  Stored with the
    alignment, the offsets label new samples the same way, so ``labels_``
    stays ``predict(X_train)``.  Zero where no cluster is empty.
    """
    n_clusters = ranked.shape[1]
    offsets = np.zeros(n_clusters)
    for _ in range(n_clusters):  # each round fills one empty cluster
        scores = ranked + offsets
        labels = scores.argmax(axis=1)
        empty = [
            c
            for c in np.flatnonzero(np.bincount(labels, minlength=n_clusters) == 0)
            if sizes[c] >= 1
        ]
        if not empty:
            break
        c = empty[0]
        margin = scores.max(axis=1) - scores[:, c]
        take = min(int(sizes[c]), len(margin)) - 1
        gap = np.partition(margin, take)[take]
        offsets[c] += gap + max(abs(gap), 1.0) * 1e-9
    return offsets


def consensus(partitions, n_clusters, probas=None):
    """The consensus of ``partitions`` (label arrays in ``[0, n_clusters)``).

    Returns ``(labels, perms, reference, offsets)``: the consensus labels,
    each partition's alignment onto them, the partition that started the
    alignment and the offsets that keep every cluster the partitions fill
    (:func:`fill_empty`); ``vote(partitions, perms, n_clusters, probas,
    reference, offsets)`` gives ``labels`` back.  The labels of one
    partition are that partition; of relabelled copies of one partition,
    that partition up to relabelling.
    """
    partitions = [np.asarray(p, dtype=np.intp) for p in partitions]
    reference = most_agreeing(partitions)
    current = partitions[reference]
    for _ in range(_MAX_ROUNDS):
        perms = [alignment(labels, current, n_clusters) for labels in partitions]
        labels, _ = vote(partitions, perms, n_clusters, probas, reference)
        if np.array_equal(labels, current):
            break
        current = labels
    _, ranked = _shares(partitions, perms, n_clusters, probas, reference)
    sizes = np.median(
        [np.bincount(perm[p], minlength=n_clusters) for p, perm in zip(partitions, perms)], axis=0
    )
    offsets = fill_empty(ranked, sizes)
    return (ranked + offsets).argmax(axis=1), perms, reference, offsets


def shifted(shares, offsets):
    """Soft shares moved by :func:`fill_empty`'s ``offsets``: rows still sum to 1 (numpy or torch).

    Their argmax is the vote's label; zero offsets leave the shares as they are.
    """
    return (shares + offsets) / (1.0 + offsets.sum())


class Consensus:
    """The restarts of a fit and their alignment: what labels a sample from their outputs.

    Made by :meth:`fit` from the finished restarts' outputs on the training
    data; :meth:`combine` gives the consensus of outputs of the same restarts
    (of new samples, say) as ``_inference`` gives a single model's: soft
    assignments (the restarts' aligned mean) where the method has them, else
    labels (the vote).

    Attributes
    ----------
    members : list
        The restarts, fitted estimators of one restart each, which the
        estimator puts here and computes the outputs of; the consensus itself
        never calls them.
    n_clusters : int
    perms, reference, offsets
        The alignment :func:`consensus` returns.
    """

    def __init__(self, n_clusters, perms, reference, offsets, members=()):
        self.n_clusters = n_clusters
        self.perms, self.reference, self.offsets = perms, reference, offsets
        self.members = list(members)

    @classmethod
    def fit(cls, outputs, n_clusters):
        """Align the restarts on their training ``outputs``: the consensus, and its outputs."""
        partitions, probas = _votes(outputs)
        _, perms, reference, offsets = consensus(partitions, n_clusters, probas)
        combined = cls(n_clusters, perms, reference, offsets)
        return combined, combined._vote(partitions, probas)

    def combine(self, outputs):
        """The consensus of the members' ``outputs`` (one each, in order): proba or labels."""
        return self._vote(*_votes(outputs))

    def _vote(self, partitions, probas):
        labels, shares = vote(
            partitions, self.perms, self.n_clusters, probas, self.reference, self.offsets
        )
        if probas is None:
            return {"labels": labels}
        return {"proba": shifted(shares, self.offsets)}


def _votes(outputs):
    """Each output's partition, and the soft assignments if every output has them."""
    partitions = [cluster_labels(out) for out in outputs]
    soft = all("proba" in out for out in outputs)
    return partitions, [out["proba"] for out in outputs] if soft else None
