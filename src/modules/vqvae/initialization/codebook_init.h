// Codebook initialisers of the baseline (src/initialization/ in the Python code): uniform,
// random normal and k-means. Every initialiser takes an optional seed; without one it draws from
// LibTorch's global generator, as the baseline did after torch.manual_seed.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <optional>

namespace vqvae {

/// rand(n, k) · (2/n) − 1/n: uniform on [−1/n, 1/n). Returns (n, k) float32.
at::Tensor uniform_init(int64_t n, int64_t k, std::optional<uint64_t> seed = std::nullopt);

/// N(0, std²) entries. Returns (n, k) float32. Throws for std < 0 or non-finite.
at::Tensor random_normal_init(int64_t n, int64_t k, double std = 1.0,
                              std::optional<uint64_t> seed = std::nullopt);

struct KMeansOptions {
  /// Number of restarts; the run with the lowest inertia wins.
  TORCH_ARG(int64_t, n_init) = 10;
  /// Lloyd iterations per restart (stops earlier when assignments no longer change).
  TORCH_ARG(int64_t, max_iter) = 100;
  /// Seed of the k-means++ draws; none: LibTorch's global generator.
  TORCH_ARG(std::optional<uint64_t>, seed) = std::nullopt;
};

/// k-means++ seeding (Arthur & Vassilvitskii, 2007) then Lloyd's iterations, best of n_init.
/// A cluster that empties keeps its previous centre.
/// @param data (N, k) with N >= n (each codeword needs a distinct seed point)
/// @return (n, k) in data's dtype
at::Tensor kmeans_init(int64_t n, int64_t k, const at::Tensor& data,
                       const KMeansOptions& options = {});

/// The inertia Σ_i min_j ‖x_i − c_j‖² of a codebook on data: mean over rows, i.e. the
/// distortion per sample. data (N, k), codebook (n, k) -> a number.
double mean_squared_distortion(const at::Tensor& data, const at::Tensor& codebook);

}  // namespace vqvae
