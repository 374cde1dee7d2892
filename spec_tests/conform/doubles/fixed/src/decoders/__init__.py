"""Mirrors the baseline's src/decoders/__init__.py."""
from .base import BaseDecoder
from .linear import LearnedLinearDecoder, PCADecoder

__all__ = ["BaseDecoder", "PCADecoder", "LearnedLinearDecoder"]
