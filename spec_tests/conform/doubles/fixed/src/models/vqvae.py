"""Mirrors the baseline's src/models/vqvae.py: the composable VQVAE(encoder, quantizer, decoder), fix #1 step 3."""
from torch import nn


class VQVAE(nn.Module):
    def __init__(self, encoder, quantizer, decoder):
        super().__init__()
        if not encoder.latent_dim == quantizer.dim == decoder.latent_dim:
            raise ValueError(f"VQVAE: latent dims differ: encoder {encoder.latent_dim}, "
                             f"quantizer {quantizer.dim}, decoder {decoder.latent_dim}")
        self.encoder = encoder
        self.quantizer = quantizer
        self.decoder = decoder

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z_q):
        return self.decoder(z_q)

    def reconstruct(self, x):
        return self.forward(x)['x_recon']

    def forward(self, x):
        z = self.encoder(x)
        z_q, indices, quantizer_info = self.quantizer(z)
        x_recon = self.decoder(z_q)

        outputs = {
            'x_recon': x_recon,
            'z': z,
            'z_q': z_q,
            'z_q_hard': quantizer_info['z_q_hard'],  # Add this
            'indices': indices,
        }
        return outputs
