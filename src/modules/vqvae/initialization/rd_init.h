// Rate-distortion initialisers: codebooks drawn from the reproduction distribution of
// the Gaussian rate-distortion problem at the codebook's rate R = log2(n) bits per vector.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

namespace vqvae {

/// The baseline's isotropic reproduction variance: mean per-dimension variance of data
/// (unbiased) · (1 − 2^(−2·rate)), rate in bits per dimension. data (N, k), N >= 2.
double compute_rd_variance(const at::Tensor& data, double rate);

/// The baseline's rd_gaussian_init: N(0, compute_rd_variance(data, rate) · I_k) with
/// rate = log2(n)/k bits per dimension when not given. Returns (n, k) float32.
at::Tensor rd_gaussian_init(int64_t n, int64_t k, const at::Tensor& data,
                            std::optional<double> rate = std::nullopt,
                            std::optional<uint64_t> seed = std::nullopt);

/// Beyond the baseline: the exact reverse-water-filling reproduction distribution of a Gaussian
/// with the data's mean μ and covariance Σ = V diag(λ) Vᵀ at R = log2(n) bits per vector:
/// codewords μ + V diag(sqrt(max(λ_i − θ, 0))) ε, ε ~ N(0, I_k), θ the water level of
/// Σ max(0, ½ log2(λ_i/θ)) = R. Components below the water level get no spread.
/// data (N, k), N >= 2 -> (n, k) float32.
at::Tensor rd_waterfill_init(int64_t n, int64_t k, const at::Tensor& data,
                             std::optional<uint64_t> seed = std::nullopt);

}  // namespace vqvae
