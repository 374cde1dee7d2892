"""Mirrors the baseline's src/training/__init__.py."""
from .losses import vqvae_loss
from .trainer import Trainer

__all__ = ["vqvae_loss", "Trainer"]
