"""Mirrors the baseline's src/quantizers/vq.py: VectorQuantizer with fixes #1 (z_q_hard) and #2 (STE)."""
import torch

from .base import BaseQuantizer


class VectorQuantizer(BaseQuantizer):
    def forward(self, z):
        """z (B, k) -> z_q (B, k), indices (B), info {'z_q_hard': (B, k)}."""
        distances = torch.cdist(z, self.codebook)
        indices = distances.argmin(dim=1)
        z_q_hard = self.codebook[indices]  # Hard quantization

        # Always use STE - gradients naturally zero if z frozen
        z_q = z + (z_q_hard - z).detach()  # ✅ Consistent

        return z_q, indices, {'z_q_hard': z_q_hard}  # Return both
