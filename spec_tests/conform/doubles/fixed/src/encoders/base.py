"""Mirrors the baseline's src/encoders/base.py: input_dim, latent_dim, trainable, freeze/unfreeze."""
from torch import nn


class BaseEncoder(nn.Module):
    def __init__(self, input_dim, latent_dim, trainable=True):
        super().__init__()
        self.input_dim = input_dim
        self.latent_dim = latent_dim
        self.trainable = trainable

    def freeze(self):
        for p in self.parameters():
            p.requires_grad_(False)
        self.trainable = False

    def unfreeze(self):
        for p in self.parameters():
            p.requires_grad_(True)
        self.trainable = True
