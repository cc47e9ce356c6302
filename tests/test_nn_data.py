"""Training data on the device: uint8 kept, streaming past a memory limit, same results."""

import numpy as np
import pytest
import torch

from skdeepcluster.nn.data import DeviceData, all_rows, map_chunks, row_chunks

from ._harness import digits, make, same_weights
from .conftest import ESTIMATORS, IDS

CPU = torch.device("cpu")


def _scale(values):
    return (values - 3.0) / 250.0


def test_uint8_rows_are_stored_as_uint8_and_scaled_per_batch():
    values = np.random.default_rng(0).integers(0, 256, (50, 1, 4, 4), dtype=np.uint8)
    data = DeviceData(values, _scale, CPU, elementwise=True)
    assert data._rows.dtype == torch.uint8 and data.nbytes == values.size
    idx = torch.tensor([4, 0, 49])
    expected = torch.as_tensor(_scale(values[[4, 0, 49]].astype(np.float64)), dtype=torch.float32)
    assert torch.equal(data[idx], expected)  # bit for bit what scaling the whole set gave
    assert torch.equal(
        data[:2], torch.as_tensor(_scale(values[:2].astype(float)), dtype=torch.float32)
    )
    assert data.shape == values.shape and data.dim() == 4 and len(data) == 50


def test_rows_scaled_per_feature_are_stored_as_float32():
    values = np.arange(40, dtype=np.uint8).reshape(10, 4)
    data = DeviceData(values, lambda v: v - v.mean(axis=0), CPU)
    assert data._rows.dtype == torch.float32


def test_a_device_limit_streams_the_rows():
    values = np.zeros((10, 8), dtype=np.float64)
    assert not DeviceData(values, _scale, CPU, max_bytes=320).streaming
    streamed = DeviceData(values, _scale, CPU, max_bytes=319)
    assert streamed.streaming
    assert streamed[torch.tensor([1, 2])].device == CPU


def test_no_room_on_the_device_streams_the_rows(monkeypatch):
    def no_room(self, *args, **kwargs):
        raise torch.OutOfMemoryError("no room")

    monkeypatch.setattr(torch.Tensor, "to", no_room)
    data = DeviceData(np.zeros((4, 2)), _scale, CPU)
    monkeypatch.undo()
    assert data.streaming
    assert data[torch.tensor([0, 3])].shape == (2, 2)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=IDS)
def test_fit_past_the_device_limit_gives_the_same_labels(cls):
    X = (digits() * 15).astype(np.uint8)  # digits' 0..16 as uint8 grey levels
    fits = make(cls).fit(X)
    streamed = make(cls, max_device_bytes=1000).fit(X)
    np.testing.assert_array_equal(fits.labels_, streamed.labels_)
    assert same_weights(fits, streamed)


def test_uint8_images_fit_as_their_float_values():
    from skdeepcluster import VariationalClustering

    X = (digits() * 15).astype(np.uint8)
    a = make(VariationalClustering, max_epochs=2).fit(X)
    b = make(VariationalClustering, max_epochs=2).fit(X.astype(np.float64))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict(X), b.predict(X.astype(np.float32)))


@pytest.mark.parametrize("training", [True, False])
def test_map_chunks_runs_a_module_in_eval_mode_without_gradient_and_restores_the_mode(training):
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.5)).train(training)
    X = torch.randn(2500, 3)
    seen = []

    def fn(x):
        seen.append((len(x), net.training, torch.is_grad_enabled()))
        return net(x)

    out = map_chunks(fn, X, 1024, module=net)
    assert net.training == training
    assert seen == [(1024, False, False), (1024, False, False), (452, False, False)]
    # eval mode: dropout off, so the chunks are the whole set's output
    assert not torch.cat(out).requires_grad
    torch.testing.assert_close(torch.cat(out), net.eval()(X).detach())


def test_row_chunks_cut_rows_in_order_and_all_rows_puts_them_back():
    data = DeviceData(np.arange(50, dtype=np.float64).reshape(10, 5), _scale, CPU)
    chunks = list(row_chunks(data, 4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert torch.equal(torch.cat(chunks), data[:])
    assert torch.equal(all_rows(data, 3), data[:])
    # an index tensor is cut the same way; a module-free pass keeps no gradient
    assert [c.tolist() for c in row_chunks(torch.arange(5), 2)] == [[0, 1], [2, 3], [4]]
    weight = torch.ones(5, requires_grad=True)
    assert not any(out.requires_grad for out in map_chunks(lambda x: x * weight, data, 4))
