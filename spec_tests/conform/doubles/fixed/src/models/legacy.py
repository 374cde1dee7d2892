"""Mirrors the baseline's src/models/legacy.py: LinearGaussianVQVAE, fix #3.

DEPRECATED: use the composable VQVAE(PCAEncoder(U_k), VectorQuantizer(k, n), PCADecoder(U_k)).
Constructing one emits a DeprecationWarning. init_method 'uniform' (the default), 'kmeans' or
'rd_gaussian' calls that initialisation with its defaults; the last two need init_data (N, k).
"""
import warnings

from torch import nn

from ..initialization import kmeans_init, rd_gaussian_init, uniform_init
from ..quantizers import VectorQuantizer


class LinearGaussianVQVAE(nn.Module):
    def __init__(self, d, k, codebook_size, U_k, init_method='uniform', init_data=None):
        super().__init__()
        n = codebook_size
        warnings.warn("LinearGaussianVQVAE is deprecated; use VQVAE(PCAEncoder, VectorQuantizer, "
                      "PCADecoder) instead", DeprecationWarning, stacklevel=2)
        if tuple(U_k.shape) != (d, k):
            raise ValueError(f"U_k: expected shape ({d}, {k}), got {tuple(U_k.shape)}")
        self.d, self.k, self.n, self.codebook_size = d, k, n, n
        if init_method in ('kmeans', 'rd_gaussian') and init_data is None:
            raise ValueError(f"init_method {init_method!r} needs init_data")
        if init_method == 'uniform':
            codebook = uniform_init(n, k)
        elif init_method == 'kmeans':
            codebook = kmeans_init(n, k, init_data)
        elif init_method == 'rd_gaussian':
            codebook = rd_gaussian_init(n, k, init_data)
        else:
            raise ValueError(f"init_method: expected 'uniform', 'kmeans' or 'rd_gaussian', "
                             f"got {init_method!r}")
        self.register_buffer('encoder_weight', U_k)    # (d, k) for encoding
        self.register_buffer('decoder_weight', U_k.T)  # (k, d) for decoding
        self.quantizer = VectorQuantizer(k, n, init_codebook=codebook)

    def encode(self, x):
        z = x @ self.encoder_weight  # ✅ Correct: (B,d) @ (d,k) -> (B,k)
        return z

    def decode(self, z):
        x_recon = z @ self.decoder_weight  # ✅ Correct: (B,k) @ (k,d) -> (B,d)
        return x_recon

    def forward(self, x):
        z = self.encode(x)
        z_q, indices, quantizer_info = self.quantizer(z)
        x_recon = self.decode(z_q)
        return {
            'x_recon': x_recon,
            'z': z,
            'z_q': z_q,
            'z_q_hard': quantizer_info['z_q_hard'],  # fix #1 step 3, here too
            'indices': indices,
        }
