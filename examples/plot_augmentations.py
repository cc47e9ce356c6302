"""
Per-sample augmentations on the device
======================================

The augmentations of :mod:`skdeepcluster.nn.augment` work on a whole batch
tensor at once and still draw one set of random parameters per image.  Here
one digit is copied nine times and augmented in a single call: every copy
comes out different.  It runs in under a second.
"""

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits

from skdeepcluster.nn.augment import ImageAugmenter

digit = torch.tensor(load_digits().images[0] / 16.0, dtype=torch.float32)
batch = digit.expand(9, 1, 8, 8)

augment = ImageAugmenter(crop_scale=(0.5, 1.0), brightness=0.4, contrast=0.4, noise=0.03)
generator = torch.Generator().manual_seed(0)
out = augment(batch, generator)

# Two rows of five, large enough to read at the page's width and on a phone.
fig, axes = plt.subplots(2, 5, figsize=(7.5, 3.8), layout="constrained")
axes = axes.ravel()
axes[0].imshow(digit, cmap="gray_r", vmin=0, vmax=1)
axes[0].set_title("original", fontsize=12)
for i, (ax, image) in enumerate(zip(axes[1:], out), start=1):
    ax.imshow(image[0], cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"copy {i}", fontsize=12)
for ax in axes:
    ax.axis("off")
plt.show()
