"""PyTorch building blocks shared by the methods (no scikit-learn in here)."""

from . import augment, backbones, losses, training

__all__ = ["augment", "backbones", "losses", "training"]
