#include <vqvae/math/rate_distortion.h>

#include <vqvae/core/errors.h>

#include <algorithm>
#include <cmath>
#include <functional>

namespace vqvae {

double reverse_water_level(const std::vector<double>& variances, double rate_bits) {
  const char* where = "reverse_water_level";
  if (variances.empty()) throw_invalid_argument(where, "variances must not be empty, got size 0");
  for (size_t i = 0; i < variances.size(); ++i)
    if (!(variances[i] >= 0) || !std::isfinite(variances[i]))
      throw_invalid_argument(where, "variances[" + std::to_string(i) +
                                        "] must be finite and >= 0, got " +
                                        std::to_string(variances[i]));
  if (!(rate_bits >= 0) || !std::isfinite(rate_bits))
    throw_invalid_argument(where, "rate_bits must be finite and >= 0, got " +
                                      std::to_string(rate_bits));

  std::vector<double> lambda;  // positive variances, descending
  for (double v : variances) if (v > 0) lambda.push_back(v);
  if (lambda.empty()) return 0.0;  // a constant source costs nothing
  std::sort(lambda.begin(), lambda.end(), std::greater<double>());
  if (rate_bits == 0) return lambda.front();

  double log_sum = 0;
  double theta = lambda.front();
  for (size_t m = 1; m <= lambda.size(); ++m) {
    log_sum += std::log2(lambda[m - 1]);
    const double candidate = std::exp2((log_sum - 2.0 * rate_bits) / static_cast<double>(m));
    if (candidate > lambda[m - 1]) break;  // the m-th component would not be active
    theta = candidate;
  }
  return theta;
}

double gaussian_distortion_rate(const std::vector<double>& variances, double rate_bits) {
  const double theta = reverse_water_level(variances, rate_bits);
  double distortion = 0;
  for (double v : variances) distortion += std::min(theta, v);
  return distortion;
}

}  // namespace vqvae
