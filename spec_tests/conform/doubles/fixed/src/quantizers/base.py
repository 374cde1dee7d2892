"""Mirrors the baseline's src/quantizers/base.py: parameter `codebook` (n, k), trainable, freeze/unfreeze.

BaseQuantizer(dim, codebook_size, trainable=True, init_codebook=None): without init_codebook the
codebook is uniform_init(codebook_size, dim) (from the global torch generator).
"""
from torch import nn

from ..initialization import uniform_init


class BaseQuantizer(nn.Module):
    def __init__(self, dim, codebook_size, trainable=True, init_codebook=None):
        super().__init__()
        self.dim = dim
        self.codebook_size = codebook_size
        if init_codebook is None:
            init_codebook = uniform_init(codebook_size, dim)
        if tuple(init_codebook.shape) != (codebook_size, dim):
            raise ValueError(f"init_codebook: expected shape ({codebook_size}, {dim}), "
                             f"got {tuple(init_codebook.shape)}")
        self.codebook = nn.Parameter(init_codebook.detach().clone().float())
        self.trainable = True
        if not trainable:
            self.freeze()

    def get_codebook(self):
        """The codebook (n, k), detached (a copy)."""
        return self.codebook.detach().clone()

    def freeze(self):
        self.codebook.requires_grad_(False)
        self.trainable = False

    def unfreeze(self):
        self.codebook.requires_grad_(True)
        self.trainable = True
