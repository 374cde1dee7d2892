"""Mirrors seed src/training/trainer.py: a minimal Trainer (Adam), fix #1 step 4."""
import torch

from .losses import vqvae_loss


class Trainer:
    def __init__(self, model, lr=1e-3):
        self.model = model
        params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(params, lr=lr) if params else None

    def train_step(self, batch, beta=0.25):
        """One Adam step on batch (B, d) (or a (x, ...) tuple); returns the four loss values."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        self.model.train()
        outputs = self.model(x)

        loss, loss_dict = vqvae_loss(
            x=x,
            x_recon=outputs['x_recon'],
            z=outputs['z'],
            z_q=outputs['z_q'],
            z_q_hard=outputs['z_q_hard'],  # Add this
            beta=beta
        )
        if self.optimizer is not None:
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return loss_dict
