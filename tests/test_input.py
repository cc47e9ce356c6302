"""_framework/input.py: devices, image layouts, validation, scaling and the data on the device."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skdeepcluster._framework.input import resolve_device

from ._toy import ToyClusterer


def test_ambiguous_layout_and_wrong_shapes_are_clear_errors():
    with pytest.raises(ValueError, match="channels-first or channels-last"):
        ToyClusterer().fit(np.zeros((10, 3, 8, 3)))
    with pytest.raises(ValueError, match="channels-first or channels-last"):
        ToyClusterer().fit(np.zeros((10, 8, 8, 8)))
    ok = ToyClusterer(max_epochs=1, image_shape=(3, 8, 3)).fit(np.random.rand(10, 3, 8, 3))
    assert ok.image_shape_ == (3, 8, 3)
    with pytest.raises(ValueError, match="needs 64 features"):
        ToyClusterer(image_shape=(1, 8, 8)).fit(np.zeros((10, 60)))
    with pytest.raises(ValueError, match="three positive integers"):
        ToyClusterer(image_shape=(8, 8)).fit(np.zeros((10, 64)))
    est = ToyClusterer(max_epochs=1).fit(_digit_images())
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 8, 8\)"):
        est.predict(np.zeros((4, 9, 9)))
    with pytest.raises(ValueError, match="X has 63 features"):
        est.predict(np.zeros((4, 63)))
    tab = ToyClusterer(max_epochs=1).fit(np.random.rand(10, 64))
    with pytest.raises(ValueError, match="2-D tabular"):
        tab.predict(np.zeros((4, 8, 8)))


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), ValueError, "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), ValueError, "infinity"),
        (np.zeros((1, 4)), ValueError, "1 sample"),
        (np.zeros((0, 4)), ValueError, "0 sample"),
        (np.zeros(5), ValueError, "2D array"),
        (np.array([["a", "b"], ["c", "d"]]), ValueError, "convert string to float"),
        (np.full((3, 4), np.nan) * np.zeros((3, 4)), ValueError, "NaN"),
    ],
    ids=["nan", "inf", "one-sample", "empty", "1d", "strings", "all-nan"],
)
def test_bad_input_gets_a_clear_error(X, error, match):
    with pytest.raises(error, match=match):
        ToyClusterer().fit(X)


def test_device_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="not a device"):
        resolve_device("gpu-please")
    with pytest.raises(ValueError, match="not supported"):
        resolve_device("meta")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_asked_for_but_absent_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        ToyClusterer(device="cuda").fit(np.random.rand(10, 3))
    with pytest.raises(ValueError, match="CUDA is not available"):
        ToyClusterer(device="cuda:1").fit(np.random.rand(10, 3))


def _digit_images():
    X = load_digits().images[:100]
    return X


@pytest.mark.parametrize(
    "make, image_shape",
    [
        (lambda X: X, None),  # (n, H, W)
        (lambda X: X[:, None], None),  # (n, 1, H, W)
        (lambda X: X[..., None], None),  # (n, H, W, 1)
        (lambda X: X.reshape(len(X), -1), (1, 8, 8)),  # rows + image_shape
        (lambda X: np.repeat(X[..., None], 3, axis=3), None),  # (n, H, W, 3)
        (lambda X: np.repeat(X[:, None], 3, axis=1), None),  # (n, 3, H, W)
    ],
    ids=["nhw", "nchw", "nhwc", "rows", "nhwc3", "nchw3"],
)
def test_image_input_layouts(make, image_shape):
    X = make(_digit_images())
    est = ToyClusterer(max_epochs=1, random_state=0, image_shape=image_shape).fit(X)
    channels = 3 if X.ndim == 4 and 3 in (X.shape[1], X.shape[3]) else 1
    assert est.image_shape_ == (channels, 8, 8)
    assert est.n_features_in_ == channels * 64
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    # Rows of C*H*W values are accepted too, read channels-first.
    chw = (
        X.reshape(len(X), channels, 8, 8)
        if X.ndim < 4 or X.shape[1] == channels
        else np.moveaxis(X, -1, 1)
    )
    np.testing.assert_array_equal(est.predict(chw.reshape(len(X), -1)), est.labels_)
