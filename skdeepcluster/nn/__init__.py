"""PyTorch building blocks shared by the methods (no scikit-learn in here)."""

from . import augment, backbones, data, distributed, latent, loop, losses

__all__ = ["augment", "backbones", "data", "distributed", "latent", "loop", "losses"]
