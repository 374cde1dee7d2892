"""Mirrors the baseline's src/encoders/__init__.py."""
from .base import BaseEncoder
from .linear import LearnedLinearEncoder, PCAEncoder

__all__ = ["BaseEncoder", "PCAEncoder", "LearnedLinearEncoder"]
