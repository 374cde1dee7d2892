#include <vqvae/training/losses.h>

#include <vqvae/tensor/checks.h>

#include <ATen/ATen.h>

#include <cmath>

namespace vqvae {

LossOutput vqvae_loss(const at::Tensor& x, const at::Tensor& x_recon, const at::Tensor& z,
                      const at::Tensor& z_q, const at::Tensor& z_q_hard, double beta) {
  const char* where = "vqvae_loss";
  check_shape(x, where, "x", {-1, -1}, "(B, d)");
  check_at_least(x.size(0), 1, where, "batch size B");
  check_shape(x_recon, where, "x_recon", {x.size(0), x.size(1)}, "(B, d)");
  check_shape(z, where, "z", {x.size(0), -1}, "(B, k)");
  check_shape(z_q, where, "z_q", {x.size(0), z.size(1)}, "(B, k)");
  check_shape(z_q_hard, where, "z_q_hard", {x.size(0), z.size(1)}, "(B, k)");
  if (!(beta >= 0) || !std::isfinite(beta))
    throw_invalid_argument(where, "beta must be finite and >= 0, got " + std::to_string(beta));

  const at::Tensor recon = at::mse_loss(x_recon, x);
  const at::Tensor codebook = at::mse_loss(z.detach(), z_q_hard);    // fix #1: z_q_hard
  const at::Tensor commitment = at::mse_loss(z, z_q_hard.detach());
  LossOutput out;
  out.total = recon + codebook + beta * commitment;
  out.total_value = out.total.item<double>();
  out.recon = recon.item<double>();
  out.codebook = codebook.item<double>();
  out.commitment = commitment.item<double>();
  out.recon_term = recon;
  out.codebook_term = codebook;
  out.commitment_term = commitment;
  return out;
}

}  // namespace vqvae
