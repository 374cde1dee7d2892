"""Mirrors the baseline's src/quantizers/__init__.py."""
from .base import BaseQuantizer
from .projection_vq import ProjectionVectorQuantizer
from .rotation_vq import RotationVectorQuantizer
from .vq import VectorQuantizer

__all__ = ["BaseQuantizer", "VectorQuantizer", "RotationVectorQuantizer",
           "ProjectionVectorQuantizer"]
