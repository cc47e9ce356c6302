"""Restarts (``n_init``): combined into a consensus or chosen without labels, the label-free
``score`` and its scorer."""

import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skdeepcluster import DualAESpectralClustering, VariationalClustering
from skdeepcluster._framework.base import BaseDeepClusterer
from skdeepcluster._framework.consensus import consensus
from skdeepcluster._framework.inference import cluster_labels
from skdeepcluster._framework.session import load_checkpoint
from skdeepcluster.metrics import (
    adjusted_rand_score,
    get_scorer,
    label_free_scorer,
    neighbour_agreement_score,
)

from ._harness import interrupt_at_backward, kill_fit_after_epochs, losses, same_weights
from ._toy import ToyClusterer
from .conftest import quick

X = load_digits().images[:200]


def _toy(**params):
    return ToyClusterer(**{"n_clusters": 10, "random_state": 0, "max_epochs": 4, **params})


def _fit(est):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the toy leaves clusters empty
        return est.fit(X)


def _state_after(draws, seed=0):
    """A RandomState whose next draw is restart ``draws``'s seed of ``random_state=seed``."""
    rng = np.random.RandomState(seed)
    for _ in range(draws):
        rng.randint(np.iinfo(np.int32).max)
    return rng


def test_restarts_keep_the_best_score_and_the_first_is_the_single_fit():
    single = _fit(_toy())
    several = _fit(_toy(n_init=3, combine="best"))
    assert single.restart_scores_.shape == (1,) and single.best_restart_ == 0
    assert several.restart_scores_.shape == (3,)
    assert several.restart_scores_[0] == single.restart_scores_[0]  # restart 0: today's seed
    assert len(set(several.restart_scores_)) == 3  # three different seeds
    best = several.best_restart_
    assert best == int(np.argmax(several.restart_scores_))
    assert several.score(X) == pytest.approx(several.restart_scores_[best], abs=1e-12)
    # The kept model is the single fit of its restart's seed, weights, labels and history.
    alone = _fit(_toy(random_state=_state_after(best)))
    np.testing.assert_array_equal(several.labels_, alone.labels_)
    assert same_weights(several, alone) and several.n_iter_ == alone.n_iter_ == 4
    np.testing.assert_array_equal(several.predict(X), several.labels_)


def test_restarts_repeat_for_the_same_random_state():
    a, b = _fit(_toy(n_init=2)), _fit(_toy(n_init=2))
    np.testing.assert_array_equal(a.restart_scores_, b.restart_scores_)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_warm_start_trains_the_kept_restart_on_without_new_restarts():
    est = _fit(_toy(n_init=3, max_epochs=2, warm_start=True, combine="best"))
    best = est.best_restart_
    _fit(est)
    longer = _fit(_toy(random_state=_state_after(best), max_epochs=4))
    assert est.best_restart_ == best and est.restart_scores_.shape == (1,)
    assert est.n_iter_ == 4
    np.testing.assert_array_equal(est.labels_, longer.labels_)
    assert same_weights(est, longer)


def test_checkpoints_per_restart_are_read_back(tmp_path):
    path = tmp_path / "fit.ckpt"
    first = _fit(_toy(n_init=2, checkpoint_path=path))
    assert sorted(os.listdir(tmp_path)) == ["fit.ckpt", "fit.ckpt.restart1"]
    assert "restart 2" in load_checkpoint(f"{path}.restart1")["description"]["start"]
    again = _fit(_toy(n_init=2, checkpoint_path=path))
    assert again.history_ == first.history_  # nothing trained again (same timings)
    np.testing.assert_array_equal(again.restart_scores_, first.restart_scores_)
    np.testing.assert_array_equal(again.labels_, first.labels_)
    # A single fit reads restart 0's file but is not the same fit (n_init differs).
    with pytest.raises(ValueError, match="n_init"):
        _fit(_toy(checkpoint_path=path))


def test_finished_checkpoint_reads_out_with_the_random_state_it_ended_with(tmp_path):
    """DualAE's read-out (a k-means) draws from the fit's generator: a resumed finished fit must
    draw what the fit that wrote it drew."""
    path = tmp_path / "dae.ckpt"
    first = quick(DualAESpectralClustering, n_clusters=10, random_state=0, checkpoint_path=path)
    first.fit(X)
    again = quick(DualAESpectralClustering, n_clusters=10, random_state=0, checkpoint_path=path)
    again.fit(X)
    assert again.history_ == first.history_
    np.testing.assert_array_equal(again.cluster_centers_, first.cluster_centers_)
    np.testing.assert_array_equal(again.labels_, first.labels_)
    # No soft assignments: its score is the labels' agreement with the pixels' neighbours.
    pixels = (X.reshape(len(X), -1) - X.min()) / (X.max() - X.min())
    assert first.score(X) == pytest.approx(neighbour_agreement_score(pixels, first.labels_))


@pytest.mark.slow
def test_sigkill_in_a_later_restart_resumes_inside_it(tmp_path):
    path = tmp_path / "fit.ckpt"
    params = dict(
        n_clusters=10, random_state=0, verbose=1, checkpoint_path=str(path), max_epochs=6, n_init=2
    )
    kill_fit_after_epochs(ToyClusterer, params, 6 + 3, tmp_path)  # restart 2's third epoch
    written = load_checkpoint(f"{path}.restart1")
    assert sum(p["done"] for p in written["phases"].values()) == 3
    params.pop("verbose")
    resumed = _fit(ToyClusterer(**params))
    fresh = _fit(ToyClusterer(**{k: v for k, v in params.items() if k != "checkpoint_path"}))
    np.testing.assert_array_equal(resumed.restart_scores_, fresh.restart_scores_)
    np.testing.assert_array_equal(resumed.labels_, fresh.labels_)
    assert same_weights(resumed, fresh)


def test_ctrl_c_keeps_the_best_of_the_finished_and_the_current_restart(monkeypatch, python_sigint):
    # 4 epochs of 4 batches per restart: backward call 20 is in the second epoch of restart 2.
    interrupt_at_backward(monkeypatch, 20, "signal")
    est = _toy(n_init=3, combine="best")
    with pytest.warns(UserWarning, match=r"in restart 2 of n_init=3, epoch \d.*the best by score"):
        _fit(est)
    monkeypatch.undo()
    assert np.isnan(est.restart_scores_[2]) and not np.isnan(est.restart_scores_[:2]).any()
    assert est.best_restart_ == int(np.nanargmax(est.restart_scores_))
    np.testing.assert_array_equal(est.predict(X), est.labels_)


def test_verbose_says_each_restart_score(capsys):
    _fit(_toy(n_init=2, verbose=1))
    out = capsys.readouterr().out
    assert out.count("restart ") == 2 and "restart 2/2 (seed " in out


@pytest.mark.slow
def test_grid_search_without_labels_or_scoring_selects_by_score():
    search = GridSearchCV(_toy(), {"learning_rate": [1e-3, 1e-2]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and scores[0] != scores[1]
    assert search.best_index_ == int(np.argmax(scores))
    named = GridSearchCV(
        _toy(), {"learning_rate": [1e-3, 1e-2]}, cv=2, scoring=get_scorer("label_free")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        named.fit(X)
    np.testing.assert_allclose(named.cv_results_["mean_test_score"], scores)


def test_soft_assignment_score_is_the_mean_confidence():
    est = _fit(_toy())
    assert est.score(X) == pytest.approx(est.predict_proba(X).max(axis=1).mean())


def test_variational_score_is_its_mean_elbo():
    est = quick(VariationalClustering, n_clusters=10, random_state=0, n_init=2).fit(X)
    assert est.score(X) == pytest.approx(est.score_samples(X).mean())
    assert est.restart_scores_[est.best_restart_] == pytest.approx(est.score(X))
    assert label_free_scorer(est, X) == est.score(X)


def test_n_init_1_is_the_single_fit_whatever_combine():
    a, b = _fit(_toy(combine="best")), _fit(_toy())
    assert not hasattr(b, "consensus_")
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert same_weights(a, b) and losses(a.history_) == losses(b.history_)


def test_restarts_combine_into_a_consensus_that_predict_repeats():
    est = _fit(_toy(n_init=3))
    members = est.consensus_.members
    assert len(members) == 3 and est.restart_scores_.shape == (3,)
    # Each member is the single fit of its restart's seed; the first is today's single fit.
    for restart in (0, 2):
        alone = _fit(_toy(random_state=_state_after(restart)))
        np.testing.assert_array_equal(members[restart].labels_, alone.labels_)
        assert same_weights(members[restart], alone)
    # The labels are the vote of the members' soft assignments, and predict gives them again.
    outputs = [m._infer(est._validate_X(X, reset=False)) for m in members]
    combined = consensus(
        [cluster_labels(out) for out in outputs],
        10,
        [out["proba"] for out in outputs],
    )[0]
    assert adjusted_rand_score(est.labels_, combined) == 1.0
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), est.labels_)
    # transform and the kept model are the restart of highest score's.
    assert same_weights(est, members[est.best_restart_])
    np.testing.assert_array_equal(est.transform(X), members[est.best_restart_].transform(X))
    # Refitting with combine="best" drops the consensus.
    est.set_params(combine="best")
    _fit(est)
    assert not hasattr(est, "consensus_")


class _LabelsOnly(ToyClusterer):
    """The toy with hard labels only, as DualAESpectralClustering's read-out gives."""

    _label_free_score = BaseDeepClusterer._label_free_score  # the neighbours' agreement

    def _inference(self, module, x):
        logits = module(x)
        return {"embedding": logits, "labels": logits.argmax(1)}


def test_consensus_of_hard_labels_is_their_vote():
    est = _fit(_LabelsOnly(n_clusters=10, random_state=0, max_epochs=4, n_init=3))
    members = est.consensus_.members
    parts = [cluster_labels(m._infer(est._validate_X(X, reset=False))) for m in members]
    combined = consensus(parts, 10)[0]
    assert adjusted_rand_score(est.labels_, combined) == 1.0
    np.testing.assert_array_equal(est.predict(X), est.labels_)


def test_warm_start_trains_every_restart_of_a_consensus_on():
    est = _fit(_toy(n_init=2, max_epochs=2, warm_start=True))
    _fit(est)
    longer = _fit(_toy(n_init=2, max_epochs=4))
    assert [m.n_iter_ for m in est.consensus_.members] == [4, 4]
    for mine, theirs in zip(est.consensus_.members, longer.consensus_.members):
        np.testing.assert_array_equal(mine.labels_, theirs.labels_)
        assert same_weights(mine, theirs)
    np.testing.assert_array_equal(est.labels_, longer.labels_)
    np.testing.assert_array_equal(est.restart_scores_, longer.restart_scores_)


def test_ctrl_c_combines_the_finished_restarts(monkeypatch, python_sigint):
    interrupt_at_backward(monkeypatch, 36, "signal")  # restart 3, second epoch
    est = _toy(n_init=3)
    with pytest.warns(UserWarning, match=r"in restart 3 of n_init=3, .*consensus of the 2 fini"):
        _fit(est)
    monkeypatch.undo()
    assert len(est.consensus_.members) == 2
    np.testing.assert_array_equal(est.predict(X), est.labels_)


def test_a_consensus_pickles_and_predicts_the_same():
    est = _fit(_toy(n_init=2))
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.labels_)
    np.testing.assert_array_equal(again.predict_proba(X[:20]), est.predict_proba(X[:20]))
