"""Mirrors the baseline's src/training/losses.py: vqvae_loss, fix #1 step 2."""
import torch.nn.functional as F


def vqvae_loss(x, x_recon, z, z_q, z_q_hard, beta=0.25):
    """total = recon + codebook + beta * commitment; returns (total tensor, dict of floats)."""
    recon_loss = F.mse_loss(x_recon, x)
    codebook_loss = F.mse_loss(z.detach(), z_q_hard)  # ✅ Use hard quantization
    commitment_loss = F.mse_loss(z, z_q_hard.detach())
    total_loss = recon_loss + codebook_loss + beta * commitment_loss

    loss_dict = {
        'total': total_loss.item(),
        'recon': recon_loss.item(),
        'codebook': codebook_loss.item(),
        'commitment': commitment_loss.item()
    }
    return total_loss, loss_dict
