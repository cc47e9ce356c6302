"""_framework/consensus.py: aligning restarts, their vote, the guard of clusters, Consensus."""

import numpy as np
import pytest

from skdeepcluster._framework.consensus import Consensus, alignment, consensus, shifted, vote
from skdeepcluster.metrics import adjusted_rand_score


def test_consensus_of_identical_partitions_is_that_partition():
    labels = np.random.default_rng(0).integers(0, 6, 300)
    combined, perms, _, offsets = consensus([labels, labels.copy(), labels.copy()], 6)
    assert not offsets.any()
    np.testing.assert_array_equal(combined, labels)
    assert all((perm == np.arange(6)).all() for perm in perms)


def test_consensus_of_relabelled_copies_is_the_partition_up_to_relabelling():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, 200)
    copies = [rng.permutation(5)[labels] for _ in range(4)]
    combined, perms, reference, _ = consensus(copies, 5)
    assert adjusted_rand_score(combined, labels) == 1.0
    np.testing.assert_array_equal(combined, copies[reference])
    votes, _ = vote(copies, perms, 5, reference=reference)
    np.testing.assert_array_equal(votes, combined)


def test_consensus_corrects_what_one_restart_gets_wrong():
    rng = np.random.default_rng(2)
    truth = np.repeat(np.arange(4), 50)
    noisy = [truth.copy() for _ in range(3)]
    for i, part in enumerate(noisy):
        wrong = rng.choice(200, 30, replace=False) if i else np.arange(30)
        part[wrong] = (part[wrong] + 1) % 4  # each restart errs on other samples
        noisy[i] = rng.permutation(4)[part]
    combined = consensus(noisy, 4)[0]
    single = [adjusted_rand_score(part, truth) for part in noisy]
    assert adjusted_rand_score(combined, truth) > max(single), single


def test_soft_consensus_is_the_aligned_mean_of_the_soft_assignments():
    proba_a = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    proba_b = proba_a[:, ::-1] * 0.5 + 0.25  # the same clusters numbered the other way round
    parts = [proba_a.argmax(1), proba_b.argmax(1)]
    combined, perms, reference, _ = consensus(parts, 2, [proba_a, proba_b])
    labels, shares = vote(parts, perms, 2, [proba_a, proba_b], reference)
    np.testing.assert_array_equal(labels, combined)
    aligned_b = proba_b[:, ::-1] if reference == 0 else proba_b
    np.testing.assert_allclose(
        shares, (proba_a + aligned_b) / 2 if reference == 0 else (proba_a[:, ::-1] + proba_b) / 2
    )


def _split_cluster_partitions():
    """Three partitions of 4 clusters whose cluster 3 loses every sample in a plain vote.

    Each restart fills cluster 3 with 10 samples, but each with other ones,
    so every sample of it is outvoted two to one.
    """
    base = np.repeat(np.arange(3), 30)
    parts = []
    for i in range(3):
        part = base.copy()
        part[i * 30 : i * 30 + 10] = 3  # a third of cluster i goes to cluster 3 in restart i
        parts.append(part)
    return parts


def test_vote_keeps_every_cluster_the_restarts_fill():
    parts = _split_cluster_partitions()
    perms = [np.arange(4)] * 3
    plain, _ = vote(parts, perms, 4)
    assert len(np.unique(plain)) == 3  # what the guard is for
    labels, perms, reference, offsets = consensus(parts, 4)
    assert sorted(np.unique(labels)) == [0, 1, 2, 3] and offsets.any()
    assert np.bincount(labels)[3] >= 10  # the restarts' median size of it
    again, _ = vote(parts, perms, 4, reference=reference, offsets=offsets)
    np.testing.assert_array_equal(again, labels)
    # Soft assignments: the same guard, and the shifted mean is still a distribution.
    probas = [np.eye(4)[p] * 0.7 + 0.075 for p in parts]
    soft, perms, reference, offsets = consensus(parts, 4, probas)
    assert len(np.unique(soft)) == 4


def test_alignment_matches_clusters_that_share_the_most_samples():
    reference = np.repeat(np.arange(3), 10)
    labels = np.array([2, 0, 1])[reference]  # cluster 2 of labels is cluster 0 of reference...
    labels[:2] = 1  # ...but for two samples
    np.testing.assert_array_equal(alignment(labels, reference, 3), [1, 2, 0])


def test_shifted_shares_still_sum_to_one_and_argmax_as_the_offsets_say():
    shares = np.array([[0.5, 0.3, 0.2], [0.1, 0.45, 0.45]])
    offsets = np.array([0.0, 0.0, 0.3])
    moved = shifted(shares, offsets)
    np.testing.assert_allclose(moved.sum(axis=1), 1.0)
    np.testing.assert_array_equal(moved.argmax(axis=1), (shares + offsets).argmax(axis=1))
    np.testing.assert_array_equal(shifted(shares, np.zeros(3)), shares)


@pytest.mark.parametrize("soft", [True, False], ids=["proba", "labels"])
def test_consensus_fits_and_combines_outputs_alone(soft):
    """``Consensus`` is a function of outputs: the members it holds are never called."""
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 60)
    probas = [np.eye(3)[rng.permutation(3)[truth]] * 0.8 + 0.2 / 3 for _ in range(3)]
    outputs = [{"proba": p} if soft else {"labels": p.argmax(1)} for p in probas]
    combined, training = Consensus.fit(outputs, 3)
    assert combined.members == []
    labels = training["proba"].argmax(1) if soft else training["labels"]
    assert adjusted_rand_score(labels, truth) == 1.0
    combined.members = [object(), object(), object()]  # what an estimator puts there
    key = "proba" if soft else "labels"
    again = combined.combine(outputs)  # new samples' outputs combine the same way
    np.testing.assert_array_equal(again[key], training[key])
    # a row's consensus depends on that row's outputs alone
    rows = combined.combine([{k: v[:7] for k, v in out.items()} for out in outputs])
    np.testing.assert_array_equal(rows[key], training[key][:7])
