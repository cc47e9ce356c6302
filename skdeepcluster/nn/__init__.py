"""PyTorch building blocks shared by the methods (no scikit-learn in here)."""

from . import attention, augment, backbones, data, distributed, latent, loop, losses

__all__ = ["attention", "augment", "backbones", "data", "distributed", "latent", "loop", "losses"]
