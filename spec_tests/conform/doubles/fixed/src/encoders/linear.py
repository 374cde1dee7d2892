"""Mirrors the baseline's src/encoders/linear.py: PCAEncoder (fix #4) and LearnedLinearEncoder."""
from torch import nn

from .base import BaseEncoder


class PCAEncoder(BaseEncoder):
    """z = x @ encoder_weight; buffer encoder_weight = U_k, (d, k)."""

    def __init__(self, U_k, trainable=False):
        d, k = U_k.shape
        super().__init__(input_dim=d, latent_dim=k, trainable=trainable)
        self.register_buffer('encoder_weight', U_k)  # (d, k)
        if not trainable:
            self.freeze()

    def forward(self, x):
        z = x @ self.encoder_weight  # (B,d) @ (d,k) -> (B,k)
        return z


class LearnedLinearEncoder(BaseEncoder):
    """z = x W^T (+ b): nn.Linear(input_dim, latent_dim), Xavier-uniform weight, zero bias."""

    def __init__(self, input_dim, latent_dim, trainable=True, bias=False):
        super().__init__(input_dim=input_dim, latent_dim=latent_dim, trainable=trainable)
        self.linear = nn.Linear(input_dim, latent_dim, bias=bias)
        nn.init.xavier_uniform_(self.linear.weight)
        if bias:
            nn.init.zeros_(self.linear.bias)
        if not trainable:
            self.freeze()

    def forward(self, x):
        return self.linear(x)
