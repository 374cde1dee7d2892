// Scalar float64 linear algebra written out loop by loop: no BLAS, no LAPACK, no LibTorch. The
// independent path by which golden_rounding_test.cpp recomputes every value the golden files store
// (the library computes them with LibTorch in float64, through OpenBLAS and LAPACK).
//
// Every computed value carries an absolute error bound (Sum): a sum of m products in double is
// within γ_m · Σ|terms| of the exact sum (γ_m = m·u/(1 − m·u), u = 2⁻⁵³), whatever the summation
// order, and exact when its terms allow it; so a stored float32 whose rounding margin exceeds the
// bound has the same bits however a float64 path orders its sums.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

namespace vqvae::testing::scalar {

/// Row-major (rows, cols) matrix of doubles.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> values;

  Matrix() = default;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), values(static_cast<size_t>(r * c), 0.0) {}
  double& operator()(int64_t i, int64_t j) { return values[static_cast<size_t>(i * cols + j)]; }
  double operator()(int64_t i, int64_t j) const { return values[static_cast<size_t>(i * cols + j)]; }
};

/// γ_m: the relative error bound of a float64 sum of m terms, in any order.
inline double gamma(int64_t m) {
  const double u = std::ldexp(1.0, -53);
  return static_cast<double>(m) * u / (1.0 - static_cast<double>(m) * u);
}

/// The weight of the lowest set bit of t (t is a multiple of it); infinity for 0.
inline double granularity(double t) {
  if (t == 0) return std::numeric_limits<double>::infinity();
  int exponent = 0;
  const double mantissa = std::frexp(std::abs(t), &exponent);  // [0.5, 1)
  const auto bits = static_cast<uint64_t>(std::ldexp(mantissa, 53));  // exact 53-bit integer
  return std::ldexp(1.0, exponent - 53 + __builtin_ctzll(bits));
}

/// A float64 sum of terms, with the bound of how far any float64 computation of it (in any
/// summation order) can be from the exact sum: 0 when every term is exact and all are multiples of
/// a q with Σ|terms| < 2⁵³·q (then every partial sum, in any order, is exactly representable);
/// otherwise the terms' own bounds plus γ_m·Σ|terms|. Elementwise IEEE operations (+, −, ·, /
/// of two values) are correctly rounded everywhere, so only sums can move between BLAS kernels.
struct Sum {
  double value = 0, magnitude = 0, term_bounds = 0;
  double finest = std::numeric_limits<double>::infinity();
  int64_t terms = 0;

  void add(double term, double term_bound = 0) {
    value += term;
    magnitude += std::abs(term);
    term_bounds += term_bound;
    finest = std::min(finest, granularity(term));
    ++terms;
  }
  double bound() const {
    if (term_bounds == 0 && magnitude < std::ldexp(finest, 53)) return 0;
    return term_bounds + gamma(terms) * magnitude;
  }
};

/// The rounding error of a · b in float64 (0 when the product is exact, e.g. of two float32 values).
inline double product_error(double a, double b) { return std::abs(std::fma(a, b, -(a * b))); }

/// The rounding error of a − b in float64 (TwoSum; 0 when the difference is exact, as that of two
/// float32 values of similar magnitude).
inline double subtraction_error(double a, double b) {
  const double s = a - b, b_virtual = s - a;
  return std::abs((a - (s - b_virtual)) + (-b - b_virtual));
}

/// A matrix of values with an absolute error bound per element.
struct Bounded {
  Matrix value;
  Matrix bound;
};

/// a (r, m) · b (m, c), each element with its Sum bound.
inline Bounded multiply(const Matrix& a, const Matrix& b) {
  if (a.cols != b.rows) throw std::invalid_argument("multiply: inner sizes differ");
  Bounded out{Matrix(a.rows, b.cols), Matrix(a.rows, b.cols)};
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < b.cols; ++j) {
      Sum sum;
      for (int64_t l = 0; l < a.cols; ++l) sum.add(a(i, l) * b(l, j), product_error(a(i, l), b(l, j)));
      out.value(i, j) = sum.value;
      out.bound(i, j) = sum.bound();
    }
  return out;
}

inline Matrix transpose(const Matrix& a) {
  Matrix t(a.cols, a.rows);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < a.cols; ++j) t(j, i) = a(i, j);
  return t;
}

/// Q (m, k) of the reduced QR of a (m, k), m >= k, with LAPACK's orientation (dgeqrf's
/// Householder reflectors, dlarfg's β = −sign(α)·‖(α, x)‖, then dorgqr): the column signs
/// torch.linalg.qr gives.
inline Matrix householder_q(Matrix a) {
  const int64_t m = a.rows, k = a.cols;
  std::vector<std::vector<double>> reflectors(static_cast<size_t>(k), std::vector<double>(static_cast<size_t>(m), 0.0));
  std::vector<double> tau(static_cast<size_t>(k), 0.0);
  for (int64_t j = 0; j < k; ++j) {
    std::vector<double>& v = reflectors[static_cast<size_t>(j)];
    const double alpha = a(j, j);
    double tail = 0;
    for (int64_t i = j + 1; i < m; ++i) tail += a(i, j) * a(i, j);
    v[static_cast<size_t>(j)] = 1.0;
    if (tail == 0) continue;  // H = I (tau = 0), as dlarfg
    const double beta = -std::copysign(std::sqrt(alpha * alpha + tail), alpha);
    tau[static_cast<size_t>(j)] = (beta - alpha) / beta;
    for (int64_t i = j + 1; i < m; ++i) v[static_cast<size_t>(i)] = a(i, j) / (alpha - beta);
    a(j, j) = beta;
    for (int64_t c = j + 1; c < k; ++c) {
      double w = 0;
      for (int64_t i = j; i < m; ++i) w += v[static_cast<size_t>(i)] * a(i, c);
      for (int64_t i = j; i < m; ++i) a(i, c) -= tau[static_cast<size_t>(j)] * v[static_cast<size_t>(i)] * w;
    }
  }
  Matrix q(m, k);
  for (int64_t j = 0; j < k; ++j) q(j, j) = 1.0;
  for (int64_t j = k - 1; j >= 0; --j) {  // Q = H_0 H_1 ... H_{k-1} I[:, :k]
    const std::vector<double>& v = reflectors[static_cast<size_t>(j)];
    for (int64_t c = 0; c < k; ++c) {
      double w = 0;
      for (int64_t i = j; i < m; ++i) w += v[static_cast<size_t>(i)] * q(i, c);
      for (int64_t i = j; i < m; ++i) q(i, c) -= tau[static_cast<size_t>(j)] * v[static_cast<size_t>(i)] * w;
    }
  }
  return q;
}

/// L (lower triangular) with L Lᵀ = s, s symmetric positive definite.
inline Matrix cholesky_lower(const Matrix& s) {
  const int64_t n = s.rows;
  Matrix l(n, n);
  for (int64_t j = 0; j < n; ++j) {
    double diagonal = s(j, j);
    for (int64_t c = 0; c < j; ++c) diagonal -= l(j, c) * l(j, c);
    if (!(diagonal > 0)) throw std::invalid_argument("cholesky_lower: not positive definite");
    l(j, j) = std::sqrt(diagonal);
    for (int64_t i = j + 1; i < n; ++i) {
      double sum = s(i, j);
      for (int64_t c = 0; c < j; ++c) sum -= l(i, c) * l(j, c);
      l(i, j) = sum / l(j, j);
    }
  }
  return l;
}

/// Eigenvalues and unit eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations,
/// sorted by eigenvalue, descending. Jacobi is accurate to ~u·‖s‖/gap in each eigenvector.
struct Eigen {
  std::vector<double> values;
  Matrix vectors;
};

inline Eigen jacobi_eigen(Matrix a) {
  const int64_t n = a.rows;
  Matrix v(n, n);
  for (int64_t i = 0; i < n; ++i) v(i, i) = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diagonal = 0;
    for (int64_t p = 0; p < n; ++p) {
      diagonal += a(p, p) * a(p, p);
      for (int64_t q = p + 1; q < n; ++q) off += a(p, q) * a(p, q);
    }
    if (off <= 1e-36 * diagonal) break;  // off-diagonal below (1e-18 ‖diag‖)², past float64 noise
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = a(p, q);
        if (apq == 0) continue;
        // The rotation J (c, s) in the (p, q) plane with (Jᵀ a J)_pq = 0; t = tan φ, the smaller root.
        const double theta = (a(q, q) - a(p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t r = 0; r < n; ++r) {
          const double arp = a(r, p), arq = a(r, q);
          a(r, p) = c * arp - s * arq;
          a(r, q) = s * arp + c * arq;
        }
        for (int64_t r = 0; r < n; ++r) {
          const double apr = a(p, r), aqr = a(q, r);
          a(p, r) = c * apr - s * aqr;
          a(q, r) = s * apr + c * aqr;
        }
        for (int64_t r = 0; r < n; ++r) {
          const double vrp = v(r, p), vrq = v(r, q);
          v(r, p) = c * vrp - s * vrq;
          v(r, q) = s * vrp + c * vrq;
        }
      }
  }
  std::vector<std::pair<double, int64_t>> order;
  for (int64_t i = 0; i < n; ++i) order.emplace_back(a(i, i), i);
  std::sort(order.begin(), order.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  Eigen out{{}, Matrix(n, n)};
  for (int64_t j = 0; j < n; ++j) {
    out.values.push_back(order[static_cast<size_t>(j)].first);
    for (int64_t r = 0; r < n; ++r) out.vectors(r, j) = v(r, order[static_cast<size_t>(j)].second);
  }
  return out;
}

}  // namespace vqvae::testing::scalar
