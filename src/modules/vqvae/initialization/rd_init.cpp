#include <vqvae/initialization/rd_init.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/math/rate_distortion.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <vector>

namespace vqvae {
namespace {

void check_data(const at::Tensor& data, int64_t k, const char* where) {
  check_shape(data, where, "data", {-1, k}, "(N, k)");
  check_at_least(data.size(0), 2, where, "data rows N");
  check_finite(data, where, "data");
}

}  // namespace

double compute_rd_variance(const at::Tensor& data, double rate) {
  const char* where = "compute_rd_variance";
  check_data(data, data.defined() && data.dim() == 2 ? data.size(1) : -1, where);
  if (!(rate >= 0) || !std::isfinite(rate))
    throw_invalid_argument(where, "rate must be finite and >= 0, got " + std::to_string(rate));
  c10::NoGradGuard no_grad;
  const double variance = data.var(/*dim=*/0).mean().item<double>();
  return variance * (1.0 - std::pow(2.0, -2.0 * rate));
}

at::Tensor rd_gaussian_init(int64_t n, int64_t k, const at::Tensor& data,
                            std::optional<double> rate, std::optional<uint64_t> seed) {
  check_at_least(n, 1, "rd_gaussian_init", "n");
  check_at_least(k, 1, "rd_gaussian_init", "k");
  check_data(data, k, "rd_gaussian_init");
  const double bits = rate ? *rate : std::log2(static_cast<double>(n)) / static_cast<double>(k);
  const double variance = compute_rd_variance(data, bits);
  return at::randn({n, k}, make_generator(seed), at::kFloat) * std::sqrt(variance);
}

at::Tensor rd_waterfill_init(int64_t n, int64_t k, const at::Tensor& data,
                             std::optional<uint64_t> seed) {
  check_at_least(n, 1, "rd_waterfill_init", "n");
  check_at_least(k, 1, "rd_waterfill_init", "k");
  check_data(data, k, "rd_waterfill_init");
  c10::NoGradGuard no_grad;
  const at::Tensor x = data.detach().to(at::kDouble);
  const at::Tensor mean = x.mean(0);                                            // (k)
  const at::Tensor centred = x - mean;
  const at::Tensor covariance = centred.t().matmul(centred) / (x.size(0) - 1);  // (k, k)
  auto [eigenvalues, eigenvectors] = at::linalg_eigh(covariance, "L");          // (k), (k, k)
  const at::Tensor lambda = eigenvalues.clamp_min(0).contiguous();
  std::vector<double> lambdas(lambda.data_ptr<double>(), lambda.data_ptr<double>() + k);
  const double theta = reverse_water_level(lambdas, std::log2(static_cast<double>(n)));
  const at::Tensor spread = (lambda - theta).clamp_min(0).sqrt();               // (k)
  const at::Tensor eps = at::randn({n, k}, make_generator(seed), at::kDouble);  // (n, k)
  return (mean + (eps * spread).matmul(eigenvectors.t())).to(at::kFloat);
}

}  // namespace vqvae
