"""nn/loop.py: batches, epochs for a number of updates, learning-rate schedules, the loop."""

import numpy as np
import pytest
import torch
from torch import nn

from skdeepcluster.nn.loop import (
    Batches,
    Step,
    batch_slices,
    epochs_for_updates,
    train,
    warmup_cosine,
)

from .conftest import torch_generator as _gen


def test_batch_slices():
    assert batch_slices(10, 4) == [(0, 4), (4, 8)]
    assert batch_slices(10, 4, drop_last=False) == [(0, 4), (4, 8), (8, 10)]
    assert batch_slices(3, 8) == [(0, 3)]
    assert batch_slices(8, 4) == [(0, 4), (4, 8)]


def test_epochs_for_updates():
    assert epochs_for_updates(1797, 256, 400) == 58  # 7 batches an epoch
    assert epochs_for_updates(10000, 256, 400) == 11  # 39 batches
    assert epochs_for_updates(100, 256, 400) == 400  # one (short) batch
    assert epochs_for_updates(70000, 256, 400, min_epochs=3) == 3
    assert epochs_for_updates(100, 256, 400, max_epochs=50) == 50
    assert epochs_for_updates(1797, Batches(256), 400) == 58  # a batch source counts its steps


def _regression_steps(x, y):
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []

    def loss(idx):
        calls.append(len(idx))
        return {"mse": ((model(x[idx]) - y[idx]) ** 2).mean()}

    return model, {"fit": Step(opt, loss)}, calls


def test_train_minimises_and_records_history(capsys):
    g = _gen(0)
    x = torch.randn(64, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    model, steps, calls = _regression_steps(x, y)
    history = train(
        steps,
        ["fit"],
        64,
        batches=16,
        max_epochs=30,
        device=torch.device("cpu"),
        generator=_gen(1),
        verbose=10,
    )
    assert len(history) == 30 and history[-1]["mse"] < 1e-3 < history[0]["mse"]
    assert set(history[0]) == {"epoch", "mse", "time", "samples_per_s", "phase"}
    assert history[0]["phase"] == "train"
    assert calls[:4] == [16] * 4
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "samples/s" in lines[0] and "ETA" in lines[0] and "mse=" in lines[0]


def test_warmup_cosine_rises_then_decays_to_final():
    factor = warmup_cosine(warmup=0.1, final=0.0)
    values = [factor(p) for p in np.linspace(0, 1, 101)]
    assert 0 < values[0] < 0.05 and values[10] == pytest.approx(1.0)
    assert np.all(np.diff(values[:11]) > 0) and np.all(np.diff(values[10:]) <= 1e-12)
    assert values[-1] == pytest.approx(0.0, abs=1e-12)
    assert warmup_cosine(0.0, final=0.2)(1.0) == pytest.approx(0.2)


def test_train_sets_each_steps_learning_rate_from_the_schedule():
    x = torch.randn(40, 3, generator=_gen(0))
    y = x.sum(1, keepdim=True)
    model, steps, _ = _regression_steps(x, y)
    optimizer = steps["fit"].optimizer
    base = optimizer.param_groups[0]["lr"]
    seen = []
    loss = steps["fit"].loss
    steps["fit"].loss = lambda idx: (seen.append(optimizer.param_groups[0]["lr"]), loss(idx))[1]
    progress = []
    train(
        steps,
        ["fit"],
        40,
        batches=8,
        max_epochs=3,
        device=torch.device("cpu"),
        generator=_gen(5),
        lr_schedule=lambda p: (progress.append(p), 1 - p)[1],
    )
    # 5 batches x 3 epochs; the schedule sees the fraction of steps taken before each step.
    np.testing.assert_allclose(progress, np.arange(15) / 15)
    np.testing.assert_allclose(seen, base * (1 - np.arange(15) / 15))
    before = model.weight.detach().clone()
    train(
        steps,
        ["fit"],
        40,
        batches=8,
        max_epochs=1,
        device=torch.device("cpu"),
        generator=_gen(5),
        lr_schedule=lambda p: 0.0,
    )
    assert torch.equal(model.weight, before)  # a zero factor freezes the model
    assert optimizer.param_groups[0]["lr"] == base  # and train restores the learning rate


def test_train_is_repeatable_with_the_same_generator():
    x = torch.randn(40, 3, generator=_gen(0))
    y = x.sum(1, keepdim=True)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model, steps, _ = _regression_steps(x, y)
        train(
            steps,
            ["fit"],
            40,
            batches=8,
            max_epochs=3,
            device=torch.device("cpu"),
            generator=_gen(5),
        )
        results.append(model.weight.detach().clone())
    assert torch.equal(results[0], results[1])


def test_schedule_alternates_steps_and_epoch_end_can_stop():
    seen = []

    def make(name):
        p = nn.Parameter(torch.zeros(1))

        def loss(idx):
            seen.append(name)
            return {f"{name}_loss": (p - 1).pow(2).sum()}

        return Step(torch.optim.SGD([p], lr=0.1), loss)

    steps = {"critic": make("critic"), "encoder": make("encoder")}
    history = train(
        steps,
        ["critic"] * 4 + ["encoder"],
        40,
        batches=4,
        max_epochs=5,
        device=torch.device("cpu"),
        generator=_gen(),
        epoch_end=lambda epoch, record: epoch == 1,
    )
    assert seen[:10] == (["critic"] * 4 + ["encoder"]) * 2
    assert len(history) == 2 and {"critic_loss", "encoder_loss"} <= set(history[0])


def test_nan_guard_names_term_and_epoch():
    p = nn.Parameter(torch.ones(1))

    def loss(idx):
        # "broken" carries no gradient, so the parameter stays finite.
        return {"fine": (p - 1).pow(2).sum(), "broken": torch.log(p.detach() - 2).sum()}

    with pytest.raises(FloatingPointError, match=r"'broken'.*epoch 1"):
        train(
            {"s": Step(torch.optim.SGD([p], lr=0.0), loss)},
            ["s"],
            8,
            batches=4,
            max_epochs=3,
            device=torch.device("cpu"),
            generator=_gen(),
        )
