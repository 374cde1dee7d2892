#include <vqvae/initialization/codebook_init.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/search/nearest_codeword.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <limits>

namespace vqvae {

at::Tensor uniform_init(int64_t n, int64_t k, std::optional<uint64_t> seed) {
  check_at_least(n, 1, "uniform_init", "n");
  check_at_least(k, 1, "uniform_init", "k");
  return at::rand({n, k}, make_generator(seed), at::kFloat) * (2.0 / n) - 1.0 / n;
}

at::Tensor random_normal_init(int64_t n, int64_t k, double std, std::optional<uint64_t> seed) {
  check_at_least(n, 1, "random_normal_init", "n");
  check_at_least(k, 1, "random_normal_init", "k");
  if (!(std >= 0) || !std::isfinite(std))
    throw_invalid_argument("random_normal_init",
                           "std must be finite and >= 0, got " + std::to_string(std));
  return at::randn({n, k}, make_generator(seed), at::kFloat) * std;
}

double mean_squared_distortion(const at::Tensor& data, const at::Tensor& codebook) {
  c10::NoGradGuard no_grad;
  const at::Tensor indices = nearest_codeword(data, codebook);
  return (data - codebook.index_select(0, indices)).pow(2).sum(1).mean().item<double>();
}

namespace {

// k-means++: first centre uniform, each next one with probability ∝ squared distance to the
// nearest chosen centre. data (N, k) -> (n, k).
at::Tensor kmeans_plus_plus(const at::Tensor& data, int64_t n, at::Generator& gen) {
  const int64_t N = data.size(0);
  at::Tensor centres = at::empty({n, data.size(1)}, data.options());
  const int64_t first = at::randint(N, {1}, gen, at::kLong).item<int64_t>();
  centres[0] = data[first];
  at::Tensor nearest_sq = (data - data[first]).pow(2).sum(1);  // (N)
  for (int64_t j = 1; j < n; ++j) {
    const double total = nearest_sq.sum().item<double>();
    int64_t pick;
    if (total > 0 && std::isfinite(total)) {
      pick = at::multinomial(nearest_sq.to(at::kDouble), 1, false, gen).item<int64_t>();
    } else {  // every point already is a centre (duplicates): any point will do
      pick = at::randint(N, {1}, gen, at::kLong).item<int64_t>();
    }
    centres[j] = data[pick];
    nearest_sq = at::minimum(nearest_sq, (data - data[pick]).pow(2).sum(1));
  }
  return centres;
}

// Lloyd's iterations from `centres` (n, k); returns the final centres.
at::Tensor lloyd(const at::Tensor& data, at::Tensor centres, int64_t max_iter) {
  const int64_t n = centres.size(0);
  at::Tensor previous;
  for (int64_t iter = 0; iter < max_iter; ++iter) {
    const at::Tensor assign = nearest_codeword(data, centres);  // (N)
    if (previous.defined() && at::equal(assign, previous)) break;
    previous = assign;
    at::Tensor sums = at::zeros_like(centres).index_add_(0, assign, data);
    at::Tensor counts = at::zeros({n}, data.options()).index_add_(0, assign, at::ones({data.size(0)}, data.options()));
    const at::Tensor occupied = (counts > 0).unsqueeze(1);
    centres = at::where(occupied, sums / counts.clamp_min(1).unsqueeze(1), centres);
  }
  return centres;
}

}  // namespace

at::Tensor kmeans_init(int64_t n, int64_t k, const at::Tensor& data, const KMeansOptions& options) {
  const char* where = "kmeans_init";
  check_at_least(n, 1, where, "n");
  check_at_least(k, 1, where, "k");
  check_shape(data, where, "data", {-1, k}, "(N, k)");
  check_finite(data, where, "data");
  if (data.size(0) < n)
    throw_invalid_argument(where, "data must have at least n = " + std::to_string(n) +
                                      " rows (one per codeword), got " +
                                      std::to_string(data.size(0)));
  check_at_least(options.n_init(), 1, where, "n_init");
  check_at_least(options.max_iter(), 0, where, "max_iter");
  c10::NoGradGuard no_grad;
  const at::Tensor x = data.detach().contiguous();
  at::Generator gen = make_generator(options.seed());
  at::Tensor best;
  double best_inertia = std::numeric_limits<double>::infinity();
  for (int64_t run = 0; run < options.n_init(); ++run) {
    at::Tensor centres = lloyd(x, kmeans_plus_plus(x, n, gen), options.max_iter());
    const double inertia = mean_squared_distortion(x, centres);
    if (inertia < best_inertia) {
      best_inertia = inertia;
      best = centres;
    }
  }
  return best;
}

}  // namespace vqvae
