// GaussianDataset (src/data/): the PCA outputs and the latent covariance, for random d >= k,
// sample counts, noise levels and seeds.
#include "generators.h"

#include <vqvae/data/gaussian_dataset.h>

#include <ATen/ATen.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <vector>

namespace vqvae::props {

// U_k has orthonormal columns (eigenvectors of a symmetric matrix), eigenvalues_k are the k
// largest eigenvalues of Sigma_X in descending order with U_k their eigenvectors, A has
// orthonormal columns (Q of a QR), and Sigma_y = B Bᵀ + 0.1 I is positive definite with every
// eigenvalue >= 0.1. Tolerances: float32 eigh / matmul on d <= 64, a few d·u of the scale.
RC_GTEST_PROP(GaussianDatasetProperty, PcaIsOrthonormalDescendingAndSigmaYPositiveDefinite, ()) {
  const int64_t d = *gen_int(1, 64), k = *gen_int(1, d), n = *gen_int(2, 1000);
  const double sigma = static_cast<double>(*rc::gen::inRange(0, 33)) / 32.0;
  const uint64_t seed = *gen_seed();
  const GaussianDataset data(
      GaussianDatasetOptions().d(d).k(k).n_samples(n).sigma_noise(sigma).seed(seed));

  RC_ASSERT(data.U_k.sizes() == (at::IntArrayRef{d, k}));
  RC_ASSERT(data.eigenvalues_k.sizes() == at::IntArrayRef{k});
  RC_ASSERT(data.Sigma_y.sizes() == (at::IntArrayRef{k, k}));
  RC_ASSERT(data.X.sizes() == (at::IntArrayRef{n, d}));

  const at::Tensor eye_k = at::eye(k, at::kDouble);
  const at::Tensor U = data.U_k.to(at::kDouble);
  RC_ASSERT(max_abs_diff(U.t().matmul(U), eye_k) <= 1e-4);
  const at::Tensor A = data.A.to(at::kDouble);
  RC_ASSERT(max_abs_diff(A.t().matmul(A), eye_k) <= 1e-4);

  const std::vector<double> lambda = to_vector<double>(data.eigenvalues_k.to(at::kDouble));
  for (int64_t i = 0; i + 1 < k; ++i) RC_ASSERT(lambda[i] >= lambda[i + 1]);

  const at::Tensor Sigma_X = data.Sigma_X.to(at::kDouble);
  const at::Tensor spectrum = std::get<0>(at::sort(at::linalg_eigvalsh(Sigma_X), 0, true));
  const double scale = std::max(spectrum[0].item<double>(), 1e-30);
  const double tol = 1e-5 * static_cast<double>(d) * scale;
  RC_ASSERT(max_abs_diff(spectrum.slice(0, 0, k), data.eigenvalues_k) <= tol);
  RC_ASSERT(max_abs_diff(Sigma_X.matmul(U), U * data.eigenvalues_k.to(at::kDouble)) <= tol);

  const at::Tensor sigma_y_eig = at::linalg_eigvalsh(data.Sigma_y.to(at::kDouble));
  const double top = sigma_y_eig.max().item<double>();
  RC_ASSERT(sigma_y_eig.min().item<double>() > 0.0);
  RC_ASSERT(sigma_y_eig.min().item<double>() >= 0.1 - 4 * static_cast<double>(k) * 6e-8 * top);
}

}  // namespace vqvae::props
