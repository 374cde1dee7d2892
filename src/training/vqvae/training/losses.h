// The VQ-VAE loss (src/training/losses.py in the baseline). Fix #1 lives here: the codebook term
// compares sg(z) with z_q_hard (which carries the codebook's gradient), not with the
// straight-through z_q (whose value equals z_q_hard but whose gradient goes to z, not the codebook).
#pragma once

#include <ATen/core/Tensor.h>

namespace vqvae {

struct LossOutput {
  at::Tensor total;         ///< () recon + codebook + beta · commitment, for backward()
  double total_value = 0;
  double recon = 0;         ///< mse(x_recon, x)
  double codebook = 0;      ///< mse(sg z, z_q_hard): moves the codebook only
  double commitment = 0;    ///< mse(z, sg z_q_hard): moves the encoder only
  /// The three terms as () tensors with their gradient graphs, so that each can be
  /// backpropagated alone (`vqvae validate`'s routing check). Undefined on the Trainer's fused
  /// path, which takes the step without a graph.
  at::Tensor recon_term, codebook_term, commitment_term;
};

/// x, x_recon (B, d); z, z_q, z_q_hard (B, k). beta >= 0 weighs the commitment term.
/// z_q is accepted for the baseline's signature and checked for shape; the reconstruction
/// already carries it (x_recon = decoder(z_q)).
/// Throws InvalidArgument for mismatched shapes, an empty batch or a negative / non-finite beta.
LossOutput vqvae_loss(const at::Tensor& x, const at::Tensor& x_recon, const at::Tensor& z,
                      const at::Tensor& z_q, const at::Tensor& z_q_hard, double beta = 0.25);

}  // namespace vqvae
