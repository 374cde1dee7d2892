"""Mirrors the baseline's src/quantizers (the baseline's earlier projection estimator, kept for comparison).

Forward value q; backward dL/dz = (g . u) u with u = (q - z) / max(|q - z|, 1e-8); nothing to q.
"""
import torch

from .base import BaseQuantizer


def projection_gradient(z, q, g):
    diff = (q - z).detach()  # (B, k)
    u = diff / diff.norm(dim=1, keepdim=True).clamp_min(1e-8)
    return (g * u).sum(1, keepdim=True) * u


class ProjectionEstimator(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, q):
        ctx.save_for_backward(z, q)
        return q.clone()

    @staticmethod
    def backward(ctx, grad_output):
        z, q = ctx.saved_tensors
        return projection_gradient(z, q, grad_output), None


class ProjectionVectorQuantizer(BaseQuantizer):
    def forward(self, z):
        """z (B, k) -> z_q (B, k), indices (B), info {'z_q_hard', 'distances', 'commitment_loss'}."""
        distances_sq = torch.cdist(z, self.codebook).pow(2)
        indices = distances_sq.argmin(dim=1)
        q = self.codebook[indices]

        z_q = ProjectionEstimator.apply(z, q)

        distances = (z - q).norm(dim=1)
        commitment_loss = distances.pow(2).mean()

        info = {
            'z_q_hard': q,
            'distances': distances,
            'commitment_loss': commitment_loss
        }

        return z_q, indices, info
