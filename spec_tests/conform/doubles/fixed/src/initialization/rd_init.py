"""Mirrors the baseline's src/initialization (rate-distortion Gaussian codebook, "Idea 7")."""
import math

import torch


def compute_rd_variance(data, rate):
    """Mean per-dimension (unbiased) variance of data (N, k) times (1 - 2^(-2 rate)); a float."""
    with torch.no_grad():
        variance = data.var(dim=0).mean().item()
    return variance * (1.0 - 2.0 ** (-2.0 * rate))


def rd_gaussian_init(codebook_size, dim, data, rate=None):
    """(n, k) codebook ~ N(0, compute_rd_variance(data, rate) I); rate defaults to log2(n)/k bits."""
    if rate is None:
        rate = math.log2(codebook_size) / dim
    variance = compute_rd_variance(data, rate)
    return torch.randn(codebook_size, dim) * math.sqrt(variance)
