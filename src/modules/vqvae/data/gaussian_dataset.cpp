#include <vqvae/data/gaussian_dataset.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/tensor/runtime.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <tuple>

namespace vqvae {
namespace {

// n samples of the source after its parameters were drawn, in the baseline's order on `gen`:
// eps (n, k), then W (n, d), each drawn in float32 and widened to dtype. Y = L·eps (n, k),
// X = Y Aᵀ + σW (n, d). The training set and the held-out set both come from here.
GaussianDataset::HeldOut draw_samples(at::Generator& gen, int64_t n, const at::Tensor& L, const at::Tensor& A,
                                      double sigma_noise, at::ScalarType dtype) {
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  const int64_t k = A.size(1), d = A.size(0);
  const at::Tensor eps = at::empty({n, k}, f32).normal_(0.0, 1.0, gen).to(dtype);
  GaussianDataset::HeldOut out;
  out.Y = at::matmul(L, eps.unsqueeze(-1)).squeeze(-1);  // (k,k)·(n,k,1) -> (n,k)
  const at::Tensor W = at::randn({n, d}, gen, f32).to(dtype) * sigma_noise;
  out.X = out.Y.matmul(A.t()) + W;
  return out;
}

}  // namespace

GaussianDataset::GaussianDataset(const GaussianDatasetOptions& options) : options_(options) {
  const char* where = "GaussianDataset";
  const int64_t d = options.d(), k = options.k(), n = options.n_samples();
  check_at_least(d, 1, where, "d");
  check_at_least(k, 1, where, "k");
  if (k > d)
    throw_invalid_argument(where, "k must be <= d = " + std::to_string(d) + ", got " +
                                      std::to_string(k));
  check_at_least(n, 2, where, "n_samples");  // the covariance divides by n - 1
  if (!(options.sigma_noise() >= 0) || !std::isfinite(options.sigma_noise()))
    throw_invalid_argument(where, "sigma_noise must be finite and >= 0, got " +
                                      std::to_string(options.sigma_noise()));
  const at::ScalarType dtype = options.dtype();
  if (dtype != at::kFloat && dtype != at::kDouble)
    throw_invalid_argument(where, std::string("dtype must be float32 or float64, got ") + c10::toString(dtype));

  at::Generator gen = make_generator(options.seed());
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  // Draw order matters: it is the baseline's, one draw after the other on one generator. Every
  // draw is float32; .to(dtype) is the identity for float32 and exact for float64.
  at::Tensor A_random = at::randn({d, k}, gen, f32).to(dtype);
  A = std::get<0>(at::linalg_qr(A_random, "reduced"));
  at::Tensor B = at::randn({k, k}, gen, f32).to(dtype);
  Sigma_y = B.matmul(B.t()) + 0.1 * at::eye(k, at::TensorOptions().dtype(dtype));
  HeldOut samples = draw_samples(gen, n, at::linalg_cholesky(Sigma_y), A, options.sigma_noise(), dtype);
  X = std::move(samples.X);
  Y = std::move(samples.Y);

  // PCA, written as the baseline writes it (not at::cov) to keep the same bits.
  at::Tensor Xc = X - X.mean(0, /*keepdim=*/true);
  Sigma_X = Xc.t().matmul(Xc) / static_cast<double>(n - 1);
  // LAPACK's float32 eigh can fail to converge on a near-singular covariance (n = 2 samples without
  // noise: rank 1, six eigenvalues at rounding level; seen with OpenBLAS's threaded kernels). The
  // same matrix in float64 converges; its eigenvectors, rounded back, are what float32 would give
  // to its precision. Every ordinary covariance takes the first branch, bit for bit as before.
  at::Tensor eigenvalues, eigenvectors;
  try {
    std::tie(eigenvalues, eigenvectors) = at::linalg_eigh(Sigma_X, "L");
  } catch (const c10::Error&) {
    std::tie(eigenvalues, eigenvectors) = at::linalg_eigh(Sigma_X.to(at::kDouble), "L");
    eigenvalues = eigenvalues.to(dtype);
    eigenvectors = eigenvectors.to(dtype);
  }
  at::Tensor order = at::argsort(eigenvalues, /*dim=*/0, /*descending=*/true);
  at::Tensor top = order.slice(0, 0, k);
  U_k = eigenvectors.index_select(1, top);
  eigenvalues_k = eigenvalues.index_select(0, top);
  z_true = X.matmul(U_k);
  Sigma_z = U_k.t().matmul(Sigma_X).matmul(U_k);
  sigma_z_squared = at::diag(Sigma_z).mean().item<double>();
  signal_variance = at::diag(A.matmul(Sigma_y).matmul(A.t())).mean().item<double>();
  snr = signal_variance / (options.sigma_noise() * options.sigma_noise() + 1e-10);
}

uint64_t GaussianDataset::test_seed(uint64_t seed) {
  // A fixed odd offset (the 64-bit golden ratio): another stream of the same generator family,
  // the same for every run of a seed.
  return seed + 0x9E3779B97F4A7C15ull;
}

GaussianDataset::HeldOut GaussianDataset::draw_test_set(int64_t n_test) const {
  check_at_least(n_test, 1, "GaussianDataset::draw_test_set", "n_test");
  // The training set's draws (eps, then W) from a generator of its own.
  at::Generator gen = make_generator(test_seed(options_.seed()));
  return draw_samples(gen, n_test, at::linalg_cholesky(Sigma_y), A, options_.sigma_noise(), options_.dtype());
}

at::Tensor GaussianDataset::get_initialization_batch(int64_t n) const {
  check_at_least(n, 1, "GaussianDataset::get_initialization_batch", "n");
  return X.slice(0, 0, std::min(n, options_.n_samples())).matmul(U_k);
}

}  // namespace vqvae
