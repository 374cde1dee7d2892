"""Mirrors the baseline's src/data/__init__.py."""
from .gaussian_dataset import GaussianDataset

__all__ = ["GaussianDataset"]
