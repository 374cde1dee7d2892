"""Mirrors the baseline's src/training/trainer.py: Trainer(model, optimizer, device='cpu'), fix #1 step 4.

train_step(batch, beta=0.25): batch is a tensor x (B, d) or an (x, y) pair; forward, vqvae_loss
(with z_q_hard), optimizer.zero_grad(), backward, optimizer.step(); returns vqvae_loss's dict.
evaluate(dataloader, metrics_tracker): every value over the whole set (the batches' outputs
concatenated, not a mean of per-batch means), and changes nothing training reads afterwards:
no gradient, no parameter or optimizer change, the train/eval mode restored, and the global
torch generator restored (iterating any DataLoader draws a base seed from it).
save_checkpoint(path) = torch.save({'model_state_dict': model.state_dict(),
'optimizer_state_dict': optimizer.state_dict()}, path); load_checkpoint(path) loads both back,
so that steps after it equal the steps taken without the round trip.
"""
import torch
import torch.nn.functional as F

from .losses import vqvae_loss


def batch_input(batch):
    """x of a batch: the tensor itself, or the first element of an (x, y) pair."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


class Trainer:
    def __init__(self, model, optimizer, device='cpu'):
        self.model = model.to(device)
        self.optimizer = optimizer
        self.device = device

    def train_step(self, batch, beta=0.25):
        """One optimizer step on batch; returns {'total', 'recon', 'codebook', 'commitment'}."""
        x = batch_input(batch).to(self.device)
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
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss_dict

    def evaluate(self, dataloader, metrics_tracker):
        """recon_loss and metrics_tracker's utilisation, distortion and codebook metrics."""
        was_training = self.model.training
        rng_state = torch.get_rng_state()
        xs, x_recons, zs, z_qs, indices = [], [], [], [], []
        self.model.eval()
        try:
            with torch.no_grad():
                for batch in dataloader:
                    x = batch_input(batch).to(self.device)
                    outputs = self.model(x)
                    xs.append(x)
                    x_recons.append(outputs['x_recon'])
                    zs.append(outputs['z'])
                    z_qs.append(outputs['z_q'])
                    indices.append(outputs['indices'])
        finally:
            self.model.train(was_training)
            torch.set_rng_state(rng_state)
        recon_loss = F.mse_loss(torch.cat(x_recons).double(), torch.cat(xs).double()).item()
        metrics = {'recon_loss': recon_loss}
        metrics.update(metrics_tracker.compute_utilization_metrics(torch.cat(indices)))
        metrics.update(metrics_tracker.compute_distortion_metrics(torch.cat(zs), torch.cat(z_qs)))
        metrics.update(metrics_tracker.compute_codebook_stats(self.model.quantizer.get_codebook()))
        return metrics

    def save_checkpoint(self, path):
        """torch.save of the model's and the optimizer's state dicts."""
        torch.save({
            'model_state_dict': self.model.state_dict(),
            'optimizer_state_dict': self.optimizer.state_dict(),
        }, path)

    def load_checkpoint(self, path):
        """The model's and the optimizer's state, back from a file save_checkpoint wrote."""
        checkpoint = torch.load(path, map_location=self.device)
        self.model.load_state_dict(checkpoint['model_state_dict'])
        self.optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
