"""Mirrors the baseline's src/initialization (uniform, random-normal and k-means codebooks).

Each returns an (codebook_size, dim) float32 tensor. uniform_init and random_normal_init draw
from the global torch generator; kmeans_init runs scikit-learn's KMeans (its own random_state),
imported inside the function so that importing the package stays fast.
"""
import torch


def uniform_init(codebook_size, dim, device=None):
    """U(-1/n, 1/n) entries, n = codebook_size."""
    return torch.rand(codebook_size, dim, device=device) * (2 / codebook_size) - 1 / codebook_size


def random_normal_init(codebook_size, dim, std=1.0, device=None):
    """N(0, std^2) entries."""
    return torch.randn(codebook_size, dim, device=device) * std


def kmeans_init(codebook_size, dim, data, n_init=10, max_iter=100, random_state=42):
    """The centres of KMeans(n_clusters=codebook_size, n_init, max_iter, random_state) on data (N, dim)."""
    from sklearn.cluster import KMeans

    assert len(data) >= codebook_size, \
        f"kmeans_init: need at least codebook_size={codebook_size} points, got {len(data)}"
    points = data.detach().cpu().numpy() if torch.is_tensor(data) else data
    kmeans = KMeans(n_clusters=codebook_size, n_init=n_init, max_iter=max_iter,
                    random_state=random_state)
    kmeans.fit(points)
    centres = torch.as_tensor(kmeans.cluster_centers_, dtype=torch.float32)
    return centres.to(data.device) if torch.is_tensor(data) else centres
