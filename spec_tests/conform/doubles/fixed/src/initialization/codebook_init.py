"""Mirrors seed src/initialization (uniform and random-normal codebooks, (n, k), float32)."""
import torch


def uniform_init(n, k):
    """U(-1/n, 1/n) entries."""
    return torch.rand(n, k) * (2 / n) - 1 / n


def random_normal_init(n, k, std=1.0):
    return torch.randn(n, k) * std
