// Paired comparisons over seeds: the mean difference with a Student's t confidence interval, and
// the Student's t distribution it needs. No LibTorch: plain numbers in, plain numbers out.
#pragma once

#include <cstdint>
#include <vector>

namespace vqvae {

/// P(T <= t) for Student's t with `df` >= 1 degrees of freedom (through the regularized incomplete
/// beta function: P(|T| > t) = I_{df/(df + t²)}(df/2, 1/2)).
double student_t_cdf(double t, double df);

/// The t with P(T <= t) = p, 0 < p < 1 (bisection on student_t_cdf to ~1e-12). Throws
/// InvalidArgument for p outside (0, 1) or df < 1. Two-sided 95 %: student_t_quantile(0.975, df).
double student_t_quantile(double p, double df);

/// The paired differences a_i − b_i of two measurements on the same seeds.
struct PairedDifference {
  int64_t pairs = 0;
  double mean = 0;        ///< mean of a_i − b_i
  double std = 0;         ///< unbiased standard deviation of the differences
  double half_width = 0;  ///< of the confidence interval: t_{(1+c)/2, n−1} · std / √n (inf for one pair)
  double low = 0, high = 0;
  int64_t a_lower = 0;    ///< pairs with a_i < b_i (a "wins" when lower is better)
  int64_t b_lower = 0;    ///< pairs with b_i < a_i
  /// The interval holds zero: the seeds cannot tell a from b at this confidence.
  bool includes_zero() const { return low <= 0 && high >= 0; }
};

/// Mean difference of a − b with a `confidence` (two-sided) Student's t interval over the pairs.
/// Throws InvalidArgument when the sizes differ, there are no pairs, or confidence is outside (0, 1).
PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b,
                                   double confidence = 0.95);

}  // namespace vqvae
