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

A :class:`FitSession` carries one fit's progress across its ``train`` calls
(a method may train in several *phases*, one call each): epochs and steps
done per phase, the optimisers, random states, history and any tensors the
method computed between phases.  Its :meth:`~FitSession.state` is what a
checkpoint file holds; a session built from such a state resumes where it
was written, skipping finished phases, and one built with ``extend=True``
trains a finished fit's last phase further (warm start).  A stop requested
through the session (Ctrl-C under :func:`stop_on_interrupt`) ends ``train``
after the current step with :class:`TrainingInterrupted`.
"""

import contextlib
import copy
import math
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

__all__ = ["Step", "train", "batch_slices", "adam", "epochs_for_updates", "warmup_cosine",
           "DeviceData", "FitSession", "TrainingInterrupted", "stop_on_interrupt",
           "save_checkpoint", "load_checkpoint", "join_launched_group", "process_group",
           "gather_rows", "broadcast_from_first", "same_on_every_rank", "synced_batch_norm"]

CHECKPOINT_FORMAT = 1


def join_launched_group(device):
    """Join the process group ``torchrun`` launched this process into, if it is not joined yet.

    ``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and the rendezvous address
    in each process's environment; with a world of more than one, the group
    is initialised with NCCL when ``device`` is CUDA (gloo otherwise), and a
    CUDA device without an index becomes ``cuda:LOCAL_RANK``.  Returns the
    device to use.  Without those variables nothing happens.
    """
    dist = torch.distributed
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ
    if not dist.is_available() or not (launched or dist.is_initialized()):
        return device
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def process_group():
    """``(rank, world_size)`` of the initialised ``torch.distributed`` group, ``(0, 1)`` without one."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_rows(tensor, own=False):
    """The rows of ``tensor`` from every rank, in rank order.

    Gradients flow back to each rank's own rows (all-gather's backward sums
    over ranks; DistributedDataParallel's average then gives the gradient
    of the whole batch).  Ranks may hold different numbers of rows.  With
    ``own=True`` also returns the slice of this rank's rows in the result.
    Without a process group: ``tensor`` itself (and ``slice(None)``).
    """
    rank, world = process_group()
    if world == 1:
        return (tensor, slice(None)) if own else tensor
    dist = torch.distributed
    size = torch.tensor([tensor.shape[0]], device=tensor.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    sizes = [int(s) for s in sizes]
    padded = torch.nn.functional.pad(tensor, (0, 0) * (tensor.dim() - 1) + (0, max(sizes) - sizes[rank]))
    if tensor.requires_grad:
        from torch.distributed.nn.functional import all_gather
        parts = all_gather(padded)
    else:
        parts = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(parts, padded.contiguous())
    full = torch.cat([part[:n] for part, n in zip(parts, sizes)])
    if not own:
        return full
    start = sum(sizes[:rank])
    return full, slice(start, start + sizes[rank])


def _collective_device():
    dist = torch.distributed
    if dist.get_backend() == "nccl":  # NCCL moves CUDA tensors only
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def broadcast_from_first(tensor):
    """``tensor`` as rank 0 holds it, on every rank (itself without a process group)."""
    if process_group()[1] == 1:
        return tensor
    value = tensor.to(_collective_device())
    torch.distributed.broadcast(value, src=0)
    return value.to(tensor.device)


def same_on_every_rank(value):
    """Whether every rank passed the same integer ``value`` (True without a process group)."""
    _, world = process_group()
    if world == 1:
        return True
    mine = torch.tensor([value], dtype=torch.int64, device=_collective_device())
    values = [torch.zeros_like(mine) for _ in range(world)]
    torch.distributed.all_gather(values, mine)
    return all(torch.equal(v, mine) for v in values)


@contextlib.contextmanager
def synced_batch_norm(module, enabled=True):
    """Within the block, ``module``'s BatchNorm layers are SyncBatchNorm (statistics of the whole batch).

    The SyncBatchNorm layers share the BatchNorm layers' parameters and
    running statistics, and the BatchNorm layers are put back afterwards,
    so optimisers keep working and the fitted module is an ordinary one.
    torch runs SyncBatchNorm on GPUs only: enable it on CUDA.
    """
    swapped = []
    if enabled:
        for parent in list(module.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, torch.nn.modules.batchnorm._BatchNorm) and not isinstance(
                        child, torch.nn.SyncBatchNorm):
                    setattr(parent, name, torch.nn.SyncBatchNorm.convert_sync_batchnorm(child))
                    swapped.append((parent, name, child))
    try:
        yield module
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)


class _StepModule(torch.nn.Module):
    """A step's loss as a module's forward, so DistributedDataParallel can sync its gradients."""

    def __init__(self, module, loss):
        super().__init__()
        self.module = module
        self.loss = loss

    def forward(self, idx):
        return self.loss(idx)


class DeviceData:
    """The training rows on the device (or streamed to it), handed out as float32 batches.

    ``data[idx]`` (a tensor of row indices, or a slice) is the scaled rows,
    float32 on ``device``; ``shape``, ``device``, ``dim()`` and ``len()`` are
    those of the scaled data.

    Parameters
    ----------
    values : ndarray of shape (n_samples, ...)
        The rows, unscaled.  uint8 rows with an ``elementwise`` scaling
        (images) are stored as they are, a quarter of float32's size, and
        become float per batch through a 256-entry table of their scaled
        values (the values float64 scaling then a float32 cast gives, bit
        for bit).  Other rows are scaled once and stored as float32.
    scale : callable
        ``scale(array) -> float64 array``.
    device : torch.device
    max_bytes : int, optional
        The most the stored rows may take on ``device``.  Larger rows stay
        in host memory (page-locked when ``device`` is CUDA) and each batch
        is gathered there and copied over without blocking; so do rows the
        device has no memory for.
    elementwise : bool, default=False
        ``scale`` maps every value alike (one offset and factor).
    """

    def __init__(self, values, scale, device, max_bytes=None, elementwise=False):
        self.device = device
        self._table = None
        if elementwise and values.dtype == np.uint8:
            rows = torch.from_numpy(np.ascontiguousarray(values))
            self._table = torch.as_tensor(scale(np.arange(256, dtype=np.float64)),
                                          dtype=torch.float32, device=device)
        else:
            rows = torch.as_tensor(scale(values), dtype=torch.float32)
        self.shape = rows.shape
        self.nbytes = rows.numel() * rows.element_size()
        self.streaming = max_bytes is not None and self.nbytes > max_bytes
        if not self.streaming:
            try:
                rows = rows.to(device)
            except torch.OutOfMemoryError:
                self.streaming = True
        if self.streaming and device.type == "cuda":
            rows = rows.pin_memory()
        self._rows = rows

    def dim(self):
        return len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        if self.streaming:
            if isinstance(index, torch.Tensor):
                index = index.cpu()
            rows = self._rows[index]
            if self.device.type == "cuda":
                rows = rows.pin_memory()
            rows = rows.to(self.device, non_blocking=True)
        else:
            rows = self._rows[index]
        if self._table is not None:
            return self._table[rows.long()]
        return rows


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


def _rng_state(generator):
    state = {"generator": generator.get_state(), "cpu": torch.get_rng_state()}
    if generator.device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(generator.device)
    return state


def _set_rng_state(generator, state):
    generator.set_state(state["generator"])
    torch.set_rng_state(state["cpu"])
    if "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], generator.device)


def to_cpu(obj):
    """``obj`` (nested dicts, lists, tuples of tensors, plain values), its tensors copied to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {key: to_cpu(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(value) for value in obj)
    return obj


class FitSession:
    """One fit's progress across its :func:`train` calls; what a checkpoint holds.

    Parameters
    ----------
    generator : torch.Generator
        The fit's generator (its state is saved and restored with the rest).
    history : list
        The fit's per-epoch records; replaced by the state's when resuming.
    device : torch.device
        Where cached tensors live during the fit.
    resume : dict, optional
        A :meth:`state` (e.g. read back by :func:`load_checkpoint`), with the
        module's ``state_dict`` under ``"module"``: the fit continues from it.
        Phases it finished are skipped, the running one goes on from its last
        complete epoch with the optimisers' and random states restored.
    extend : bool, default=False
        ``resume`` is the end of an earlier fit to be trained further (warm
        start): the phase it ended in gets the epochs asked for again on top
        of those it has done.
    save : callable, optional
        ``save(state)``, called every ``save_every`` epochs (counted over the
        whole fit) and at the end of every phase.
    save_every : int, default=1
    """

    def __init__(self, generator, history, device, resume=None, extend=False, save=None,
                 save_every=1):
        self.generator = generator
        self.history = history
        self.device = device
        self.save = save
        self.save_every = save_every
        self.stop_requested = False
        self.module = None
        self.phases = {}  # name -> {"target": epochs, "done": epochs, "steps": steps taken}
        self.current = None
        self.optimizers = {}
        self.cache = {}
        self._resume = resume
        self._extend = extend
        self._rng_pending = resume is not None
        self._rng = _rng_state(generator)
        if resume is not None:
            self.phases = copy.deepcopy(resume["phases"])
            self.current = resume["current"]
            self.cache = dict(resume["cache"])
            history[:] = copy.deepcopy(resume["history"])
            self._rng = resume["rng"]

    @property
    def epochs_done(self):
        """Complete epochs over all phases."""
        return sum(info["done"] for info in self.phases.values())

    def adopt(self, module):
        """Register the fit's module (loading the resumed weights into it); returns it."""
        self.module = module
        if self._resume is not None:
            module.load_state_dict(self._resume["module"])
        return module

    def cached(self, name, compute):
        """``compute()``, or the tensor a resumed state holds under ``name``; kept for later states."""
        if name in self.cache:
            self.cache[name] = self.cache[name].to(self.device)
        else:
            self.cache[name] = compute()
        return self.cache[name]

    def pending(self, phase):
        """Whether ``phase`` still has epochs to run (False for a phase a resumed state finished)."""
        info = self.phases.get(phase)
        return (info is None or info["done"] < info["target"]
                or (self._extend and phase == self.current))

    def begin(self, phase, epochs, steps):
        """Start (or resume) ``phase`` of ``epochs`` epochs; None if it has nothing left to run.

        Returns the phase's ``{"target", "done", "steps"}``; restores the
        optimisers of ``steps`` when the phase resumes part-way, and the random
        states at the first phase that runs after resuming.
        """
        if self.stop_requested:
            raise TrainingInterrupted(self.epochs_done, 0)
        info = self.phases.setdefault(phase, {"target": epochs, "done": 0, "steps": 0})
        resumed = self._resume is not None and phase == self._resume["current"]
        if resumed and self._extend:
            info["target"] = info["done"] + epochs
            self._extend = False
        if info["done"] >= info["target"]:
            return None
        self.current = phase
        self.optimizers = {name: step.optimizer for name, step in steps.items()}
        if resumed and info["done"]:
            for name, optimizer in self.optimizers.items():
                if name in self._resume["optimizers"]:
                    optimizer.load_state_dict(self._resume["optimizers"][name])
        if self._rng_pending:
            _set_rng_state(self.generator, self._rng)
            self._rng_pending = False
        return info

    def end_epoch(self, info, step_count, stopped=False):
        """Record a complete epoch of the running phase; save a checkpoint when one is due."""
        info["done"] += 1
        info["steps"] = step_count
        if stopped:
            info["target"] = info["done"]
        self._rng = _rng_state(self.generator)
        last = info["done"] >= info["target"]
        if self.save is not None and (last or self.epochs_done % self.save_every == 0):
            self.save(self.state())

    def state(self, module=True):
        """The fit's state at its last complete epoch, as tensors and plain values.

        What ``torch.load(..., weights_only=True)`` reads back: the module's
        and optimisers' ``state_dict`` (the module's omitted with
        ``module=False``), random states, per-phase progress, the history and
        the cached tensors.
        """
        state = {"format": CHECKPOINT_FORMAT, "phases": copy.deepcopy(self.phases),
                 "current": self.current,
                 "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
                 "rng": self._rng, "history": copy.deepcopy(self.history), "cache": self.cache}
        if module:
            state["module"] = self.module.state_dict()
        return state


@contextlib.contextmanager
def stop_on_interrupt(session):
    """Within the block, Ctrl-C (SIGINT) asks ``session`` to stop after the current step.

    A second Ctrl-C raises ``KeyboardInterrupt`` at once.  Only in the main
    thread, and only while SIGINT has Python's default handler (a handler the
    user installed is left alone); elsewhere the block runs unchanged.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return

    def handler(signum, frame):
        if session.stop_requested:
            raise KeyboardInterrupt
        session.stop_requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def save_checkpoint(path, state):
    """Write ``state`` to ``path`` with ``torch.save`` atomically.

    The bytes go to a temporary file in the same directory, are flushed to
    disk, and the file is then renamed over ``path``: a crash at any moment
    leaves either the previous checkpoint or the new one, never a partial file.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``: no code runs).

    Raises
    ------
    ValueError
        If the file cannot be read (truncated, corrupted, not a checkpoint).
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"The checkpoint file {os.fspath(path)!r} cannot be read: it is truncated, corrupted "
            f"or not a checkpoint ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}). "
            "Delete it to start the fit afresh."
        ) from exc
    keys = {"format", "phases", "current", "optimizers", "rng", "history", "cache", "module"}
    if not isinstance(state, dict) or not keys <= state.keys():
        raise ValueError(f"The file {os.fspath(path)!r} is not a skdeepcluster checkpoint; "
                         "delete it or pass another checkpoint_path.")
    if state["format"] != CHECKPOINT_FORMAT:
        raise ValueError(f"The checkpoint {os.fspath(path)!r} has format {state['format']}; this "
                         f"version reads format {CHECKPOINT_FORMAT}. Delete it to start afresh.")
    return state


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
