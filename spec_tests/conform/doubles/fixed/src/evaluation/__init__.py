"""Mirrors the baseline's src/evaluation/__init__.py (without the baseline's plotting module, which imports
matplotlib and pandas: the double keeps `import src.evaluation` fast)."""
from .metrics import MetricsTracker

__all__ = ["MetricsTracker"]
