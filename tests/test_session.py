"""The fit session: Ctrl-C keeps the work, warm starts continue, checkpoints resume (all four)."""

import os
import signal

import numpy as np
import pytest
import torch

from skdeepcluster import DCCSClustering, VariationalClustering
from skdeepcluster._framework.session import load_checkpoint, save_checkpoint

from ._harness import (
    TOY_QUICK,
    digits,
    interrupt_at_backward,
    kill_fit_after_epochs,
    losses,
    make,
    same_weights,
)
from ._toy import ToyClusterer
from .conftest import ESTIMATORS, IDS, QUICK

# The four estimators and the test clusterer, which implements the base's contract alone.
WITH_TOY = [*ESTIMATORS, ToyClusterer]
WITH_TOY_IDS = [*IDS, "ToyClusterer"]


@pytest.mark.parametrize("cls", WITH_TOY, ids=WITH_TOY_IDS)
def test_warm_start_twice_equals_one_longer_fit(cls):
    X = digits()
    one = make(cls, max_epochs=10).fit(X)  # DualAE: 10 joint epochs after the other phases
    two = make(cls, max_epochs=5, warm_start=True).fit(X)
    first_history = [dict(record) for record in two.history_]
    two.fit(X)
    assert same_weights(one, two)
    np.testing.assert_array_equal(one.labels_, two.labels_)
    assert one.n_iter_ == two.n_iter_ == len(two.history_)
    assert losses(one.history_) == losses(two.history_)
    # The second fit appended to the first one's records (their timings too), not re-ran them.
    assert len(first_history) < len(two.history_)
    assert two.history_[: len(first_history)] == first_history


@pytest.mark.parametrize("cls", WITH_TOY, ids=WITH_TOY_IDS)
def test_warm_start_on_other_data_trains_on_those_rows(cls):
    """What a fit cached for its rows (DualAE's graph space) is not reused for other rows."""
    est = make(cls, max_epochs=1, warm_start=True).fit(digits(100))
    est.fit(digits(300))
    assert est.labels_.shape == (300,) and est.n_iter_ == len(est.history_)


def test_warm_start_false_starts_afresh():
    X = digits()
    est = make(VariationalClustering, max_epochs=2)
    a = est.fit(X).labels_.copy()
    b = est.fit(X).labels_
    np.testing.assert_array_equal(a, b)
    assert est.n_iter_ == 2


def test_warm_start_needs_the_fitted_shape():
    est = make(VariationalClustering, max_epochs=1, warm_start=True).fit(digits())
    with pytest.raises(ValueError, match="shape"):
        est.fit(np.random.rand(50, 6, 6))


def test_dccs_cosine_warm_start_is_not_one_schedule():
    """Where the schedule does not allow it (cosine planned per fit), the models differ."""
    X = digits()
    one = make(DCCSClustering, max_epochs=4, lr_schedule="cosine").fit(X)
    two = make(DCCSClustering, max_epochs=2, lr_schedule="cosine", warm_start=True).fit(X).fit(X)
    assert not same_weights(one, two)
    assert two.n_iter_ == 4


def _interrupted_fit(cls, monkeypatch, call, how, match):
    X = digits()
    interrupt_at_backward(monkeypatch, call, how)
    est = make(cls)
    with pytest.warns(UserWarning, match=match):
        est.fit(X)
    monkeypatch.undo()
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    assert est.labels_.shape == (len(X),)
    return est


@pytest.mark.parametrize("cls", WITH_TOY, ids=WITH_TOY_IDS)
def test_ctrl_c_keeps_the_work(cls, monkeypatch, python_sigint):
    est = _interrupted_fit(cls, monkeypatch, 7, "signal", "interrupted")
    assert est.n_iter_ == len(est.history_) < 6
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_keyboard_interrupt_without_the_handler_keeps_the_work(monkeypatch):
    """A KeyboardInterrupt raised inside a step (no SIGINT handler of ours) also keeps the model."""
    est = _interrupted_fit(
        VariationalClustering, monkeypatch, 5, "raise", "in epoch 2, after 1 of its steps"
    )
    assert est.n_iter_ == 1


def test_the_progress_bar_says_ctrl_c_kept_the_model(monkeypatch, capsys):
    X = digits()
    interrupt_at_backward(monkeypatch, 5, "raise")
    est = make(ToyClusterer, verbose=1)
    with pytest.warns(UserWarning, match="interrupted") as record:
        est.fit(X)
    assert record[0].filename == __file__  # it names the line that called fit
    final = capsys.readouterr().err.split("\r")[-1]
    assert final.startswith("train interrupted: the model so far is kept:")


@pytest.mark.slow
@pytest.mark.parametrize("cls", WITH_TOY, ids=WITH_TOY_IDS)
def test_sigkill_then_resume_gives_the_uninterrupted_fit(cls, tmp_path):
    path = tmp_path / "fit.ckpt"
    params = dict(
        n_clusters=10,
        random_state=0,
        verbose=1,
        checkpoint_path=str(path),
        **(TOY_QUICK if cls is ToyClusterer else QUICK[cls]),
    )
    kill_fit_after_epochs(cls, params, 3, tmp_path)
    written = load_checkpoint(path)
    done = sum(p["done"] for p in written["phases"].values())
    assert done == 3
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]

    resumed = cls(**{**params, "verbose": 0}).fit(digits())
    fresh = cls(**{k: v for k, v in params.items() if k not in ("verbose", "checkpoint_path")})
    fresh.fit(digits())
    # The resumed fit carries the killed process's first epochs (their timings too).
    assert [r["time"] for r in resumed.history_[:3]] == [r["time"] for r in written["history"]]
    np.testing.assert_array_equal(resumed.labels_, fresh.labels_)
    assert same_weights(resumed, fresh)
    assert losses(resumed.history_) == losses(fresh.history_)


def test_finished_checkpoint_goes_straight_to_the_read_out(tmp_path):
    path = tmp_path / "vc.ckpt"
    first = make(VariationalClustering, max_epochs=2, checkpoint_path=path).fit(digits())
    again = make(VariationalClustering, max_epochs=2, checkpoint_path=path).fit(digits())
    assert again.history_ == first.history_  # no epoch trained again (same timings)
    np.testing.assert_array_equal(again.labels_, first.labels_)


def test_checkpoint_of_another_fit_is_refused(tmp_path):
    path = tmp_path / "vc.ckpt"
    make(VariationalClustering, max_epochs=1, checkpoint_path=path).fit(digits())
    with pytest.raises(ValueError, match=r"learning_rate \(0.001 there, 0.01 here\)"):
        make(VariationalClustering, max_epochs=1, learning_rate=0.01, checkpoint_path=path).fit(
            digits()
        )
    with pytest.raises(ValueError, match="the training data"):
        make(VariationalClustering, max_epochs=1, checkpoint_path=path).fit(digits(150))
    # verbose and checkpoint_every change nothing: the checkpoint is resumed.
    make(
        VariationalClustering, max_epochs=1, checkpoint_path=path, verbose=0, checkpoint_every=3
    ).fit(digits())


def test_warm_start_overwrites_its_own_checkpoint(tmp_path):
    path = tmp_path / "vc.ckpt"
    est = make(VariationalClustering, max_epochs=1, warm_start=True, checkpoint_path=path)
    est.fit(digits()).fit(digits())
    assert sum(p["done"] for p in load_checkpoint(path)["phases"].values()) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other", "code"])
def test_unreadable_checkpoint_is_a_clear_error(tmp_path, damage):
    path = tmp_path / "vc.ckpt"
    make(VariationalClustering, max_epochs=1, checkpoint_path=path).fit(digits())
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "other":
        torch.save({"weights": torch.zeros(3)}, path)
    else:  # a pickle that would run code: refused by weights_only=True
        torch.save({"payload": _Evil()}, path)
    with pytest.raises(ValueError, match="checkpoint"):
        make(VariationalClustering, max_epochs=1, checkpoint_path=path).fit(digits())


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo ran",))


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "state.ckpt"
    save_checkpoint(path, {"a": torch.ones(2)})

    def failing_save(obj, handle):
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"a": torch.zeros(2)})
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))
    assert os.listdir(tmp_path) == ["state.ckpt"]


def test_checkpoint_folder_must_exist(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        make(
            VariationalClustering, max_epochs=1, checkpoint_path=tmp_path / "missing" / "fit.ckpt"
        ).fit(digits())


def test_pickle_leaves_the_optimisers_behind_and_still_warm_starts():
    import pickle

    X = digits()
    est = make(VariationalClustering, max_epochs=1, warm_start=True).fit(X)
    blob = pickle.dumps(est)
    assert est._training_state["optimizers"]  # kept in memory for an exact warm start
    weights = sum(t.numel() * t.element_size() for t in est.module_.state_dict().values())
    assert len(blob) < 1.5 * weights
    loaded = pickle.loads(blob)
    loaded.fit(X)
    assert loaded.n_iter_ == 2 and loaded.labels_.shape == (len(X),)
