"""The one training loop every method uses.

The data stay on the device; each epoch draws a permutation of the row
indices from a seeded generator on that device and cuts it into batches.
A method describes its optimisation as named :class:`Step` objects (an
optimiser and a function from a batch of indices to named loss terms) and a
``schedule``, the cycle of step names taken batch after batch: ``["critic"] *
4 + ["encoder"]`` gives WGAN's 4 critic updates per encoder update.

A method that trains in *chunks* (GATCluster: targets computed on a large
clean batch, then several passes of small augmented batches over it) sets
``chunk_size``, ``chunk_passes`` and ``chunk_start``: each epoch's
permutation is then cut into chunks of at most ``chunk_size`` rows,
``chunk_start(idx)`` is called with a chunk's indices, and the steps take
``chunk_passes`` passes of batches over that chunk before the next one.

Losses are summed on the device and read back once per epoch (and every
``check_every`` steps for the NaN/inf guard), so the loop never waits on the
GPU inside a step.

A session (``skdeepcluster._session.FitSession``) carries one fit's progress
across its ``train`` calls; it is passed in, never imported here.
"""

import contextlib
import math
import sys
import time
from dataclasses import dataclass
from typing import Callable

import torch

from .distributed import _StepModule, process_group, synced_batch_norm

__all__ = ["Step", "train", "batch_slices", "adam", "epochs_for_updates", "warmup_cosine",
           "TrainingInterrupted"]


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


def batch_slices(n_samples, batch_size, drop_last=True):
    """Start and stop of each batch of an epoch of ``n_samples`` rows.

    With ``drop_last``, a final batch smaller than ``batch_size`` is dropped,
    unless it would be the only one (``n_samples < batch_size``).
    """
    batch_size = min(batch_size, n_samples)
    slices = [(start, min(start + batch_size, n_samples)) for start in range(0, n_samples, batch_size)]
    if drop_last and len(slices) > 1 and slices[-1][1] - slices[-1][0] < batch_size:
        slices.pop()
    return slices


def epochs_for_updates(n_samples, batch_size, updates, min_epochs=1, drop_last=True):
    """Epochs that give about ``updates`` optimiser steps on ``n_samples`` rows (at least ``min_epochs``).

    A schedule stated in updates trains a small data set as long as a large
    one: 2,000 images in batches of 256 take 7 steps an epoch, 70,000 take 273.
    """
    steps = len(batch_slices(n_samples, batch_size, drop_last))
    return max(min_epochs, math.ceil(updates / steps))


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


class TrainingInterrupted(Exception):
    """A stop was requested during :func:`train`; raised after the step that was running.

    ``epoch`` is the (0-based) epoch that was running and ``steps`` the
    steps of it that were taken.
    """

    def __init__(self, epoch, steps):
        super().__init__(f"training interrupted in epoch {epoch + 1} after {steps} of its steps")
        self.epoch = epoch
        self.steps = steps


def _format(record):
    return "  ".join(f"{k}={v}" if isinstance(v, str) else f"{k}={v:.4g}"
                     for k, v in record.items() if k not in ("epoch", "time", "samples_per_s"))


def train(steps, schedule, n_samples, *, batch_size, max_epochs, device, generator,
          amp=False, verbose=0, history=None, epoch_end=None, drop_last=True, check_every=100,
          first_epoch=0, log=None, chunk_size=None, chunk_passes=1, chunk_start=None,
          lr_schedule=None, epoch_start=None, session=None, phase="train"):
    """Run the optimisation and return the per-epoch history.

    Parameters
    ----------
    steps : dict of str to Step
    schedule : sequence of str
        Names in ``steps``, cycled over batches (the cycle continues across
        epochs).
    n_samples : int
        Number of training rows; batches hold indices into them.
    batch_size : int
    max_epochs : int
    device : torch.device
    generator : torch.Generator
        On ``device``; draws the batch permutations.
    amp : bool, default=False
        bf16 autocast (on CUDA).
    verbose : int, default=0
        If positive, print one line per ``verbose`` epochs: losses,
        samples/s and the estimated time left.
    history : list, optional
        Records are appended to it (a new list if None).
    epoch_end : callable, optional
        ``epoch_end(epoch, record) -> bool``; called after each epoch with the
        epoch's record (it may add entries), returning True stops training.
    drop_last : bool, default=True
        See :func:`batch_slices`.
    check_every : int, default=100
        Steps between NaN/inf checks inside an epoch (each costs one sync).
    first_epoch : int, default=0
        Number given to the first epoch (for training in several phases).
    log : file-like, optional
        Where progress goes (default ``sys.stdout``).
    chunk_size : int, optional
        Cut each epoch's permutation into ``ceil(n_samples / chunk_size)``
        chunks of (nearly) equal size; None: the epoch is one chunk.
    chunk_passes : int, default=1
        Passes of batches over each chunk, each after the first in a fresh
        random order.
    chunk_start : callable, optional
        ``chunk_start(idx)``, called with each chunk's row indices (a device
        tensor) before its passes.
    lr_schedule : callable, optional
        ``lr_schedule(progress) -> factor``: before every step, each
        optimiser's learning rates are set to their values at the start of
        ``train`` times ``factor``, with ``progress`` the fraction of the
        ``max_epochs`` epochs' steps already taken (e.g.
        :func:`warmup_cosine`); they are restored when ``train`` returns.
        None keeps the learning rates constant.
    epoch_start : callable, optional
        ``epoch_start(epoch)``, called before each epoch.
    session : FitSession, optional
        The fit this call is a phase of: it then decides the epochs to run
        (``max_epochs`` on a new fit; what is left of them when resuming; none
        for a phase a resumed state finished), numbers them after those in
        ``history`` (``first_epoch`` is ignored), saves checkpoints, and a stop
        it requests ends the call after the current step.
    phase : str, default="train"
        This call's name in ``session`` (unique within a fit).

    Returns
    -------
    history : list of dict
        One record per epoch: ``epoch``, the mean of each loss term over the
        batches that computed it, ``time`` (seconds) and ``samples_per_s``.

    Raises
    ------
    FloatingPointError
        When a loss term becomes NaN or infinite; the message names the term
        and the epoch.
    TrainingInterrupted
        When ``session`` asked to stop (after the step that was running).
    """
    history = [] if history is None else history
    log = sys.stdout if log is None else log
    n_chunks = 1 if chunk_size is None else math.ceil(n_samples / chunk_size)
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bool(amp))
    step_count, planned, progress = 0, max_epochs, None
    if session is not None:
        progress = session.begin(phase, max_epochs, steps)
        if progress is None:
            return history
        first_epoch, step_count, planned = len(history), progress["steps"], progress["target"]
        max_epochs = progress["target"] - progress["done"]
    started = time.perf_counter()
    if lr_schedule is not None:
        chunk_lengths = [len(c) for c in torch.arange(n_samples).tensor_split(n_chunks)]
        total_steps = planned * chunk_passes * sum(
            len(batch_slices(length, batch_size, drop_last)) for length in chunk_lengths)
        base_lrs = {id(step.optimizer): [group["lr"] for group in step.optimizer.param_groups]
                    for step in steps.values()}
    rank, world = process_group()
    losses = {name: step.loss for name, step in steps.items()}
    restore = contextlib.ExitStack()
    try:
        if world > 1:
            if session is None or session.module is None:
                raise RuntimeError("A distributed fit trains through a FitSession with its module.")
            from torch.nn.parallel import DistributedDataParallel
            restore.enter_context(synced_batch_norm(session.module, enabled=device.type == "cuda"))
            losses = {name: DistributedDataParallel(_StepModule(session.module, step.loss),
                                                    find_unused_parameters=True)
                      for name, step in steps.items()}
        for epoch in range(first_epoch, first_epoch + max_epochs):
            if epoch_start is not None:
                epoch_start(epoch)
            t0 = time.perf_counter()
            perm = torch.randperm(n_samples, device=device, generator=generator)
            sums, counts, seen, epoch_steps = {}, {}, 0, 0
            for chunk in perm.tensor_split(n_chunks):
                if chunk_start is not None:
                    chunk_start(chunk)
                slices = batch_slices(len(chunk), batch_size, drop_last)
                for chunk_pass in range(chunk_passes):
                    if chunk_pass:
                        chunk = chunk[torch.randperm(len(chunk), device=device, generator=generator)]
                    for start, stop in slices:
                        step_name = schedule[step_count % len(schedule)]
                        step = steps[step_name]
                        idx = chunk[start:stop]
                        if world > 1:  # this rank's share of the batch
                            idx = idx.tensor_split(world)[rank]
                        if lr_schedule is not None:
                            _scale_lrs(step.optimizer, base_lrs,
                                       lr_schedule(min(step_count / total_steps, 1.0)))
                        try:
                            with autocast:
                                terms = losses[step_name](idx)
                            if terms:
                                step.optimizer.zero_grad(set_to_none=True)
                                sum(terms.values()).backward()
                                step.optimizer.step()
                        except KeyboardInterrupt:  # no stop_on_interrupt handler: keep what there is
                            if session is None:
                                raise
                            raise TrainingInterrupted(epoch, epoch_steps) from None
                        for name, value in terms.items():
                            value = value.detach().float()
                            sums[name] = sums[name] + value if name in sums else value
                            counts[name] = counts.get(name, 0) + 1
                        step_count += 1
                        epoch_steps += 1
                        seen += stop - start
                        if check_every and step_count % check_every == 0:
                            _check_finite(sums, epoch)
                        if session is not None and session.stop_requested:
                            raise TrainingInterrupted(epoch, epoch_steps)
            _check_finite(sums, epoch)
            if sums and world > 1:  # the losses of the whole batch, the same on every rank
                stacked = torch.stack(list(sums.values()))
                torch.distributed.all_reduce(stacked)
                sums = dict(zip(sums, stacked / world))
            values = torch.stack(list(sums.values())).cpu().tolist() if sums else []
            elapsed = time.perf_counter() - t0
            record = {"epoch": epoch}
            record.update({name: v / counts[name] for name, v in zip(sums, values)})
            record["time"] = elapsed
            record["samples_per_s"] = seen / max(elapsed, 1e-9)
            history.append(record)
            stop_now = bool(epoch_end(epoch, record)) if epoch_end is not None else False
            if session is not None:
                session.end_epoch(progress, step_count, stopped=stop_now)
            done = epoch - first_epoch + 1
            if verbose and (done % verbose == 0 or done == max_epochs or stop_now):
                eta = (time.perf_counter() - started) / done * (max_epochs - done)
                print(f"epoch {epoch + 1}/{first_epoch + max_epochs}  {_format(record)}  "
                      f"{record['samples_per_s']:.0f} samples/s  ETA {eta:.0f}s", file=log, flush=True)
            if stop_now:
                break
        if world > 1:  # batch statistics of the last step: rank 0's, as DDP's forward does
            for buffer in session.module.buffers():
                torch.distributed.broadcast(buffer, src=0)
    finally:
        restore.close()
        if lr_schedule is not None:  # leave the optimisers as they came
            for step in steps.values():
                _scale_lrs(step.optimizer, base_lrs, 1.0)
    return history


def _scale_lrs(optimizer, base_lrs, factor):
    """Set ``optimizer``'s learning rates to their bases (``base_lrs[id(optimizer)]``) times ``factor``."""
    for group, base in zip(optimizer.param_groups, base_lrs[id(optimizer)]):
        group["lr"] = base * factor


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
