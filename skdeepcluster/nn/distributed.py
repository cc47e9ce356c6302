"""Data-parallel training across the processes ``torchrun`` launches.

Everything here is a no-op in a single process, so methods call it
unconditionally: :func:`gather_rows` returns its argument, the broadcasts
return theirs, and :func:`data_parallel` hands the losses back unwrapped.
"""

import contextlib
import os
import sys
import warnings

import torch

if torch.distributed.is_available():
    # Imported now, before any process group exists, on purpose.  This torch
    # module's functions take ``group=group.WORLD`` as a default argument,
    # so importing it after ``init_process_group()`` binds the default group
    # into them for good: ``destroy_process_group()`` then leaves the group's
    # threads running, and a gloo worker that is still releasing the last
    # collective's tensors as the interpreter exits aborts the process
    # ("terminate called without an active exception", issue 43).  torch
    # imports it on its own the first time an optimiser is built (through
    # ``torch._dynamo``), which in a launched script is inside the fit.
    import torch.distributed.nn.functional  # noqa: F401

__all__ = [
    "join_launched_group",
    "process_group",
    "gather_rows",
    "broadcast_from_first",
    "same_on_every_rank",
    "require_same_data",
    "synced_batch_norm",
    "data_parallel",
]


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
    if _default_group_pinned():
        warnings.warn(
            "torch.distributed.nn.functional was imported after init_process_group() and holds "
            "the default process group: destroy_process_group() will not end the group's "
            "threads, and the process can abort as it exits ('terminate called without an "
            "active exception'). Import skdeepcluster before calling init_process_group().",
            RuntimeWarning,
            stacklevel=3,
        )
    return device


def _default_group_pinned():
    """Whether torch.distributed.nn.functional holds the default group in its defaults.

    See the import.
    """
    functional = sys.modules.get("torch.distributed.nn.functional")
    world = torch.distributed.group.WORLD
    defaults = getattr(getattr(functional, "all_gather", None), "__defaults__", None) or ()
    return world is not None and any(value is world for value in defaults)


def process_group():
    """``(rank, world_size)`` of the initialised ``torch.distributed`` group, else ``(0, 1)``."""
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
    padded = torch.nn.functional.pad(
        tensor, (0, 0) * (tensor.dim() - 1) + (0, max(sizes) - sizes[rank])
    )
    parts = _AllGather.apply(padded) if tensor.requires_grad else _all_gather(padded)
    full = torch.cat([part[:n] for part, n in zip(parts, sizes)])
    if not own:
        return full
    start = sum(sizes[:rank])
    return full, slice(start, start + sizes[rank])


def _all_gather(tensor):
    parts = [torch.empty_like(tensor) for _ in range(process_group()[1])]
    torch.distributed.all_gather(parts, tensor.contiguous())
    return parts


class _AllGather(torch.autograd.Function):
    """All-gather whose backward gives each rank the sum over ranks of its rows' gradients.

    What ``torch.distributed.nn.functional.all_gather`` does on the default
    group; torch deprecates that one (a ``FutureWarning`` at every call).
    """

    @staticmethod
    def forward(ctx, tensor):
        return tuple(_all_gather(tensor))

    @staticmethod
    def backward(ctx, *grads):
        total = torch.stack([g.contiguous() for g in grads])
        torch.distributed.all_reduce(total)
        return total[process_group()[0]]


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


def require_same_data(digest):
    """Raise ``ValueError`` unless every rank's training data have this ``digest`` (bytes).

    A distributed fit splits one data set between its ranks; ranks given
    different arrays would each train on a mix of the two.
    """
    if process_group()[1] > 1 and not same_on_every_rank(
        int.from_bytes(digest[:8], "little", signed=True)
    ):
        raise ValueError(
            "A distributed fit needs the same X on every rank; the ranks of "
            "this process group were given different data."
        )


@contextlib.contextmanager
def synced_batch_norm(module, enabled=True):
    """Within the block, ``module``'s BatchNorm layers are SyncBatchNorm (whole-batch statistics).

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
                    child, torch.nn.SyncBatchNorm
                ):
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


@contextlib.contextmanager
def data_parallel(losses, module, device):
    """Within the block, the ``losses`` (name to ``loss(idx)``) sync gradients across ranks.

    Yields the losses to call.  With more than one rank each becomes the
    forward of a ``DistributedDataParallel`` around a module holding
    ``module`` (the methods call its submodules directly, so wrapping the
    network itself would not sync); on CUDA the BatchNorm layers run as
    SyncBatchNorm.  When the block ends normally, every buffer takes rank
    0's value (the batch statistics of the last step, as DDP's forward
    broadcasts them).  In a single process the losses are yielded as given.
    """
    if process_group()[1] == 1:
        yield losses
        return
    if module is None:
        raise RuntimeError("A distributed fit needs the module it trains.")
    from torch.nn.parallel import DistributedDataParallel

    with synced_batch_norm(module, enabled=device.type == "cuda"):
        yield {
            name: DistributedDataParallel(_StepModule(module, loss), find_unused_parameters=True)
            for name, loss in losses.items()
        }
        for buffer in module.buffers():
            torch.distributed.broadcast(buffer, src=0)
