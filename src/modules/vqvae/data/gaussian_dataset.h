// The linear-Gaussian source of the baseline (src/data/ in the Python code):
//   X = Y Aᵀ + W,  Y ~ N(0, Sigma_y) in R^k,  A (d, k) orthonormal columns,  W ~ N(0, sigma² I_d),
// followed by PCA of X. The generation order is the baseline's, draw for draw, so that with the
// same LibTorch the tensors equal the Python baseline's bit for bit (see docs/design.md).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>
#include <torch/arg.h>

#include <cstdint>

namespace vqvae {

struct GaussianDatasetOptions {
  /// Ambient dimension d.
  TORCH_ARG(int64_t, d) = 64;
  /// Latent dimension k (1 <= k <= d).
  TORCH_ARG(int64_t, k) = 8;
  /// Standard deviation of the ambient noise W.
  TORCH_ARG(double, sigma_noise) = 0.1;
  /// Number of samples n.
  TORCH_ARG(int64_t, n_samples) = 10000;
  /// Seed of the generator every draw comes from.
  TORCH_ARG(uint64_t, seed) = 42;
  /// Precision of the arithmetic: float32 (the baseline's), or float64 for the golden fixtures'
  /// reference values. The draws are float32 either way (the baseline's draws, the same numbers);
  /// float64 converts them exactly and carries every later step (QR, Cholesky, X, covariance,
  /// eigh) in double, so that its results do not depend on the BLAS kernel's summation order to
  /// float32 precision.
  TORCH_ARG(at::ScalarType, dtype) = at::kFloat;
};

/// Example:
/// ```
/// vqvae::GaussianDataset data(vqvae::GaussianDatasetOptions().n_samples(1000));
/// auto z = data.get_initialization_batch(500);  // (500, 8)
/// ```
/// All tensors are float32 (options.dtype()) on the CPU. The draws come from a private generator seeded with
/// `seed`, which yields the same stream as the baseline's torch.manual_seed(seed) on the global
/// generator without touching global state.
class GaussianDataset {
 public:
  explicit GaussianDataset(const GaussianDatasetOptions& options = {});

  const GaussianDatasetOptions& options() const { return options_; }
  int64_t size() const { return options_.n_samples(); }

  /// First min(n, n_samples) rows of X projected on the principal subspace: (n', k).
  at::Tensor get_initialization_batch(int64_t n) const;

  /// A held-out set of `n_test` samples from the same source: the same A, Sigma_y and σ, with
  /// independent draws (eps and W from a generator of its own, seeded from `seed` apart from the
  /// training draws): X_test = Y_test Aᵀ + W_test, Y_test = L eps_test. Never touches the training
  /// data or its generator. Returns {X_test (n_test, d), Y_test (n_test, k)}.
  struct HeldOut {
    at::Tensor X;  ///< (n_test, d)
    at::Tensor Y;  ///< (n_test, k)
  };
  HeldOut draw_test_set(int64_t n_test) const;

  /// The seed of draw_test_set's generator for a dataset of seed `seed`.
  static uint64_t test_seed(uint64_t seed);

  at::Tensor A;                ///< (d, k) orthonormal mixing matrix (Q of a reduced QR)
  at::Tensor Sigma_y;          ///< (k, k) latent covariance B Bᵀ + 0.1 I
  at::Tensor Y;                ///< (n, k) latent samples
  at::Tensor X;                ///< (n, d) observations
  at::Tensor Sigma_X;          ///< (d, d) sample covariance, unbiased
  at::Tensor U_k;              ///< (d, k) top-k eigenvectors of Sigma_X, eigenvalues descending
  at::Tensor eigenvalues_k;    ///< (k) top-k eigenvalues, descending
  at::Tensor z_true;           ///< (n, k) = X U_k
  at::Tensor Sigma_z;          ///< (k, k) = U_kᵀ Sigma_X U_k
  double sigma_z_squared = 0;  ///< mean(diag(Sigma_z))
  double signal_variance = 0;  ///< mean(diag(A Sigma_y Aᵀ))
  double snr = 0;              ///< signal_variance / (sigma² + 1e-10)

 private:
  GaussianDatasetOptions options_;
};

}  // namespace vqvae
