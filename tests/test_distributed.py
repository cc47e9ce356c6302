"""Data-parallel fits: two CPU processes (gloo) train one model, as torchrun would launch them."""

import os
import pickle
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn.datasets import load_digits

import skdeepcluster
from skdeepcluster.metrics import cluster_accuracy

from ._toy import ToyClusterer

# Enough epochs for the single-process comparison of accuracy (more than the quick settings).
SETTINGS = {
    "DCCSClustering": dict(max_epochs=60, batch_size=100),
    "VariationalClustering": dict(pretrain_epochs=3, max_epochs=20, batch_size=100),
    "GATCluster": dict(max_epochs=3, batch_size=50, target_batch=200, num_repeat=1),
    "DualAESpectralClustering": dict(pretrain_epochs=8, siamese_epochs=4, spectral_epochs=4,
                                     max_epochs=4, batch_size=100, spectral_batch_size=200),
    "ToyClusterer": dict(max_epochs=20, batch_size=100),
}
pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")


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


def _rank(rank, world, port, folder, name):
    # As torchrun starts a rank: the environment only; fit joins the group itself.
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    try:
        X, _ = _data()
        # Each rank its own random_state: rank 0's seed is the one used.
        est = _estimator(name, random_state=rank)
        est.fit(X)
        torch.save({"labels": torch.as_tensor(est.labels_), "weights": est.module_.state_dict(),
                    "losses": [r for r in est.history_]}, os.path.join(folder, f"{rank}.pt"))
        if rank == 0:
            with open(os.path.join(folder, "model.pkl"), "wb") as handle:
                pickle.dump(est, handle)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _two_process_fit(name, tmp_path):
    """Rank 0's and rank 1's results of one fit on two processes, after checking they agree."""
    mp.spawn(_rank, args=(2, _free_port(), str(tmp_path), name), nprocs=2)
    first, second = (torch.load(tmp_path / f"{r}.pt", weights_only=True) for r in (0, 1))
    assert torch.equal(first["labels"], second["labels"])
    assert all(torch.equal(first["weights"][k], second["weights"][k]) for k in first["weights"])
    strip = [{k: v for k, v in r.items() if k not in ("time", "samples_per_s")}
             for r in first["losses"]]
    assert strip == [{k: v for k, v in r.items() if k not in ("time", "samples_per_s")}
                     for r in second["losses"]]
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
    alone = _estimator(name, random_state=0).fit(X)
    together = cluster_accuracy(y, first["labels"].numpy())
    single = cluster_accuracy(y, alone.labels_)
    assert together >= single - 0.1, (together, single)


def test_two_processes_train_a_method_that_implements_only_the_contract(tmp_path):
    """The test clusterer gets data-parallel training from the base alone.

    (Its accuracy is not compared: its seeds spread by 0.1 on these images.)
    """
    _two_process_fit("ToyClusterer", tmp_path)


def _rank_with_own_data(rank, world, port, folder):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        X, _ = _data()
        est = skdeepcluster.VariationalClustering(n_clusters=10, max_epochs=1)
        try:
            est.fit(X[rank:rank + 300])  # a different slice on each rank
        except ValueError as exc:
            open(os.path.join(folder, f"{rank}.txt"), "w").write(str(exc))
    finally:
        dist.destroy_process_group()


def test_ranks_given_different_data_are_refused(tmp_path):
    mp.spawn(_rank_with_own_data, args=(2, _free_port(), str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        assert "same X on every rank" in (tmp_path / f"{rank}.txt").read_text()
