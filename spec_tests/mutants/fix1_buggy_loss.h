// Reproduction of bug #1 (seed BASELINE_FIXES.md, "CRITICAL BUG #1: Incorrect Codebook Loss
// Gradient Flow", src/training/losses.py line 40) for spec_tests/fix1_codebook_gradient_test.cpp.
// Test tree only: never part of src/.
//
// The baseline's "Current code":
//   def vqvae_loss(x, x_recon, z, z_q, beta=0.25):
//       recon_loss = F.mse_loss(x_recon, x)
//       codebook_loss = F.mse_loss(z.detach(), z_q)  # ❌ WRONG
//       commitment_loss = F.mse_loss(z, z_q.detach())
//       total_loss = recon_loss + codebook_loss + beta * commitment_loss
//       return total_loss, loss_dict
// and the trainer that called it without z_q_hard (before fix #1, steps 3-4).
#pragma once

#include <vqvae/models/vqvae.h>
#include <vqvae/training/losses.h>

#include <ATen/ATen.h>

namespace vqvae::mutants {

/// The baseline's loss: the codebook term compares sg(z) with the straight-through z_q.
inline LossOutput buggy_vqvae_loss(const at::Tensor& x, const at::Tensor& x_recon,
                                   const at::Tensor& z, const at::Tensor& z_q, double beta = 0.25) {
  const at::Tensor recon_loss = at::mse_loss(x_recon, x);
  const at::Tensor codebook_loss = at::mse_loss(z.detach(), z_q);  // the bug
  const at::Tensor commitment_loss = at::mse_loss(z, z_q.detach());
  LossOutput out;
  out.total = recon_loss + codebook_loss + beta * commitment_loss;
  out.total_value = out.total.item<double>();
  out.recon = recon_loss.item<double>();
  out.codebook = codebook_loss.item<double>();
  out.commitment = commitment_loss.item<double>();
  return out;
}

/// The baseline trainer's call, as a vqvae::LossFunction: z_q_hard is not handed over.
inline LossOutput buggy_trainer_loss(const at::Tensor& x, const VQVAEOutput& outputs, double beta) {
  return buggy_vqvae_loss(x, outputs.x_recon, outputs.z, outputs.z_q, beta);
}

}  // namespace vqvae::mutants
