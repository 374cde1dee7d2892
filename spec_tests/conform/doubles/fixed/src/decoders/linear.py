"""Mirrors the baseline's src/decoders/linear.py: PCADecoder (fix #4) and LearnedLinearDecoder."""
from torch import nn

from .base import BaseDecoder


class PCADecoder(BaseDecoder):
    """x_recon = z @ decoder_weight.T; buffer decoder_weight = U_k, (d, k)."""

    def __init__(self, U_k, trainable=False):
        d, k = U_k.shape
        super().__init__(latent_dim=k, output_dim=d, trainable=trainable)
        self.register_buffer('decoder_weight', U_k)  # (d, k)
        if not trainable:
            self.freeze()

    def forward(self, z):
        x_recon = z @ self.decoder_weight.T  # (B,k) @ (k,d) -> (B,d)
        return x_recon


class LearnedLinearDecoder(BaseDecoder):
    """x = z W^T (+ b): nn.Linear(latent_dim, output_dim), Xavier-uniform weight, zero bias."""

    def __init__(self, latent_dim, output_dim, trainable=True, bias=False):
        super().__init__(latent_dim=latent_dim, output_dim=output_dim, trainable=trainable)
        self.linear = nn.Linear(latent_dim, output_dim, bias=bias)
        nn.init.xavier_uniform_(self.linear.weight)
        if bias:
            nn.init.zeros_(self.linear.bias)
        if not trainable:
            self.freeze()

    def forward(self, z):
        return self.linear(z)
