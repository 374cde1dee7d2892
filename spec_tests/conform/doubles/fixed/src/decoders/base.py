"""Mirrors the baseline's src/decoders/base.py: latent_dim, output_dim, trainable, freeze/unfreeze."""
from torch import nn


class BaseDecoder(nn.Module):
    def __init__(self, latent_dim, output_dim, trainable=True):
        super().__init__()
        self.latent_dim = latent_dim
        self.output_dim = output_dim
        self.trainable = trainable

    def freeze(self):
        for p in self.parameters():
            p.requires_grad_(False)
        self.trainable = False

    def unfreeze(self):
        for p in self.parameters():
            p.requires_grad_(True)
        self.trainable = True
