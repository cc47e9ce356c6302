"""A user's data-parallel fit script, launched by the tests as a user launches it.

``torchrun --standalone --nproc-per-node 2 _torchrun_fit.py NAME PARAMS``: every
rank joins the gloo group, fits the estimator ``NAME`` (``PARAMS``: its
parameters as JSON) on the first 300 sklearn digits with its rank as the seed,
all-gathers the labels, destroys the group and exits.  Each rank prints one
line ``RESULT {"rank": ..., "agree": ..., "group_released": ...}`` after the
group is destroyed: whether the ranks' labels agree, and whether the group
object was freed by ``destroy_process_group()`` (a group something still holds
keeps its threads, which can abort the process at exit: issue 43).  As little
as possible runs between the last collective and the exit, so that such an
abort is not hidden by a delay.
"""

import json
import sys
import weakref

import torch
import torch.distributed as dist
from sklearn.datasets import load_digits

import skdeepcluster


def main(name, params):
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    est = getattr(skdeepcluster, name)(
        n_clusters=10, random_state=rank, device="cpu", **json.loads(params)
    )
    labels = torch.as_tensor(est.fit(load_digits().images[:300]).labels_)
    parts = [torch.empty_like(labels) for _ in range(world)]
    dist.all_gather(parts, labels)
    group = weakref.ref(dist.group.WORLD)
    dist.destroy_process_group()
    result = {
        "rank": rank,
        "agree": all(torch.equal(p, labels) for p in parts),
        "group_released": group() is None,
    }
    sys.stdout.write(f"RESULT {json.dumps(result)}\n")  # one write: the ranks share the pipe
    sys.stdout.flush()


if __name__ == "__main__":
    main(*sys.argv[1:3])
