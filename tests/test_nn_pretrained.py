"""nn/pretrained.py: images fitted to the network's square, and bf16 where it is native."""

import torch

from skdeepcluster.nn.pretrained import fit_to_square, native_bf16


def test_fit_to_square_resizes_the_short_side_and_crops_the_centre():
    wide = torch.zeros(1, 3, 10, 20)
    wide[..., 5:15] = 1.0  # the middle half of the width
    square = fit_to_square(wide, 10)
    assert square.shape == (1, 3, 10, 10)
    assert torch.allclose(square, torch.ones_like(square))  # the centre crop is the middle
    same = torch.rand(2, 3, 8, 8)
    assert fit_to_square(same, 8) is same
    assert fit_to_square(torch.rand(2, 1, 7, 5), 12).shape == (2, 1, 12, 12)  # enlarged


def test_native_bf16_is_never_claimed_for_an_unknown_device():
    assert native_bf16(torch.device("meta")) is False
    assert isinstance(native_bf16(torch.device("cpu")), bool)
