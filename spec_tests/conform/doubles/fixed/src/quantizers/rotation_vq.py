"""Mirrors the baseline's src/quantizers/rotation_vq.py: the rotation trick (Fifty et al., 2024), fix #5.

Forward value q. Backward dL/dz = lam * R^T g, row by row, with e = z/|z|, q_hat = q/|q|,
r = (e + q_hat)/|e + q_hat|, R = I - 2 r r^T + 2 q_hat e^T (R e = q_hat) and lam = |q|/|z|;
R and lam are constants, nothing flows to q. Degenerate rows, as the C++ library decides:
z = 0 -> g unchanged; q = 0 -> 0; z = -q -> r = unit vector orthogonal to e (the axis least
aligned with e), so R is the half-turn in the plane (e, r). Computed in float64.
"""
import torch
import torch.nn.functional as F

from .base import BaseQuantizer


def rotation_gradient(z, q, g):
    """lam * R^T g for z, q, g (B, k); returned in g's dtype."""
    z, q, g64 = z.detach().double(), q.detach().double(), g.double()
    z_norm = z.norm(dim=1, keepdim=True)  # (B, 1)
    q_norm = q.norm(dim=1, keepdim=True)  # (B, 1)
    z_zero = z_norm <= 1e-12 * q_norm.clamp_min(1.0)
    q_zero = q_norm == 0
    zeros = torch.zeros_like(z)
    e = torch.where(z_zero, zeros, z / z_norm.clamp_min(1e-300))
    q_hat = torch.where(z_zero | q_zero, zeros, q / q_norm.clamp_min(1e-300))
    s = e + q_hat
    s_norm = s.norm(dim=1, keepdim=True)
    axis = F.one_hot(e.abs().argmin(dim=1), z.shape[1]).double()
    ortho = axis - e * (e * axis).sum(1, keepdim=True)
    ortho_norm = ortho.norm(dim=1, keepdim=True)
    fallback = torch.where(ortho_norm > 1e-6, ortho / ortho_norm.clamp_min(1e-300), zeros)
    antiparallel = (s_norm <= 1e-8) & ~z_zero & ~q_zero
    r = torch.where(antiparallel, fallback, s / s_norm.clamp_min(1e-300))
    r = torch.where(z_zero, zeros, r)
    lam = q_norm / z_norm.clamp_min(1e-300)  # lam = |q| / |z|
    lam = torch.where(z_zero, torch.ones_like(lam), lam)
    rotated = g64 - 2 * r * (r * g64).sum(1, keepdim=True) + 2 * e * (q_hat * g64).sum(1, keepdim=True)
    return (lam * rotated).to(g.dtype)


class RotationEstimator(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, q):
        ctx.save_for_backward(z, q)
        return q.clone()

    @staticmethod
    def backward(ctx, grad_output):
        z, q = ctx.saved_tensors
        return rotation_gradient(z, q, grad_output), None  # nothing to q through this path


class RotationVectorQuantizer(BaseQuantizer):
    def forward(self, z):
        """z (B, k) -> z_q (B, k), indices (B), info {'z_q_hard', 'distances', 'commitment_loss'}."""
        distances_sq = torch.cdist(z, self.codebook).pow(2)
        indices = distances_sq.argmin(dim=1)
        q = self.codebook[indices]  # This is z_q_hard

        z_q = RotationEstimator.apply(z, q)

        distances = (z - q).norm(dim=1)
        commitment_loss = distances.pow(2).mean()

        info = {
            'z_q_hard': q,  # ✅ Add this
            'distances': distances,
            'commitment_loss': commitment_loss
        }

        return z_q, indices, info
