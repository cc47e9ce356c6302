"""One fit's progress: the session, Ctrl-C, checkpoints and the checks a resume passes.

:class:`FitSession` carries one fit across the :func:`~skdeepcluster.nn.loop.train`
calls of its phases (a method may train in several, one call each): epochs and
steps done per phase, the optimisers, random states, history and any tensors
the method computed between phases.  Its :meth:`~FitSession.state` is what a
checkpoint file holds; a session built from such a state resumes where it was
written, skipping finished phases, and one built with ``extend=True`` trains a
finished fit's last phase further (warm start).  A stop requested through the
session (Ctrl-C under :func:`stop_on_interrupt`) ends ``train`` after the
current step with :class:`~skdeepcluster.nn.loop.TrainingInterrupted`.

:func:`open_session` makes an estimator's session for one ``fit``: it
describes the fit (parameters, data, device, start), resumes a checkpoint
written for the same fit and refuses one written for another, naming what
differs.  :class:`Trainer` is what a method's ``_train_module`` hook is
given: the loop with the fit's common arguments bound.
"""

import contextlib
import copy
import hashlib
import os
import signal
import tempfile
import threading

import torch

from ..nn.loop import Session, TrainingInterrupted, train

__all__ = [
    "FitSession",
    "Trainer",
    "TrainingInterrupted",
    "open_session",
    "stop_on_interrupt",
    "save_checkpoint",
    "load_checkpoint",
    "to_cpu",
]

CHECKPOINT_FORMAT = 1

# Parameters that change neither the training nor its result: a checkpoint
# written with other values of them is resumed.
RESUME_IGNORES = (
    "verbose",
    "warm_start",
    "checkpoint_path",
    "checkpoint_every",
    "max_device_bytes",
)


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
    """``obj`` (nested dicts, lists, tuples of tensors, plain values), tensors copied to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {key: to_cpu(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(value) for value in obj)
    return obj


class FitSession(Session):
    """One fit's progress across its ``train`` calls (:mod:`skdeepcluster.nn.loop`).

    It is what a checkpoint holds.

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
    description : dict, optional
        What the fit is (see :func:`fit_description`): a checkpoint carries it.
    """

    def __init__(
        self,
        generator,
        history,
        device,
        resume=None,
        extend=False,
        save=None,
        save_every=1,
        description=None,
    ):
        self.generator = generator
        self.description = description
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
        """``compute()``, or the tensor a resumed state holds under ``name``; kept for later."""
        if name in self.cache:
            self.cache[name] = self.cache[name].to(self.device)
        else:
            self.cache[name] = compute()
        return self.cache[name]

    def pending(self, phase):
        """Whether ``phase`` has epochs to run (False for a phase a resumed state finished)."""
        info = self.phases.get(phase)
        return (
            info is None
            or info["done"] < info["target"]
            or (self._extend and phase == self.current)
        )

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
        self.restore_random_state()
        return info

    def restore_random_state(self):
        """Restore a resumed state's random states if no phase ran (a finished fit's read-out)."""
        if self._rng_pending:
            _set_rng_state(self.generator, self._rng)
            self._rng_pending = False

    def interruption(self, epoch, steps):
        """Ctrl-C in a step ends the fit with what it has: :class:`TrainingInterrupted`."""
        return TrainingInterrupted(epoch, steps)

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

    def run(self, seed, build_hook, train_hook, read_out_hook, data, verbose):
        """Build, train and read out one fit's module under ``seed``; the module and interruption.

        The method's hooks, called in order on the fit's device with every
        random draw seeded from ``seed``: ``build_hook(data)`` makes the
        module, which the session adopts (a resumed state's weights loaded
        into it); ``train_hook(module, data, trainer)`` trains it through a
        :class:`Trainer`, Ctrl-C ending it after the current step
        (:func:`stop_on_interrupt`); ``read_out_hook(module, data,
        generator)`` runs whether training finished or was interrupted, after
        a finished checkpoint's random states are restored.  The global
        random state is the caller's again afterwards.  Returns ``(module,
        interruption or None)``.
        """
        device = self.device
        cuda_devices = [device.index or 0] if device.type == "cuda" else []
        interrupted = None
        with torch.random.fork_rng(devices=cuda_devices), stop_on_interrupt(self):
            torch.manual_seed(seed)
            self.generator.manual_seed(seed)
            module = self.adopt(build_hook(data))
            try:
                train_hook(module, data, Trainer(self, len(data), verbose))
            except TrainingInterrupted as exc:
                interrupted = exc
            self.restore_random_state()  # a finished checkpoint's, before its read-out
            read_out_hook(module, data, self.generator)
        return module, interrupted

    def final_state(self):
        """What a warm start continues from, on the CPU: :meth:`state` without the module.

        With the fit's description, which a warm start's checkpoint must match.
        """
        return dict(to_cpu(self.state(module=False)), description=self.description)

    def state(self, module=True):
        """The fit's state at its last complete epoch, as tensors and plain values.

        What ``torch.load(..., weights_only=True)`` reads back: the module's
        and optimisers' ``state_dict`` (the module's omitted with
        ``module=False``), random states, per-phase progress, the history and
        the cached tensors.
        """
        state = {
            "format": CHECKPOINT_FORMAT,
            "phases": copy.deepcopy(self.phases),
            "current": self.current,
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "rng": self._rng,
            "history": copy.deepcopy(self.history),
            "cache": self.cache,
        }
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
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
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
        raise ValueError(
            f"The file {os.fspath(path)!r} is not a skdeepcluster checkpoint; "
            "delete it or pass another checkpoint_path."
        )
    if state["format"] != CHECKPOINT_FORMAT:
        raise ValueError(
            f"The checkpoint {os.fspath(path)!r} has format {state['format']}; this "
            f"version reads format {CHECKPOINT_FORMAT}. Delete it to start afresh."
        )
    return state


def fit_description(params, X, digest, device, continues=None, restart=0):
    """What a checkpoint must match to be resumed: parameters, data, device and start.

    ``params`` are the estimator's (those in :data:`RESUME_IGNORES` left out),
    ``digest`` the SHA-256 of ``X`` (hex), and ``continues`` the description
    of the fit a warm start continues, with the number of its epochs
    (``(description, epochs)``), or None for a new fit; ``restart`` is the
    fit's restart (``n_init``), 0-based.
    """
    params = {
        name: repr(value) for name, value in sorted(params.items()) if name not in RESUME_IGNORES
    }
    start = "a new fit"
    if continues is not None:
        earlier, epochs = continues
        start = f"a warm start after {epochs} epochs of the fit {earlier['fingerprint']}"
    if restart:
        start += f", restart {restart + 1}"
    description = {
        "params": params,
        "data": f"{X.shape} {X.dtype} sha256 {digest}",
        "device": device.type,
        "start": start,
    }
    summary = repr(sorted(description.items())).encode()
    description["fingerprint"] = hashlib.sha256(summary).hexdigest()[:16]
    return description


def mismatch_message(path, theirs, ours):
    """Why the checkpoint at ``path`` (description ``theirs``) is not this fit's (``ours``)."""
    differences = []
    their_params = theirs.get("params", {})
    for name, value in ours["params"].items():
        if their_params.get(name) != value:
            differences.append(f"{name} ({their_params.get(name, 'absent')} there, {value} here)")
    for key, what in (
        ("data", "the training data"),
        ("device", "the device"),
        ("start", "the start"),
    ):
        if theirs.get(key) != ours[key]:
            differences.append(f"{what} ({theirs.get(key)} there, {ours[key]} here)")
    return (
        f"The checkpoint {os.fspath(path)!r} was written by another fit; it differs in "
        + "; ".join(differences or ["its description"])
        + ". Delete the file or pass another checkpoint_path to start this fit."
    )


def open_session(
    X, digest, params, device, *, checkpoint_path=None, checkpoint_every=1, previous=None, restart=0
):
    """The :class:`FitSession` of one ``fit(X)``; ``digest`` is ``X``'s SHA-256 (hex).

    ``params`` are the estimator's parameters and ``device`` the fit's.  A
    warm start passes ``previous = (state, module, history)``: the last
    fit's :meth:`FitSession.state` (without its module), its module and its
    history list, which the session continues.  A checkpoint at
    ``checkpoint_path`` written for the same fit (parameters, data, device,
    start) continues from where it was written and one written for another
    is refused; a new checkpoint is written every ``checkpoint_every``
    epochs.  Otherwise the session's ``history`` is a new list (a resumed
    checkpoint fills it with its records).  ``restart`` numbers the fit's
    restart (``n_init``, 0-based): a checkpoint is resumed by its own restart only.
    """
    warm = previous is not None
    state, module, history = previous if warm else (None, None, [])
    resume, extend = None, warm
    continues = (state["description"], len(history)) if warm else None
    description = fit_description(params, X, digest, device, continues, restart)
    if warm:  # tensors cached for other data (a graph of its rows) are computed anew
        same_data = state["description"]["data"] == description["data"]
        resume = dict(state, module=module.state_dict(), cache=state["cache"] if same_data else {})
    path, save, every = checkpoint_path, None, 1
    if path is not None:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ValueError(
                f"checkpoint_path={os.fspath(path)!r}: the folder {folder!r} does not exist."
            )
        if os.path.exists(path):
            written = load_checkpoint(path)
            theirs = written.get("description", {})
            if theirs.get("fingerprint") != description["fingerprint"]:
                own = warm and theirs == state["description"]
                if not own:  # the previous fit's own last state is overwritten
                    raise ValueError(mismatch_message(path, theirs, description))
            else:
                resume, extend = written, False
        every = checkpoint_every

        def save(state):
            save_checkpoint(path, {**state, "description": description})

    return FitSession(
        torch.Generator(device=device),
        history,
        device,
        resume=resume,
        extend=extend,
        save=save,
        save_every=every,
        description=description,
    )


class Trainer:
    """What a method's ``_train_module`` hook is given: the loop with the fit's arguments bound.

    ``trainer(steps, *, max_epochs, batch_size=None, batches=None,
    schedule=None, phase="train", **options)`` runs
    :func:`skdeepcluster.nn.loop.train` over the fit's rows on its device,
    with its generator, history and session, bf16 autocast on CUDA and the
    estimator's ``verbose``: batches of ``batch_size`` (or the batch source
    ``batches``), the steps in ``schedule`` (default: each once a round, in
    order), nothing for ``max_epochs=0``.  ``options`` are the loop's others
    (``epoch_start``, ``epoch_end``, ``lr_schedule``).  ``phase`` names the
    call within the fit (unique per fit): a resumed fit skips the phases it
    finished, and every history record says its phase.

    Attributes
    ----------
    generator : torch.Generator
        The fit's seeded generator on its device: every random draw of the
        method's losses takes it.
    device : torch.device
    """

    def __init__(self, session, n_samples, verbose):
        self._session = session
        self._n_samples = n_samples
        self._verbose = verbose
        self.generator = session.generator
        self.device = session.device

    def __call__(
        self,
        steps,
        *,
        max_epochs,
        batch_size=None,
        batches=None,
        schedule=None,
        phase="train",
        **options,
    ):
        if max_epochs == 0:
            return self._session.history
        return train(
            steps,
            list(steps) if schedule is None else schedule,
            self._n_samples,
            batches=batch_size if batches is None else batches,
            max_epochs=max_epochs,
            device=self.device,
            generator=self.generator,
            amp=self.device.type == "cuda",
            verbose=self._verbose,
            history=self._session.history,
            session=self._session,
            phase=phase,
            **options,
        )

    def pending(self, phase):
        """Whether ``phase`` will train (False for a phase a resumed fit finished)."""
        return self._session.pending(phase)

    def cached(self, name, compute):
        """``compute()``, or the tensor a resumed fit computed under ``name`` (in checkpoints)."""
        return self._session.cached(name, compute)
