// Codebook initialisers (src/initialization/) and the Gaussian D(R) (src/evaluation/
// rate_distortion.h): shapes, seeds, bounds, the reproduction variances, the closed forms.
#include "generators.h"

#include <vqvae/initialization/codebook_init.h>
#include <vqvae/initialization/rd_init.h>
#include <vqvae/math/rate_distortion.h>

#include <ATen/ATen.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vqvae::props {
namespace {

/// (N, k) float32 data: N(μ, V diag(σ²) Vᵀ) with σ² = 4^−s_i (s_i in [0, max_s]), V a random
/// rotation, μ integers. When force_low, one σ² is 4^−max_s.
at::Tensor gaussian_data(int64_t N, int64_t k, at::Generator& gen, int64_t max_s, bool force_low) {
  at::Tensor s = at::randint(0, max_s + 1, {k}, gen, at::kDouble);
  s[0] = 0;  // the largest variance is 1
  if (force_low && k >= 2) s[k - 1] = static_cast<double>(max_s);
  const at::Tensor stddev = at::exp2(-s);  // sqrt(4^−s)
  const at::Tensor V = std::get<0>(at::linalg_qr(at::randn({k, k}, gen, at::kDouble)));
  const at::Tensor mean = at::randint(-8, 9, {1, k}, gen, at::kDouble);
  return (mean + (at::randn({N, k}, gen, at::kDouble) * stddev).matmul(V.t())).to(at::kFloat);
}

using Initialiser = std::function<at::Tensor(int64_t n, int64_t k, const at::Tensor& data,
                                             std::optional<uint64_t> seed)>;

struct NamedInitialiser {
  std::string name;
  Initialiser init;
};

std::vector<NamedInitialiser> all_initialisers() {
  return {
      {"uniform", [](int64_t n, int64_t k, const at::Tensor&, std::optional<uint64_t> seed) {
         return uniform_init(n, k, seed);
       }},
      {"random_normal", [](int64_t n, int64_t k, const at::Tensor&, std::optional<uint64_t> seed) {
         return random_normal_init(n, k, 0.5, seed);
       }},
      {"kmeans", [](int64_t n, int64_t k, const at::Tensor& data, std::optional<uint64_t> seed) {
         return kmeans_init(n, k, data, KMeansOptions().n_init(2).max_iter(10).seed(seed));
       }},
      {"rd_gaussian", [](int64_t n, int64_t k, const at::Tensor& data, std::optional<uint64_t> seed) {
         return rd_gaussian_init(n, k, data, std::nullopt, seed);
       }},
      {"rd_waterfill", [](int64_t n, int64_t k, const at::Tensor& data, std::optional<uint64_t> seed) {
         return rd_waterfill_init(n, k, data, seed);
       }},
  };
}

}  // namespace

// Every initialiser returns (n, k) finite float32 values, the same bits for the same seed, and
// different values for a different seed (the seed is used, not ignored). k-means gets a small
// budget (2 restarts, 10 iterations) and N >= n points: it needs one seed point per codeword.
RC_GTEST_PROP(InitialisationProperty, ShapesAndSeedDeterminism, ()) {
  const int64_t n = *gen_int(1, 64), k = *gen_int(1, 16), N = n + *gen_int(1, 64);
  const uint64_t seed = *gen_seed();
  const uint64_t other = seed + 1 + *rc::gen::inRange<uint64_t>(0, 1000);
  at::Generator gen = make_generator(*gen_seed());
  const at::Tensor data = gaussian_data(N, k, gen, 3, false);
  for (const auto& [name, init] : all_initialisers()) {
    RC_LOG() << name << "\n";
    const at::Tensor a = init(n, k, data, seed);
    RC_ASSERT(a.sizes() == (at::IntArrayRef{n, k}));
    RC_ASSERT(a.scalar_type() == at::kFloat);
    RC_ASSERT(at::all(at::isfinite(a)).item<bool>());
    RC_ASSERT(at::equal(a, init(n, k, data, seed)));
    // Another seed draws other numbers. Not for k-means (restarts may converge to the same
    // clustering) nor, at n = 1, for the rate-distortion draws (rate 0: zero spread, a constant).
    const bool constant = name == "kmeans" || (n == 1 && name.rfind("rd_", 0) == 0);
    if (!constant) RC_ASSERT(!at::equal(a, init(n, k, data, other)));
  }
}

// uniform_init = rand·(2/n) − 1/n lies in [−1/n, 1/n] (the upper end is open on paper; float
// rounding of 1/n is allowed for by a relative 2^−22), and is not constant for n·k >= 2.
RC_GTEST_PROP(InitialisationProperty, UniformInitWithinPlusMinusOneOverN, ()) {
  const int64_t n = *gen_int(1, 1024), k = *gen_int(1, 64);
  const at::Tensor c = uniform_init(n, k, *gen_seed());
  const double bound = (1.0 / static_cast<double>(n)) * (1 + std::ldexp(1.0, -22));
  RC_ASSERT(c.abs().max().item<double>() <= bound);
  if (n * k >= 2) RC_ASSERT(c.max().item<double>() > c.min().item<double>());
}

// rd_gaussian_init draws N(0, σ²_R I) with σ²_R = compute_rd_variance(data, log2(n)/k): for
// large n the empirical variance of its n·k entries converges to σ²_R (within 6 standard errors,
// sqrt(2/(nk)) relative, of a sample variance; n >= 2048), and its mean to 0.
RC_GTEST_PROP(InitialisationProperty, RdGaussianEmpiricalVarianceMatchesComputeRdVariance, ()) {
  const int64_t n = *gen_int(2048, 8192), k = *gen_int(1, 8), N = *gen_int(2, 512);
  at::Generator gen = make_generator(*gen_seed());
  const at::Tensor data = gaussian_data(N, k, gen, 3, false);
  const double rate = std::log2(static_cast<double>(n)) / static_cast<double>(k);
  const double expected = compute_rd_variance(data, rate);
  // compute_rd_variance is the baseline's formula: mean unbiased variance · (1 − 2^(−2R)).
  const double mean_variance = data.to(at::kDouble).var(0).mean().item<double>();
  // (the library takes the variance in float32: relative 1e-5)
  RC_ASSERT(std::abs(expected - mean_variance * (1 - std::exp2(-2 * rate))) <= 1e-5 * mean_variance);

  const at::Tensor c = rd_gaussian_init(n, k, data, std::nullopt, *gen_seed()).to(at::kDouble);
  const double count = static_cast<double>(n * k);
  const double variance = c.pow(2).mean().item<double>();  // about the known mean 0
  RC_ASSERT(std::abs(variance - expected) <= 6 * std::sqrt(2 / count) * expected);
  RC_ASSERT(std::abs(c.mean().item<double>()) <= 6 * std::sqrt(expected / count));
}

// rd_waterfill_init: components of the data's covariance below the water level θ get zero
// spread (codewords − data mean ⟂ those eigenvectors). One component of
// variance 4^−7 is always under water: if it were active, θ <= 4^−7 and the top component alone
// would need ½log2(1/4^−7) = 7 bits > log2(n) for n <= 64 (margin for sampling error: n <= 32).
RC_GTEST_PROP(InitialisationProperty, RdWaterfillPutsNoSpreadBelowTheWaterLevel, ()) {
  const int64_t n = *gen_int(2, 32), k = *gen_int(2, 16), N = *gen_int(64, 512);
  at::Generator gen = make_generator(*gen_seed());
  const at::Tensor data = gaussian_data(N, k, gen, 7, true);
  const at::Tensor x = data.to(at::kDouble);
  const at::Tensor mean = x.mean(0);
  const at::Tensor centred = x - mean;
  const auto [lambda, V] = at::linalg_eigh(centred.t().matmul(centred) / (N - 1), "L");
  const std::vector<double> lambdas = to_vector<double>(lambda.clamp_min(0));
  const double theta = reverse_water_level(lambdas, std::log2(static_cast<double>(n)));

  const at::Tensor c = rd_waterfill_init(n, k, data, *gen_seed()).to(at::kDouble);
  const at::Tensor coords = (c - mean).matmul(V);  // (n, k) in the eigenbasis
  // float32 output: each entry is off by <= u·|c| (u = 2^−24), a coordinate by <= sqrt(k) times
  // that; 4x for the float64 eigenvector and product roundings.
  const double tol = 4 * std::ldexp(1.0, -24) *
                     (mean.abs().max().item<double>() + (c - mean).abs().max().item<double>()) *
                     std::sqrt(static_cast<double>(k));
  int64_t below = 0;
  for (int64_t i = 0; i < k; ++i) {
    if (lambdas[i] <= theta) {
      ++below;
      RC_ASSERT(coords.select(1, i).abs().max().item<double>() <= tol);
    }
  }
  RC_ASSERT(below >= 1);
  // The spread of an under-water component, had it been given sqrt(λ), would be >= 4^−7 in
  // variance: ~0.008 in standard deviation, far above tol.
  RC_ASSERT(tol < 1e-3);
}

// Shannon's D(R) for an isotropic Gaussian, D = k·σ²·2^(−2R/k), and D(0) = Σλ, D non-increasing
// in R, for any variances.
RC_GTEST_PROP(RateDistortionProperty, IsotropicClosedFormAndMonotone, ()) {
  const int64_t k = *gen_int(1, 64);
  const double sigma2 = std::ldexp(static_cast<double>(*rc::gen::inRange(1, 1025)), *rc::gen::inRange(-20, 11));
  const double rate = static_cast<double>(*rc::gen::inRange(0, 513)) / 8.0;  // 0 .. 64 bits
  const std::vector<double> iso(k, sigma2);
  const double closed = static_cast<double>(k) * sigma2 * std::exp2(-2 * rate / static_cast<double>(k));
  RC_ASSERT(std::abs(gaussian_distortion_rate(iso, rate) - closed) <= 1e-12 * closed);

  // Any variances (zeros allowed): D(0) = Σλ, D(R) <= D(R') for R >= R', D >= 0.
  std::vector<double> lambda(k);
  double total = 0;
  for (auto& l : lambda) {
    l = std::ldexp(static_cast<double>(*rc::gen::inRange(0, 1025)), *rc::gen::inRange(-10, 5));
    total += l;
  }
  RC_ASSERT(std::abs(gaussian_distortion_rate(lambda, 0) - total) <= 1e-12 * total);
  const double more = rate + static_cast<double>(*rc::gen::inRange(0, 65)) / 8.0;
  const double d_rate = gaussian_distortion_rate(lambda, rate);
  RC_ASSERT(gaussian_distortion_rate(lambda, more) <= d_rate * (1 + 1e-12));
  RC_ASSERT(d_rate >= 0);
}

}  // namespace vqvae::props
