"""The one training loop every method uses.

The data stay on the device; each epoch draws a permutation of the row
indices from a seeded generator on that device and a *batch source* cuts it
into batches: :class:`Batches` (plain batches of a size) unless a method
passes its own (GATCluster's target chunks, whose ``__call__`` does work
between batches).  A method describes its optimisation as named
:class:`Step` objects (an optimiser and a function from a batch of indices
to named loss terms) and a ``schedule``, the cycle of step names taken batch
after batch: ``["critic"] * 4 + ["encoder"]`` gives WGAN's 4 critic updates
per encoder update.

Losses are summed on the device and read back once per epoch (and every
``_CHECK_EVERY`` steps for the NaN/inf guard), so the loop never waits on
the GPU inside a step.

A :class:`Session` carries one fit across the ``train`` calls of its
phases: the loop asks it ``begin(phase, epochs, steps)`` for the phase's
progress (a dict with the epochs ``target`` and ``done`` and the ``steps``
taken; None when there is nothing left to run), reports each finished epoch
with ``end_epoch(progress, step_count, stopped)``, reads ``stop_requested``
after every step (then raising :class:`TrainingInterrupted`), asks
``interruption(epoch, steps)`` what Ctrl-C inside a step becomes, and trains
its ``module`` data-parallel across ranks.  The base class here is the
no-op session of a single ``train`` call; the estimators' fit session
(``skdeepcluster._framework.session.FitSession``) derives from it.
"""

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
from tqdm.auto import tqdm

from .distributed import data_parallel, process_group
from .progress import progress_bar

__all__ = [
    "Step",
    "Session",
    "Batches",
    "train",
    "batch_slices",
    "adam",
    "epochs_for_updates",
    "warmup_cosine",
    "generator_seed",
    "TrainingInterrupted",
]

# Steps between the NaN/inf checks inside an epoch (each check costs one sync).
_CHECK_EVERY = 100


@dataclass
class Step:
    """One kind of gradient step.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Updates the parameters this step trains.
    loss : callable
        ``loss(idx) -> dict[str, Tensor]``: given a 1-D tensor of row indices
        on the device, the named scalar loss terms (already weighted).  Their
        sum is minimised; each is recorded under its name in the history.  No
        terms (every weight of a method 0) leave the parameters as they are.
    """

    optimizer: torch.optim.Optimizer
    loss: Callable


class TrainingInterrupted(Exception):
    """A stop was requested during :func:`train`; raised after the step that was running.

    ``epoch`` is the (0-based) epoch that was running and ``steps`` the
    steps of it that were taken.
    """

    def __init__(self, epoch, steps):
        super().__init__(f"training interrupted in epoch {epoch + 1} after {steps} of its steps")
        self.epoch = epoch
        self.steps = steps


class Session:
    """The no-op session: one ``train`` call, no checkpoints, Ctrl-C raised as it is.

    ``module`` (None here) is what trains data-parallel across ranks; a
    session that resumes or stops fits overrides the methods.
    """

    module = None
    stop_requested = False

    def begin(self, phase, epochs, steps):
        """The progress of ``phase``: all ``epochs`` to run, none done (None: nothing to run)."""
        return {"target": epochs, "done": 0, "steps": 0}

    def end_epoch(self, progress, step_count, stopped=False):
        """Record a finished epoch of ``progress`` (nothing to record here)."""

    def interruption(self, epoch, steps):
        """What Ctrl-C in a step of ``epoch`` raises: the ``KeyboardInterrupt`` itself here."""
        return KeyboardInterrupt()


class Batches:
    """The batch source of plain batches: an epoch's permutation cut into ``batch_size`` rows.

    A final batch smaller than ``batch_size`` is dropped (see
    :func:`batch_slices`).  A batch source is called with the epoch's
    permutation and the generator and yields the batches' indices; its
    ``steps_per_epoch(n_samples)`` says how many.
    """

    def __init__(self, batch_size):
        self.batch_size = batch_size

    def steps_per_epoch(self, n_samples):
        return len(batch_slices(n_samples, self.batch_size))

    def __call__(self, perm, generator):
        for start, stop in batch_slices(len(perm), self.batch_size):
            yield perm[start:stop]


def adam(params, lr, betas=(0.9, 0.999)):
    """``torch.optim.Adam``, fused into one kernel per step where the parameters allow it.

    Fused Adam (CPU and CUDA floating-point parameters) gives the same
    update in a fraction of the per-parameter dispatch cost, which dominates
    the small networks of these methods on a CPU (a VariationalClustering
    epoch on digits: 0.22 s unfused, 0.18 s fused).
    """
    params = list(params)
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=fused or None)


def generator_seed(generator):
    """An integer seed in ``[0, 2**31 - 1)`` drawn from the torch ``generator`` (on its device).

    For the draws that run outside torch (scikit-learn's k-means, say), so
    they too follow the fit's seed and its checkpointed random state.
    """
    return int(torch.randint(2**31 - 1, (1,), generator=generator, device=generator.device))


def batch_slices(n_samples, batch_size, drop_last=True):
    """Start and stop of each batch of an epoch of ``n_samples`` rows.

    With ``drop_last``, a final batch smaller than ``batch_size`` is dropped,
    unless it would be the only one (``n_samples < batch_size``).
    """
    batch_size = min(batch_size, n_samples)
    slices = [
        (start, min(start + batch_size, n_samples)) for start in range(0, n_samples, batch_size)
    ]
    if drop_last and len(slices) > 1 and slices[-1][1] - slices[-1][0] < batch_size:
        slices.pop()
    return slices


def epochs_for_updates(n_samples, batches, updates, min_epochs=1, max_epochs=None):
    """Epochs that give about ``updates`` optimiser steps on ``n_samples`` rows.

    ``batches`` is a batch size or a batch source (see :class:`Batches`); at
    least ``min_epochs`` and at most ``max_epochs`` (None: no cap).  A
    schedule stated in updates trains a small data set as long as a large
    one: 2,000 images in batches of 256 take 7 steps an epoch, 70,000 take 273.
    """
    batches = Batches(batches) if isinstance(batches, int) else batches
    epochs = math.ceil(updates / batches.steps_per_epoch(n_samples))
    return max(min_epochs, epochs if max_epochs is None else min(max_epochs, epochs))


def warmup_cosine(warmup=0.05, final=0.0):
    """A learning-rate factor of training progress: linear warm-up, then cosine decay.

    Returns ``factor(progress)`` for ``progress`` in [0, 1] (the fraction of
    the run's optimiser steps taken): it rises linearly from near 0 to 1
    over the first ``warmup`` of the run, then follows a half cosine down to
    ``final`` at the end (Loshchilov & Hutter's SGDR without restarts).
    """

    def factor(progress):
        if progress < warmup:
            return (progress + 1e-3) / (warmup + 1e-3)
        rest = (progress - warmup) / max(1.0 - warmup, 1e-12)
        return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * min(rest, 1.0)))

    return factor


def train(
    steps,
    schedule,
    n_samples,
    *,
    batches,
    max_epochs,
    device,
    generator,
    amp=False,
    verbose=0,
    history=None,
    epoch_start=None,
    epoch_end=None,
    lr_schedule=None,
    session=None,
    phase="train",
):
    """Run the optimisation; return the history with one record per epoch appended.

    Parameters
    ----------
    steps : dict of str to Step
    schedule : sequence of str
        Names in ``steps``, cycled over batches (the cycle continues across epochs).
    n_samples : int
        Rows to draw batches of indices from.
    batches : int or batch source
        A batch size (:class:`Batches` of it) or a batch source.
    max_epochs : int
    device, generator : torch.device, torch.Generator
        The generator lives on ``device`` and draws the batch permutations.
    amp : bool, default=False
        bf16 autocast.
    verbose : int, default=0
        0 shows nothing.  1 shows a progress bar of the phase's epochs (on
        standard error, tqdm's, on rank 0) with the last epoch's losses and
        the time left; it says when Ctrl-C stopped the phase.  ``verbose=N``
        above 1 also prints a line of losses, samples/s and time left every
        ``N`` epochs (on standard output, for logs).
    history : list, optional
        Where the records go (numbered after those it holds): ``epoch``, the
        mean of each loss term over the batches that computed it, ``time``
        (s), ``samples_per_s``, what ``epoch_end`` adds, and ``phase``.
    epoch_start, epoch_end : callable, optional
        ``epoch_start(epoch)`` before each epoch; ``epoch_end(epoch, record)``
        after it (it may add entries to the record) and True stops training.
    lr_schedule : callable, optional
        ``factor(progress)``: before every step its optimiser's learning rates
        are their values at the start times the factor of the fraction of the
        planned steps taken (e.g. :func:`warmup_cosine`); restored on return.
    session : Session, optional
        The fit this call is the phase ``phase`` of (see the module
        docstring); None: the no-op :class:`Session`.

    Raises
    ------
    FloatingPointError
        When a loss term becomes NaN or infinite (the message names it and the epoch).
    TrainingInterrupted
        When ``session`` asked to stop, or Ctrl-C reached a step of a fit session.
    """
    history = [] if history is None else history
    session = Session() if session is None else session
    progress = session.begin(phase, max_epochs, steps)
    if progress is None:
        return history
    batches = Batches(batches) if isinstance(batches, int) else batches
    first_epoch = len(history)
    epochs = progress["target"] - progress["done"]
    total_steps = progress["target"] * batches.steps_per_epoch(n_samples)
    losses = {name: step.loss for name, step in steps.items()}
    rank, started = process_group()[0], time.perf_counter()
    with (
        _learning_rate_plan(steps, lr_schedule, total_steps) as set_learning_rate,
        data_parallel(losses, session.module, device) as losses,
        _Progress(verbose and rank == 0, phase, progress) as bar,
    ):
        run = _Run(steps, schedule, losses, set_learning_rate, batches, session, progress["steps"])
        for epoch in range(first_epoch, first_epoch + epochs):
            if epoch_start is not None:
                epoch_start(epoch)
            history.append(record := run.epoch(epoch, n_samples, device, generator, amp))
            stop_now = bool(epoch_end(epoch, record)) if epoch_end is not None else False
            record["phase"] = phase  # before a checkpoint holds the record
            session.end_epoch(progress, run.step_count, stopped=stop_now)
            bar.epoch(record)
            if verbose > 1 and rank == 0:
                _report(
                    record, epoch - first_epoch + 1, epochs, first_epoch, started, verbose, stop_now
                )
            if stop_now:
                break
    return history


class _Run:
    """The steps of one ``train`` call, taken batch after batch: its epochs.

    ``losses`` are the steps' losses (data-parallel where ranks train
    together), ``set_learning_rate(optimizer, step_count)`` the learning-rate
    plan, ``step_count`` the steps taken so far (the schedule's position).
    """

    def __init__(self, steps, schedule, losses, set_learning_rate, batches, session, step_count):
        self.steps, self.schedule, self.losses = steps, schedule, losses
        self.set_learning_rate, self.batches, self.session = set_learning_rate, batches, session
        self.step_count = step_count
        self.rank, self.world = process_group()

    def epoch(self, epoch, n_samples, device, generator, amp):
        """One pass over the batches of a new permutation of the rows: the epoch's record."""
        autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bool(amp))
        totals = _EpochTotals()
        perm = torch.randperm(n_samples, device=device, generator=generator)
        for idx in self.batches(perm, generator):
            name = self.schedule[self.step_count % len(self.schedule)]
            optimizer = self.steps[name].optimizer
            self.set_learning_rate(optimizer, self.step_count)
            try:
                with autocast:  # each rank its share of the batch
                    own = idx.tensor_split(self.world)[self.rank] if self.world > 1 else idx
                    terms = self.losses[name](own)
                _descend(optimizer, terms)
            except KeyboardInterrupt:  # without stop_on_interrupt's handler
                raise self.session.interruption(epoch, totals.steps) from None
            totals.add(terms, len(idx))
            self.step_count += 1
            if self.step_count % _CHECK_EVERY == 0:
                _check_finite(totals.sums, epoch)
            if self.session.stop_requested:
                raise TrainingInterrupted(epoch, totals.steps)
        return totals.record(epoch)


def _descend(optimizer, terms):
    """One gradient step on the sum of ``terms`` (none: the parameters stay as they are)."""
    if terms:
        optimizer.zero_grad(set_to_none=True)
        sum(terms.values()).backward()
        optimizer.step()


@contextlib.contextmanager
def _learning_rate_plan(steps, lr_schedule, total_steps):
    """Yields ``set(optimizer, step_count)``, which scales its learning rates by the schedule.

    The factor is ``lr_schedule(step_count / total_steps)`` of the rates the
    optimisers had when the block began; they get those back when it ends.
    Without a schedule ``set`` does nothing.
    """
    if lr_schedule is None:
        yield lambda optimizer, step_count: None
        return
    base = {
        id(step.optimizer): [group["lr"] for group in step.optimizer.param_groups]
        for step in steps.values()
    }

    def scale(optimizer, factor):
        for group, lr in zip(optimizer.param_groups, base[id(optimizer)]):
            group["lr"] = lr * factor

    try:
        yield lambda optimizer, step_count: scale(
            optimizer, lr_schedule(min(step_count / total_steps, 1.0))
        )
    finally:
        for step in steps.values():
            scale(step.optimizer, 1.0)


class _EpochTotals:
    """The loss sums (on the device), batch counts and rows seen of one epoch."""

    def __init__(self):
        self.sums, self.counts, self.seen, self.steps = {}, {}, 0, 0
        self.started = time.perf_counter()

    def add(self, terms, rows):
        for name, value in terms.items():
            value = value.detach().float()
            self.sums[name] = self.sums[name] + value if name in self.sums else value
            self.counts[name] = self.counts.get(name, 0) + 1
        self.seen += rows
        self.steps += 1

    def record(self, epoch):
        """The epoch's record: mean losses (over every rank), time and samples/s; checks them."""
        _check_finite(self.sums, epoch)
        sums, world = self.sums, process_group()[1]
        if sums and world > 1:  # the losses of the whole batch, the same on every rank
            stacked = torch.stack(list(sums.values()))
            torch.distributed.all_reduce(stacked)
            sums = dict(zip(sums, stacked / world))
        values = torch.stack(list(sums.values())).cpu().tolist() if sums else []
        elapsed = time.perf_counter() - self.started
        record = {"epoch": epoch}
        record.update({name: v / self.counts[name] for name, v in zip(sums, values)})
        record["time"] = elapsed
        record["samples_per_s"] = self.seen / max(elapsed, 1e-9)
        return record


_NOT_LOSSES = ("epoch", "time", "samples_per_s", "phase")


def _losses(record):
    return {
        k: v if isinstance(v, str) else f"{v:.4g}"
        for k, v in record.items()
        if k not in _NOT_LOSSES
    }


class _Progress:
    """A phase's progress bar (tqdm's) of epochs: its losses and time left; Ctrl-C said on it."""

    def __init__(self, show, phase, progress):
        self._bar = progress_bar(progress["target"], phase, "epoch", show, progress["done"])

    def __enter__(self):
        return self

    def epoch(self, record):
        self._bar.set_postfix(_losses(record), refresh=False)
        self._bar.update(1)

    def __exit__(self, kind, exc, tb):
        if not self._bar.disable and kind is not None and issubclass(kind, TrainingInterrupted):
            self._bar.set_description(
                f"{self._bar.desc} interrupted: the model so far is kept", refresh=False
            )
        self._bar.close()
        return False


def _report(record, done, epochs, first_epoch, started, every, last):
    """Print the progress line of an epoch every ``every`` epochs, and after the last."""
    if done % every and done != epochs and not last:
        return
    eta = (time.perf_counter() - started) / done * (epochs - done)
    losses = "  ".join(f"{k}={v}" for k, v in _losses(record).items())
    tqdm.write(
        f"epoch {record['epoch'] + 1}/{first_epoch + epochs}  {losses}  "
        f"{record['samples_per_s']:.0f} samples/s  ETA {eta:.0f}s"
    )


def _check_finite(sums, epoch):
    if not sums:
        return
    finite = torch.stack([torch.isfinite(v) for v in sums.values()]).cpu().tolist()
    for name, ok in zip(sums, finite):
        if not ok:
            raise FloatingPointError(
                f"The loss term {name!r} became NaN or infinite in epoch {epoch + 1}; "
                "training stopped. Try a smaller learning_rate, or check the input for "
                "extreme values."
            )
