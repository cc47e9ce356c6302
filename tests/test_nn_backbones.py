"""nn/backbones.py: encoders and decoders from an input shape, batch norm, the orthonormal layer."""

import pytest
import torch
from torch import nn

from skdeepcluster.nn import backbones

from .conftest import torch_generator as _gen


@pytest.mark.parametrize(
    "shape", [(1, 28, 28), (3, 32, 32), (1, 16, 16), (1, 8, 8), (1, 9, 13), (3, 7, 5)]
)
@pytest.mark.parametrize(
    "spec", [((16, 3, 2), (16, 3, 1), (32, 3, 2), (32, 3, 1)), ((64, 4, 2, 0), (128, 4, 2, 0))]
)
def test_encoder_decoder_shapes(shape, spec):
    enc = backbones.build_encoder(shape, 7, conv_layers=spec, hidden=(32,))
    dec = backbones.build_decoder(
        shape, 7, conv_layers=spec, hidden=(32,), output_activation="sigmoid"
    )
    x = torch.rand(3, *shape)
    z, features = enc(x, return_features=True)
    assert z.shape == (3, 7)
    assert features.shape[1:] == enc.feature_shape and min(features.shape[2:]) >= 1
    recon = dec(z)
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1


def test_dccs_spec_gives_official_5x5_map_on_28x28():
    enc = backbones.build_encoder(
        (1, 28, 28), 60, conv_layers=((64, 4, 2, 0), (128, 4, 2, 0)), hidden=(1024,)
    )
    assert enc.feature_shape == (128, 5, 5)


def test_mlp_backbone_for_tabular():
    enc = backbones.build_encoder((5,), 3, hidden=(16,))
    dec = backbones.build_decoder((5,), 3, hidden=(16,))
    x = torch.randn(4, 5)
    assert enc(x).shape == (4, 3) and dec(enc(x)).shape == (4, 5)


def test_batch_statistics_read_a_batch_without_changing_the_model():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).eval()
    before = [b.clone() for b in net.buffers()]
    x = torch.randn(64, 3, generator=_gen(0)) * 5 + 2
    with backbones.batch_statistics(net):
        out = net(x)
    torch.testing.assert_close(out.mean(0), net[1].bias.detach().expand(4), atol=1e-5, rtol=0)
    assert all(torch.equal(a, b) for a, b in zip(before, net.buffers()))
    assert not net[1].training


def test_recompute_batch_norm_sets_the_statistics_of_the_batches():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).train()
    net[1].momentum = 0.3
    x = torch.randn(90, 3, generator=_gen(1)) * 3 + 1
    backbones.recompute_batch_norm(net, net, [x[:45], x[45:]])
    features = net[0](x).detach()
    torch.testing.assert_close(net[1].running_mean, features.mean(0), atol=1e-5, rtol=0)
    assert net[1].momentum == 0.3 and net[1].training


@pytest.mark.parametrize("size, n_down, widths", [(32, 3, 512), (64, 4, 512), (96, 4, 512)])
def test_resnet_encoder_halves_to_at_most_seven_pixels(size, n_down, widths):
    enc = backbones.ResNetEncoder((1, size, size), 12)
    z, features = enc(torch.randn(2, 1, size, size), return_features=True)
    assert z.shape == (2, 12)
    assert features.shape[1:] == enc.feature_shape == (widths, size // 2**n_down, size // 2**n_down)
    assert len(enc.down) == n_down


def test_mlp_encoder_returns_its_last_hidden_layer():
    enc = backbones.MLPEncoder(7, 3, hidden=(16, 8))
    z, features = enc(torch.randn(5, 7), return_features=True)
    assert z.shape == (5, 3) and features.shape == (5, 8) == (5, *enc.feature_shape)
    assert backbones.MLPEncoder(7, 3, hidden=()).feature_shape == (7,)


def test_cholesky_orthonorm_layer():
    layer = backbones.CholeskyOrthonorm(3)
    y = torch.randn(50, 3) @ torch.randn(3, 3)
    out = layer.train()(y)
    torch.testing.assert_close(out.T @ out / 50, torch.eye(3), atol=1e-4, rtol=0)
    # Evaluation applies the stored map of the last training batch.
    torch.testing.assert_close(layer.eval()(y), out, atol=1e-4, rtol=0)
    y.requires_grad_(True)
    layer.train()(y).sum().backward()
    assert torch.isfinite(y.grad).all()
