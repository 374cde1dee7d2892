// Float64 references that the checks of `vqvae validate` and `vqvae conform` judge against,
// computed from their definitions by brute force: independent of the library's search kernel,
// autograd and metrics code. Inputs may be float32 or float64; outputs are float64 (indices int64).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace vqvae {

/// ‖z_i − c_j‖² for every row and codeword: z (B, k), codebook (n, k) -> (B, n).
at::Tensor squared_distances_reference(const at::Tensor& z, const at::Tensor& codebook);

/// The nearest codeword of each row, ties to the lowest index: (B) int64.
at::Tensor nearest_codeword_reference(const at::Tensor& z, const at::Tensor& codebook);

/// How much farther each row's chosen codeword is than its nearest: (B) float64, 0 where the
/// choice is a nearest one. indices (B) must lie in [0, n).
at::Tensor excess_squared_distance(const at::Tensor& z, const at::Tensor& codebook, const at::Tensor& indices);

/// ∂/∂codebook of the codebook loss mse(sg z, codebook[indices]): Σ over the rows i assigned to c_j
/// of 2(c_j − z_i)/(B·k). z (B, k), codebook (n, k), indices (B) -> (n, k).
at::Tensor codebook_loss_gradient(const at::Tensor& z, const at::Tensor& codebook, const at::Tensor& indices);

/// The baseline's metrics (src/evaluation's MetricsTracker) by their definitions, float64.
struct MetricsReference {
  double perplexity = 0;             ///< exp(usage_entropy)
  double dead_codes = 0;             ///< count of codes with usage < 1e-4
  double min_usage = 0;              ///< over the codes with usage > 0
  double max_usage = 0;
  double usage_std = 0;              ///< unbiased, over the n codes
  double usage_entropy = 0;          ///< −Σ usage·ln(usage + 1e-10), nats
  double quantization_error = 0;     ///< mean (z − z_q)²
  double quant_error_per_dim = 0;    ///< the per-dimension means of (z − z_q)², averaged
  double codebook_mean_norm = 0;
  double codebook_std_norm = 0;      ///< unbiased (0 for one codeword)
  double codebook_mean_distance = 0; ///< mean ‖c_i − c_j‖ over all c(c − 1)/2 pairs i < j
};

/// usage = bincount(indices, n) / N (indices (N) in [0, n)).
void utilization_reference(const at::Tensor& indices, int64_t codebook_size, MetricsReference& out);
/// z, z_q (N, k).
void distortion_reference(const at::Tensor& z, const at::Tensor& z_q, MetricsReference& out);
/// codebook (c, k), every pair.
void codebook_stats_reference(const at::Tensor& codebook, MetricsReference& out);

}  // namespace vqvae
