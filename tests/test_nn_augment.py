"""nn/augment.py: batched per-sample augmentations on the device, repeatable for a seed."""

import pytest
import torch

from skdeepcluster.nn import augment

from .conftest import torch_generator as _gen


def _images(n=8, c=1, h=12, w=12):
    return torch.rand(n, c, h, w, generator=_gen(123))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, g: augment.random_resized_crop(x, generator=g),
        lambda x, g: augment.random_affine(x, generator=g),
        lambda x, g: augment.color_jitter(x, generator=g),
        lambda x, g: augment.gaussian_noise(x, generator=g),
        lambda x, g: augment.ImageAugmenter(hflip=0.5, brightness=0.4, contrast=0.4, noise=0.02)(
            x, g
        ),
    ],
    ids=["crop", "affine", "jitter", "noise", "chain"],
)
def test_each_image_gets_its_own_parameters_and_seed_repeats(fn):
    one = _images(1)
    batch = one.expand(6, -1, -1, -1).contiguous()  # six copies of one image
    out = fn(batch, _gen(0))
    assert out.shape == batch.shape
    assert not torch.allclose(out[0], out[1]), "two samples got the same random draw"
    torch.testing.assert_close(fn(batch, _gen(0)), out, rtol=0, atol=0)
    assert not torch.allclose(fn(batch, _gen(1)), out)


def test_hflip_flips_a_per_sample_subset():
    x = _images(64)
    out = augment.random_hflip(x, 0.5, _gen(0))
    flipped = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, x)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x)])
    assert (flipped | kept).all() and 10 < flipped.sum() < 54


def test_crop_of_full_scale_is_identity():
    x = _images(3)
    out = augment.random_resized_crop(x, scale=(1.0, 1.0), ratio=(1.0, 1.0), generator=_gen())
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_colour_operations_on_rgb():
    x = _images(5, c=3)
    grey = augment.to_grayscale(x)
    assert grey.shape == (5, 1, 12, 12)
    assert augment.to_grayscale(_images(2, c=1)).shape == (2, 1, 12, 12)
    mid = 0.4 + 0.2 * x  # away from 0 and 1, so no value is clipped
    jittered = augment.color_jitter(mid, 0.0, 0.0, 0.0, 0.25, generator=_gen())
    # A hue rotation keeps the component along the grey axis and moves the rest.
    torch.testing.assert_close(jittered.mean(1), mid.mean(1), atol=1e-5, rtol=0)
    assert not torch.allclose(jittered, mid)
    shuffled = augment.channel_shuffle(x, _gen())
    assert torch.equal(shuffled.sort(dim=1).values, x.sort(dim=1).values)
    assert augment.random_grayscale(x, 1.0, _gen()).shape == x.shape
    out = augment.ImageAugmenter(
        channel_shuffle=True,
        hflip=0.5,
        brightness=0.4,
        contrast=0.4,
        saturation=0.4,
        hue=0.1,
        grayscale=0.2,
    )(x, _gen())
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1


def test_tabular_augmentations_are_per_sample():
    x = torch.zeros(4, 50)
    out = augment.TabularAugmenter(noise=0.1, dropout=0.5)(x + 1, _gen())
    assert not torch.allclose(out[0], out[1])
    dropped = augment.feature_dropout(torch.ones(4, 1000), 0.3, _gen())
    assert abs(float((dropped == 0).float().mean()) - 0.3) < 0.05
