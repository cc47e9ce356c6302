"""Data-parallel fits: two CPU processes (gloo) train one model, as torchrun would launch them."""

import json
import os
import pickle
import re
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn.datasets import load_digits

import skdeepcluster
from skdeepcluster.metrics import cluster_accuracy

from ._toy import ToyClusterer
from .conftest import QUICK

# Enough epochs for the single-process comparison of accuracy (more than the quick settings).
SETTINGS = {
    "DCCSClustering": dict(max_epochs=60, batch_size=100),
    "VariationalClustering": dict(pretrain_epochs=3, max_epochs=20, batch_size=100),
    "GATCluster": dict(max_epochs=3, batch_size=50, target_batch=200, num_repeat=1),
    "DualAESpectralClustering": dict(
        pretrain_epochs=8,
        siamese_epochs=4,
        spectral_epochs=4,
        max_epochs=4,
        batch_size=100,
        spectral_batch_size=200,
    ),
    "ToyClusterer": dict(max_epochs=20, batch_size=100),
}
pytestmark = pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(),
    reason="torch.distributed with gloo is not available",
)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _estimator(name, **params):
    cls = ToyClusterer if name == "ToyClusterer" else getattr(skdeepcluster, name)
    return cls(n_clusters=10, **SETTINGS[name], **params)


def _data():
    digits = load_digits()
    return digits.images[:400], digits.target[:400]


def _rank(rank, world, port, folder, name, params):
    # As torchrun starts a rank: the environment only; fit joins the group itself.
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    try:
        X, _ = _data()
        # Each rank its own random_state: rank 0's seed is the one used.
        est = _estimator(name, random_state=rank, **params)
        est.fit(X)
        torch.save(
            {
                "labels": torch.as_tensor(est.labels_),
                "weights": est.module_.state_dict(),
                "losses": [r for r in est.history_],
                "restart_scores": torch.as_tensor(est.restart_scores_),
            },
            os.path.join(folder, f"{rank}.pt"),
        )
        if rank == 0:
            with open(os.path.join(folder, "model.pkl"), "wb") as handle:
                pickle.dump(est, handle)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _two_process_fit(name, tmp_path, **params):
    """Rank 0's and rank 1's results of one fit on two processes, after checking they agree."""
    mp.spawn(_rank, args=(2, _free_port(), str(tmp_path), name, params), nprocs=2)
    first, second = (torch.load(tmp_path / f"{r}.pt", weights_only=True) for r in (0, 1))
    assert torch.equal(first["labels"], second["labels"])
    assert torch.equal(first["restart_scores"], second["restart_scores"])
    assert all(torch.equal(first["weights"][k], second["weights"][k]) for k in first["weights"])
    strip = [
        {k: v for k, v in r.items() if k not in ("time", "samples_per_s")} for r in first["losses"]
    ]
    assert strip == [
        {k: v for k, v in r.items() if k not in ("time", "samples_per_s")} for r in second["losses"]
    ]
    assert len(np.unique(first["labels"].numpy())) > 1
    # Rank 0's pickle is an ordinary estimator in a process without a group.
    with open(tmp_path / "model.pkl", "rb") as handle:
        loaded = pickle.load(handle)
    np.testing.assert_array_equal(loaded.predict(_data()[0]), first["labels"].numpy())
    return first


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(SETTINGS) - {"ToyClusterer"}))
def test_two_processes_train_one_model(name, tmp_path):
    first = _two_process_fit(name, tmp_path)
    X, y = _data()
    together = cluster_accuracy(y, first["labels"].numpy())
    # Against single-process fits of both ranks' seeds: the data-parallel fit is one more draw,
    # and one seed is no yardstick (DCCS's seeds 0-3 here span 0.735-0.825 on one machine).
    single = [
        cluster_accuracy(y, _estimator(name, random_state=seed).fit(X).labels_) for seed in (0, 1)
    ]
    assert together >= min(single) - 0.1, (together, single)


@pytest.mark.slow
def test_two_processes_train_a_method_that_implements_only_the_contract(tmp_path):
    """The test clusterer gets data-parallel training from the base alone, restarts included:
    every rank runs rank 0's restarts and keeps the same one.

    (Its accuracy is not compared: its seeds spread by 0.1 on these images.)
    """
    first = _two_process_fit("ToyClusterer", tmp_path, n_init=2)
    scores = first["restart_scores"].numpy()
    assert scores.shape == (2,) and scores[0] != scores[1]


def _rank_with_own_data(rank, world, port, folder):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        X, _ = _data()
        est = skdeepcluster.VariationalClustering(n_clusters=10, max_epochs=1)
        try:
            est.fit(X[rank : rank + 300])  # a different slice on each rank
        except ValueError as exc:
            open(os.path.join(folder, f"{rank}.txt"), "w").write(str(exc))
    finally:
        dist.destroy_process_group()


def test_ranks_given_different_data_are_refused(tmp_path):
    mp.spawn(_rank_with_own_data, args=(2, _free_port(), str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        assert "same X on every rank" in (tmp_path / f"{rank}.txt").read_text()


def _torchrun(name, runs):
    """Exit status, output and results of ``runs`` launches of the user script under torchrun."""
    params = json.dumps(QUICK[getattr(skdeepcluster, name)])
    script = os.path.join(os.path.dirname(__file__), "_torchrun_fit.py")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        script,
        name,
        params,
    ]
    for _ in range(runs):
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        results = [json.loads(found) for found in re.findall(r"RESULT (\{.*?\})", done.stdout)]
        yield done, sorted(results, key=lambda r: r["rank"])


# VariationalClustering aborted in 6 of 10 such runs before the fix; the others less often.
@pytest.mark.slow
@pytest.mark.parametrize(
    "name, runs",
    [
        ("DCCSClustering", 2),
        ("VariationalClustering", 10),
        ("GATCluster", 2),
        ("DualAESpectralClustering", 2),
    ],
)
def test_a_launched_fit_exits_zero_on_every_rank(name, runs):
    """A torchrun job that fitted, gathered and destroyed its group ends with exit status 0.

    torchrun's own status is non-zero when any rank's is, so it checks every
    rank; each rank also reports that the ranks agree and that its group
    was freed (issue 43: a group kept alive aborted a rank at exit).
    """
    for done, results in _torchrun(name, runs):
        assert done.returncode == 0, done.stderr[-3000:]
        assert "terminate called" not in done.stderr
        assert results == [{"rank": r, "agree": True, "group_released": True} for r in (0, 1)]


_PINNED = """
import warnings, torch, torch.distributed as dist
dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
import skdeepcluster.nn.distributed as d  # after the group: torch binds it for good
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    d.join_launched_group(torch.device("cpu"))
print([str(w.message) for w in caught if w.category is RuntimeWarning])
dist.destroy_process_group()
"""


def test_a_group_torch_holds_for_good_is_reported():
    """Imported after init_process_group, torch keeps the group alive: the fit warns, says why."""
    done = subprocess.run(
        [sys.executable, "-c", _PINNED], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Import skdeepcluster before calling init_process_group()" in done.stdout


def test_synced_batch_norm_swaps_in_and_back_sharing_the_tensors():
    from skdeepcluster.nn.distributed import synced_batch_norm

    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3),
        torch.nn.BatchNorm2d(2),
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.BatchNorm1d(8)),
    )
    before = list(net.modules())
    weight, running = net[1].weight, net[1].running_mean
    with synced_batch_norm(net):
        assert isinstance(net[1], torch.nn.SyncBatchNorm)
        assert isinstance(net[2][1], torch.nn.SyncBatchNorm)
        assert net[1].weight is weight and net[1].running_mean is running
    assert list(net.modules()) == before
    with synced_batch_norm(net, enabled=False):
        assert isinstance(net[1], torch.nn.BatchNorm2d)
