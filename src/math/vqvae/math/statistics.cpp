#include <vqvae/math/statistics.h>

#include <vqvae/core/errors.h>

#include <cmath>
#include <limits>
#include <string>

namespace vqvae {
namespace {

// The continued fraction of the incomplete beta function (modified Lentz; Numerical Recipes
// "betacf"), converging for x < (a + 1)/(a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  const double tiny = 1e-300, epsilon = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::abs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1) < epsilon) break;
  }
  return h;
}

// The regularized incomplete beta function I_x(a, b).
double regularized_beta(double x, double a, double b) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(a, b, x) / a;
  return 1 - front * beta_continued_fraction(b, a, 1 - x) / b;
}

}  // namespace

double student_t_cdf(double t, double df) {
  const double tail = 0.5 * regularized_beta(df / (df + t * t), df / 2, 0.5);  // P(T > |t|)
  return t >= 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double df) {
  if (!(p > 0 && p < 1)) throw_invalid_argument("student_t_quantile", "p must be in (0, 1), got " + std::to_string(p));
  if (!(df >= 1)) throw_invalid_argument("student_t_quantile", "df must be >= 1, got " + std::to_string(df));
  if (p < 0.5) return -student_t_quantile(1 - p, df);
  double low = 0, high = 1;
  while (student_t_cdf(high, df) < p) high *= 2;
  for (int i = 0; i < 200 && high - low > 1e-13 * std::max(1.0, high); ++i) {
    const double middle = 0.5 * (low + high);
    (student_t_cdf(middle, df) < p ? low : high) = middle;
  }
  return 0.5 * (low + high);
}

PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b, double confidence) {
  const char* where = "paired_difference";
  if (a.size() != b.size())
    throw_invalid_argument(where, "a and b must pair up, got " + std::to_string(a.size()) + " and " + std::to_string(b.size()) + " values");
  if (a.empty()) throw_invalid_argument(where, "needs at least one pair, got 0");
  if (!(confidence > 0 && confidence < 1))
    throw_invalid_argument(where, "confidence must be in (0, 1), got " + std::to_string(confidence));
  PairedDifference out;
  out.pairs = static_cast<int64_t>(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    out.mean += a[i] - b[i];
    out.a_lower += a[i] < b[i];
    out.b_lower += b[i] < a[i];
  }
  out.mean /= static_cast<double>(out.pairs);
  if (out.pairs > 1) {
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i) sum += (a[i] - b[i] - out.mean) * (a[i] - b[i] - out.mean);
    out.std = std::sqrt(sum / static_cast<double>(out.pairs - 1));
    out.half_width = student_t_quantile(0.5 + confidence / 2, static_cast<double>(out.pairs - 1)) * out.std /
                     std::sqrt(static_cast<double>(out.pairs));
  } else {
    out.half_width = std::numeric_limits<double>::infinity();
  }
  out.low = out.mean - out.half_width;
  out.high = out.mean + out.half_width;
  return out;
}

}  // namespace vqvae
