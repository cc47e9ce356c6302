"""
Per-sample augmentations on the device
======================================

The augmentations of :mod:`skdeepcluster.nn.augment` work on a whole batch
tensor at once and still draw one set of random parameters per image.  Here
one digit is copied eight times and augmented in a single call: every copy
comes out different.
"""

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits

from skdeepcluster.nn.augment import ImageAugmenter

digit = torch.tensor(load_digits().images[0] / 16.0, dtype=torch.float32)
batch = digit.expand(8, 1, 8, 8)

augment = ImageAugmenter(crop_scale=(0.5, 1.0), brightness=0.4, contrast=0.4, noise=0.03)
generator = torch.Generator().manual_seed(0)
out = augment(batch, generator)

fig, axes = plt.subplots(1, 9, figsize=(9, 1.4))
axes[0].imshow(digit, cmap="gray_r")
axes[0].set_title("original", fontsize=8)
for ax, image in zip(axes[1:], out):
    ax.imshow(image[0], cmap="gray_r", vmin=0, vmax=1)
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()
