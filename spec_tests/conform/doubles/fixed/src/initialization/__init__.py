"""Mirrors the baseline's src/initialization/__init__.py."""
from .codebook_init import kmeans_init, random_normal_init, uniform_init
from .rd_init import compute_rd_variance, rd_gaussian_init

__all__ = ["uniform_init", "random_normal_init", "kmeans_init", "compute_rd_variance",
           "rd_gaussian_init"]
