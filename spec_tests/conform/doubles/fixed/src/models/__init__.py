"""Mirrors the baseline's src/models/__init__.py."""
from .legacy import LinearGaussianVQVAE
from .vqvae import VQVAE

__all__ = ["VQVAE", "LinearGaussianVQVAE"]
