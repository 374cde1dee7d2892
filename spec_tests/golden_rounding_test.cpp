// Goldens whose bytes do not depend on the CPU (fixtures/README.md, "Why the bytes do not depend
// on the CPU"). `vqvae goldens regen` writes each stored value as the float64 value of its formula
// (applied to the stored values it depends on) rounded once to float32, computed with LibTorch in
// float64 through OpenBLAS and LAPACK (goldens/precision.h). Here every value of both
// files is recomputed by a second, independent path — the scalar float64 loops of
// support/scalar_float64.h, from the same float32 draws of LibTorch's generator — and must be:
//   1. its correctly rounded value (float(exact) == stored, bit for bit), and
//   2. farther from the nearest float32 rounding boundary than twice the error bound of a
//      float64 computation of it: γ_m·Σ|terms| for sums of products (any summation order, so any
//      BLAS kernel), and for X and U_k (through QR, Cholesky and eigh) the largest difference
//      measured between the library's float64 path and this one.
// Then no float64 path, on any CPU, rounds to other bits. The margins are printed: the smallest
// is the one to watch (README: if a new case puts a value too close to a boundary, pick another).
// The eigenvector signs are LAPACK's choice, not arithmetic: they are taken from the library's
// float32 U_k, as the goldens take them.
#include "scalar_float64.h"
#include "test_support.h"

#include <vqvae/tensor/runtime.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/conform/conform.h>
#include <vqvae/goldens/pca_suite.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

#ifndef VQVAE_FIXTURES_DIR
#error "VQVAE_FIXTURES_DIR must name the source tree's fixtures/ folder"
#endif

namespace vqvae {
namespace {

using testing::scalar::Bounded;
using testing::scalar::Matrix;
namespace scalar = testing::scalar;

const double kUnit = std::ldexp(1.0, -53);  // float64's unit roundoff
// margin >= kSafety x bound. The tightest value, default_d64_k8/U_k[16,7], has 4.0x to 6.0x
// depending on the OpenBLAS kernel that measures its column's bound (fixtures/README.md).
constexpr double kSafety = 2;

Matrix to_matrix(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kDouble).contiguous();
  const int64_t rows = c.dim() == 0 ? 1 : c.size(0), cols = c.dim() == 2 ? c.size(1) : 1;
  Matrix m(rows, cols);
  std::copy(c.data_ptr<double>(), c.data_ptr<double>() + c.numel(), m.values.begin());
  return m;
}

// Rows [begin, end) of m.
Matrix rows_of(const Matrix& m, int64_t begin, int64_t end) {
  Matrix out(end - begin, m.cols);
  std::copy(m.values.begin() + begin * m.cols, m.values.begin() + end * m.cols, out.values.begin());
  return out;
}

// Each element rounded to float32 (as a double again): the value the file must hold.
Matrix rounded(const Matrix& m) {
  Matrix out = m;
  for (double& v : out.values) v = static_cast<float>(v);
  return out;
}

Bounded exact(const Matrix& value) { return {value, Matrix(value.rows, value.cols)}; }

Bounded with_bound(const Matrix& value, double bound) {
  Bounded out = exact(value);
  for (double& b : out.bound.values) b = bound;
  return out;
}

// ------------------------------------------------------------------ the dataset, scalar
struct ScalarDataset {
  Matrix X;            // (n, d)
  Matrix U_k;          // (d, k)
  double bound_X = 0;  // largest |library float64 − scalar float64| over X
  double bound_U = 0;  // the same over U_k
  // U_k's bound per column: an eigenvector's float64 error scales with 1 / its eigenvalue's gap, so
  // each column carries the largest difference measured in that column.
  Bounded U_bounded() const {
    Bounded out{U_k, Matrix(U_k.rows, U_k.cols)};
    for (int64_t j = 0; j < U_k.cols; ++j) {
      double column = 0;
      for (int64_t r = 0; r < U_k.rows; ++r) column = std::max(column, std::abs(U_library(r, j) - U_k(r, j)));
      for (int64_t r = 0; r < U_k.rows; ++r) out.bound(r, j) = column;
    }
    return out;
  }
  Matrix U_library;    // (d, k) the library's float64 U_k
};

// GaussianDataset's formulas (X = Y Aᵀ + σW, PCA of X) in scalar float64, from the same draws.
ScalarDataset scalar_dataset(const GaussianDatasetOptions& options) {
  const int64_t d = options.d(), k = options.k(), n = options.n_samples();
  // The draws, in GaussianDataset's order, float32 as the baseline draws them.
  at::Generator gen = make_generator(options.seed());
  const Matrix A_random = to_matrix(at::randn({d, k}, gen, at::kFloat));
  const Matrix B = to_matrix(at::randn({k, k}, gen, at::kFloat));
  const Matrix eps = to_matrix(at::empty({n, k}, at::kFloat).normal_(0.0, 1.0, gen));
  const Matrix W = to_matrix(at::randn({n, d}, gen, at::kFloat));

  const Matrix A = scalar::householder_q(A_random);
  Matrix Sigma_y = scalar::multiply(B, scalar::transpose(B)).value;
  for (int64_t i = 0; i < k; ++i) Sigma_y(i, i) += 0.1;
  const Matrix L = scalar::cholesky_lower(Sigma_y);
  const Matrix Y = scalar::multiply(eps, scalar::transpose(L)).value;  // row i: L · eps_i
  ScalarDataset out;
  out.X = scalar::multiply(Y, scalar::transpose(A)).value;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) out.X(i, j) += W(i, j) * options.sigma_noise();

  std::vector<double> mean(static_cast<size_t>(d), 0.0);
  for (int64_t j = 0; j < d; ++j) {
    for (int64_t i = 0; i < n; ++i) mean[static_cast<size_t>(j)] += out.X(i, j);
    mean[static_cast<size_t>(j)] /= static_cast<double>(n);
  }
  Matrix Xc = out.X;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) Xc(i, j) -= mean[static_cast<size_t>(j)];
  Matrix Sigma_X = scalar::multiply(scalar::transpose(Xc), Xc).value;
  for (double& v : Sigma_X.values) v /= static_cast<double>(n - 1);
  const scalar::Eigen eigen = scalar::jacobi_eigen(Sigma_X);

  // Orientation (a convention, not arithmetic): each column as the library's float32 U_k points.
  const Matrix library_U = to_matrix(GaussianDataset(options).U_k);
  out.U_k = Matrix(d, k);
  for (int64_t j = 0; j < k; ++j) {
    double agree = 0;
    for (int64_t r = 0; r < d; ++r) agree += eigen.vectors(r, j) * library_U(r, j);
    for (int64_t r = 0; r < d; ++r) out.U_k(r, j) = (agree < 0 ? -1 : 1) * eigen.vectors(r, j);
  }

  // How far the library's float64 path (LAPACK's QR, Cholesky, eigh; BLAS products) is from this one.
  const GaussianDataset library64 = golden_dataset(options, GoldenPrecision::float64);
  const Matrix X64 = to_matrix(library64.X), U64 = to_matrix(library64.U_k);
  out.U_library = U64;
  for (size_t i = 0; i < X64.values.size(); ++i) out.bound_X = std::max(out.bound_X, std::abs(X64.values[i] - out.X.values[i]));
  for (size_t i = 0; i < U64.values.size(); ++i) out.bound_U = std::max(out.bound_U, std::abs(U64.values[i] - out.U_k.values[i]));
  return out;
}

// ------------------------------------------------------------------ rounding margins
// The distance of `exact` from the float32 rounding boundary on its side of `stored`, in ulps of
// that side (0.5: exact equals stored; negative: it rounds to other bits).
double margin_in_ulps(float stored, double exact) {
  const double v = stored;
  if (exact >= v) {
    const double gap = static_cast<double>(std::nextafter(stored, std::numeric_limits<float>::infinity())) - v;
    return (v + gap / 2 - exact) / gap;
  }
  const double gap = v - static_cast<double>(std::nextafter(stored, -std::numeric_limits<float>::infinity()));
  return (exact - (v - gap / 2)) / gap;
}

struct Margins {
  std::string name;                 // file/case/dataset
  int64_t values = 0, deterministic = 0, wrong = 0, too_close = 0;
  double min_ulps = 0.5;            // smallest margin of the values with a nonzero bound, in float32 ulps
  double min_safety = std::numeric_limits<double>::infinity();  // smallest margin / bound
  std::string first_problem;

  void add(float stored, double value, double bound, const std::string& where) {
    ++values;
    std::ostringstream text;
    text.precision(17);
    if (static_cast<float>(value) != stored) {
      ++wrong;
      text << where << ": stored " << stored << ", the float64 value " << value << " rounds to "
           << static_cast<float>(value);
      if (first_problem.empty()) first_problem = text.str();
      return;
    }
    // Bound 0: every float64 computation of it gives this very value (its sums are exact in any
    // order; elementwise operations are correctly rounded), so even a tie rounds (to even) the same.
    if (bound == 0) {
      ++deterministic;
      return;
    }
    const double ulps = margin_in_ulps(stored, value);
    const float toward = value >= stored ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
    const double margin = ulps * std::abs(static_cast<double>(std::nextafter(stored, toward)) - stored);
    min_ulps = std::min(min_ulps, ulps);
    min_safety = std::min(min_safety, margin / bound);
    if (margin < kSafety * bound) {
      ++too_close;
      text << where << ": the float64 value " << value << " is " << ulps << " ulp (" << margin
           << ") from a float32 rounding boundary, less than " << kSafety << " times its float64 error bound " << bound;
      if (first_problem.empty()) first_problem = text.str();
    }
  }
};

std::string index_text(int64_t i, int64_t j) { return "[" + std::to_string(i) + "," + std::to_string(j) + "]"; }

// Every element of the stored float32 tensor against `expected`.
Margins compare(const std::string& name, const at::Tensor& stored, const Bounded& expected) {
  Margins m;
  m.name = name;
  const at::Tensor s = stored.contiguous();
  if (s.scalar_type() != at::kFloat || s.numel() != static_cast<int64_t>(expected.value.values.size())) {
    m.wrong = 1;
    m.first_problem = name + ": stored " + std::string(c10::toString(s.scalar_type())) + " with " +
                      std::to_string(s.numel()) + " values, expected float32 with " +
                      std::to_string(expected.value.values.size());
    return m;
  }
  const float* data = s.data_ptr<float>();
  for (int64_t i = 0; i < expected.value.rows; ++i)
    for (int64_t j = 0; j < expected.value.cols; ++j)
      m.add(data[i * expected.value.cols + j], expected.value(i, j), expected.bound(i, j), name + index_text(i, j));
  return m;
}

// Prints one row per dataset and a summary; fails on any wrong or too-close value.
void report(const std::string& file, const std::vector<Margins>& all) {
  double min_ulps = 0.5, min_safety = std::numeric_limits<double>::infinity();
  int64_t values = 0, deterministic = 0;
  std::string tightest;
  std::cout << file << ": dataset, values, of which exact in float64, smallest rounding margin of the others "
            << "(float32 ulp), smallest margin / float64 error bound\n";
  for (const Margins& m : all) {
    std::cout << "  " << m.name << "  " << m.values << "  " << m.deterministic << "  " << m.min_ulps << "  "
              << m.min_safety << "\n";
    EXPECT_EQ(m.wrong, 0) << m.first_problem;
    EXPECT_EQ(m.too_close, 0) << m.first_problem;
    values += m.values;
    deterministic += m.deterministic;
    if (m.min_safety < min_safety) tightest = m.name;
    min_ulps = std::min(min_ulps, m.min_ulps);
    min_safety = std::min(min_safety, m.min_safety);
  }
  std::cout << file << ": " << values << " values, each the correctly rounded float64 value; " << deterministic
            << " exact in float64; the others at least " << min_ulps << " ulp from a rounding boundary and at least "
            << min_safety << " times their float64 error bound (tightest: " << tightest << ")\n";
  EXPECT_GT(values, 0);
}

// ------------------------------------------------------------------ fixtures/pca_goldens.h5
const std::string kFixtures = VQVAE_FIXTURES_DIR;

TEST(GoldenRounding, PcaGoldensAreCorrectlyRoundedFloat64Values) {
  const std::string path = golden_file_path(kFixtures);
  std::vector<Margins> all;
  for (const GoldenCaseSpec& spec : golden_case_specs()) {
    const GoldenCase stored = read_golden_case(path, spec.name);
    const GaussianDatasetOptions options =
        GaussianDatasetOptions().d(spec.d).k(spec.k).n_samples(spec.n).sigma_noise(spec.sigma_noise).seed(spec.seed);
    const ScalarDataset data = scalar_dataset(options);
    const Matrix x = rounded(rows_of(data.X, 0, spec.B)), U = rounded(data.U_k);
    const std::string p = spec.name + "/";
    all.push_back(compare(p + "x", stored.x, with_bound(rows_of(data.X, 0, spec.B), data.bound_X)));
    all.push_back(compare(p + "U_k", stored.U_k, data.U_bounded()));
    Matrix encoder_t = U, decoder_t = scalar::transpose(U);  // z = x · encoder_t, x_recon = z · decoder_t
    if (spec.encoder == GoldenEncoder::learned) {
      // The weights are float32 draws (Xavier-uniform): stored bit for bit as the library draws them.
      LearnedLinearEncoder encoder(LearnedLinearEncoderOptions(spec.d, spec.k).seed(spec.seed + 1));
      LearnedLinearDecoder decoder(LearnedLinearDecoderOptions(spec.k, spec.d).seed(spec.seed + 2));
      all.push_back(compare(p + "encoder_weight", stored.encoder_weight, exact(to_matrix(encoder->weight))));
      all.push_back(compare(p + "decoder_weight", stored.decoder_weight, exact(to_matrix(decoder->weight))));
      encoder_t = scalar::transpose(to_matrix(encoder->weight));
      decoder_t = scalar::transpose(to_matrix(decoder->weight));
    }
    const Bounded z = scalar::multiply(x, encoder_t);
    all.push_back(compare(p + "z", stored.z, z));
    all.push_back(compare(p + "x_recon", stored.x_recon, scalar::multiply(rounded(z.value), decoder_t)));
  }
  report("pca_goldens.h5", all);
}

// ------------------------------------------------------------------ fixtures/conform_goldens.h5
// The nearest codeword of each row of z (B, k) among codebook (n, k), ties to the lowest index, and
// the smallest relative gap between the nearest and the second nearest squared distance.
std::vector<int64_t> nearest(const Matrix& z, const Matrix& codebook, double& smallest_gap) {
  std::vector<int64_t> out;
  smallest_gap = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < z.rows; ++i) {
    double best = std::numeric_limits<double>::infinity(), second = best;
    int64_t index = 0;
    for (int64_t j = 0; j < codebook.rows; ++j) {
      double distance = 0;
      for (int64_t c = 0; c < z.cols; ++c) distance += (z(i, c) - codebook(j, c)) * (z(i, c) - codebook(j, c));
      if (distance < best) {
        second = best;
        best = distance;
        index = j;
      } else {
        second = std::min(second, distance);
      }
    }
    out.push_back(index);
    smallest_gap = std::min(smallest_gap, (second - best) / second);
  }
  return out;
}

Matrix gathered(const Matrix& codebook, const std::vector<int64_t>& indices) {
  Matrix out(static_cast<int64_t>(indices.size()), codebook.cols);
  for (size_t i = 0; i < indices.size(); ++i)
    for (int64_t c = 0; c < codebook.cols; ++c) out(static_cast<int64_t>(i), c) = codebook(indices[i], c);
  return out;
}

// Σ over the rows i assigned to codeword j of term(i, c), (n, k), with its Sum bound (the terms'
// own bounds from term_bound).
Bounded scatter_sum(const std::vector<int64_t>& indices, int64_t n, int64_t k,
                    const std::function<double(int64_t, int64_t)>& term,
                    const std::function<double(int64_t, int64_t)>& term_bound) {
  std::vector<scalar::Sum> sums(static_cast<size_t>(n * k));
  for (size_t i = 0; i < indices.size(); ++i)
    for (int64_t c = 0; c < k; ++c)
      sums[static_cast<size_t>(indices[i] * k + c)].add(term(static_cast<int64_t>(i), c),
                                                       term_bound(static_cast<int64_t>(i), c));
  Bounded out{Matrix(n, k), Matrix(n, k)};
  for (size_t e = 0; e < sums.size(); ++e) {
    out.value.values[e] = sums[e].value;
    out.bound.values[e] = sums[e].bound();
  }
  return out;
}

// mean((a − b)²) over all elements (a count that is a power of two: the division is exact), with
// its bound.
std::pair<double, double> mean_squared_difference(const Matrix& a, const Matrix& b) {
  scalar::Sum sum;
  for (size_t e = 0; e < a.values.size(); ++e) {
    const double difference = a.values[e] - b.values[e];
    sum.add(difference * difference, scalar::product_error(difference, difference) +
                                         2 * std::abs(difference) * scalar::subtraction_error(a.values[e], b.values[e]));
  }
  const auto m = static_cast<double>(a.values.size());
  return {sum.value / m, sum.bound() / m};
}

TEST(GoldenRounding, ConformGoldensAreCorrectlyRoundedFloat64Values) {
  const std::string path = (std::filesystem::path(kFixtures) / kConformGoldenFileName).string();
  const GoldenRecord dataset_case = read_golden_record(path, conform_golden_schema(), "golden_dataset");
  const auto integer = [&](const char* name) { return std::get<int64_t>(dataset_case.attribute(name)); };
  const GaussianDatasetOptions options = GaussianDatasetOptions()
                                             .d(integer("d"))
                                             .k(integer("k"))
                                             .n_samples(integer("n"))
                                             .sigma_noise(std::get<double>(dataset_case.attribute("sigma_noise")))
                                             .seed(static_cast<uint64_t>(integer("seed")));
  const ScalarDataset data = scalar_dataset(options);
  const int64_t B = 8, k = options.k(), n = options.n_samples(), codewords = 8;
  const double beta = 0.25;

  // The inputs (conform/detail/cases.cpp, conform_golden_records and make_inputs), each from the
  // stored values before it.
  const Matrix X = rounded(data.X), U = rounded(data.U_k), x = rows_of(X, 0, B);
  const Bounded latents = scalar::multiply(x, U);                     // (B, k) quantizer, loss, ste "z"
  const Bounded other_latents = scalar::multiply(rows_of(X, B, 2 * B), U);  // (B, k) pca, legacy "z"
  const Bounded all_latents = scalar::multiply(X, U);                 // (n, k)
  at::Generator codebook_gen = make_generator(11);
  const at::Tensor perm = at::randperm(n, codebook_gen, at::kLong);
  const Matrix codebook_noise = to_matrix(at::randn({codewords, k}, codebook_gen, at::kFloat));
  Bounded codebook{Matrix(codewords, k), Matrix(codewords, k)};
  for (int64_t j = 0; j < codewords; ++j)
    for (int64_t c = 0; c < k; ++c) {
      const int64_t row = perm[j].item<int64_t>();
      codebook.value(j, c) = all_latents.value(row, c) + 0.3 * codebook_noise(j, c);
      // Elementwise: correctly rounded everywhere; only the latent's own bound moves it (and may
      // then change the rounding of the sum by up to 2u).
      const double b = all_latents.bound(row, c);
      codebook.bound(j, c) = b == 0 ? 0 : b + 2 * kUnit * std::abs(codebook.value(j, c));
    }
  at::Generator input_gen = make_generator(13);
  const Matrix g = to_matrix(at::randn({B, k}, input_gen, at::kFloat));
  const Matrix h = to_matrix(at::randn({B, k}, input_gen, at::kFloat));
  const Matrix recon_noise = to_matrix(at::randn({B, options.d()}, input_gen, at::kFloat));
  Bounded x_recon = exact(x);  // elementwise x + 0.1·noise: the same in every float64 path
  for (size_t e = 0; e < x.values.size(); ++e) x_recon.value.values[e] += 0.1 * recon_noise.values[e];
  const Matrix z_stored = rounded(latents.value), other_z_stored = rounded(other_latents.value);
  const Matrix codebook_stored = rounded(codebook.value);

  // The expectations, by their definitions (docs/conform_protocol.md).
  double gap = 0;
  const std::vector<int64_t> indices = nearest(z_stored, codebook_stored, gap);
  EXPECT_GT(gap, 1e-3) << "a row of z is almost as near to two codewords";
  const Matrix z_q_hard = gathered(codebook_stored, indices);
  // ∂/∂codebook of mse(sg z, z_q_hard): 2(c_j − z_i)/(B·k) summed over the rows assigned to j.
  const auto codebook_gradient = [&](const Matrix& z, const Matrix& z_bound) {
    double z_gap = 0;
    const std::vector<int64_t> assigned = nearest(z, codebook_stored, z_gap);
    EXPECT_GT(z_gap, 1e-3);
    const double scale = 2.0 / static_cast<double>(B * k);
    return scatter_sum(
        assigned, codewords, k, [&](int64_t i, int64_t c) { return scale * (codebook_stored(assigned[static_cast<size_t>(i)], c) - z(i, c)); },
        [&](int64_t i, int64_t c) {
          const double c_j = codebook_stored(assigned[static_cast<size_t>(i)], c);
          return scale * (z_bound(i, c) + scalar::subtraction_error(c_j, z(i, c))) +
                 scalar::product_error(scale, c_j - z(i, c));
        });
  };
  const auto [recon, recon_bound] = mean_squared_difference(rounded(x_recon.value), x);
  const auto [commitment, commitment_bound] = mean_squared_difference(z_stored, z_q_hard);
  Matrix losses(4, 1), losses_bound(4, 1);
  losses(1, 0) = recon;
  losses(2, 0) = losses(3, 0) = commitment;
  losses(0, 0) = recon + commitment + beta * commitment;
  losses_bound(1, 0) = recon_bound;
  losses_bound(2, 0) = losses_bound(3, 0) = commitment_bound;
  losses_bound(0, 0) = (recon_bound + commitment_bound == 0) ? 0 : recon_bound + 2 * commitment_bound + 3 * kUnit * losses(0, 0);
  Bounded grad_z_q_hard = exact(z_q_hard);
  for (size_t e = 0; e < z_q_hard.values.size(); ++e) {
    // ATen's mse backward: (z_q_hard − z) · 2/(B·k); 2/32 is a power of two.
    grad_z_q_hard.value.values[e] = (z_q_hard.values[e] - z_stored.values[e]) * (2.0 / static_cast<double>(B * k));
    grad_z_q_hard.bound.values[e] = scalar::subtraction_error(z_q_hard.values[e], z_stored.values[e]);
  }

  const Bounded expected_X = with_bound(data.X, data.bound_X), expected_U = data.U_bounded();
  std::vector<Margins> all;
  int64_t indices_checked = 0;
  for (const std::string& name : list_golden_records(path)) {
    const GoldenRecord stored = read_golden_record(path, conform_golden_schema(), name);
    const std::string kind = std::get<std::string>(stored.attribute("kind"));
    const bool pca_like = kind == "pca" || kind == "legacy";
    // The model runs z = x · U_k itself, in float64, unrounded.
    const std::map<std::string, Bounded> expected{
        {"U_k", exact(U)},
        {"x", exact(x)},
        {"z", exact(pca_like ? other_z_stored : z_stored)},
        {"codebook", exact(codebook_stored)},
        {"g", exact(g)},
        {"h", exact(h)},
        {"x_recon", exact(rounded(x_recon.value))},
        {"z_q", exact(z_q_hard)},
        {"z_q_hard", exact(z_q_hard)},
        {"expected_X", expected_X},
        {"expected_U_k", expected_U},
        {"expected_encoded", scalar::multiply(x, U)},
        {"expected_decoded", scalar::multiply(other_z_stored, scalar::transpose(U))},
        {"expected_z_q_hard", exact(z_q_hard)},
        {"expected_codebook_grad_from_z_q_hard",
         scatter_sum(indices, codewords, k, [&](int64_t i, int64_t c) { return h(i, c); },
                     [](int64_t, int64_t) { return 0.0; })},
        {"expected_losses", Bounded{losses, losses_bound}},
        {"expected_grad_z_q_hard", grad_z_q_hard},
        {"expected_codebook_grad", codebook_gradient(latents.value, latents.bound)},
        {"expected_codebook_grad_z_frozen", codebook_gradient(z_stored, Matrix(B, k))}};
    // The inputs recomputed from their formulas, too (not only copied from the file).
    const std::map<std::string, Bounded> formula{{"z", pca_like ? other_latents : latents},
                                                 {"codebook", codebook},
                                                 {"x", with_bound(rows_of(data.X, 0, B), data.bound_X)},
                                                 {"U_k", expected_U},
                                                 {"x_recon", x_recon}};
    for (const auto& [dataset, tensor] : stored.datasets) {
      if (dataset == "expected_indices") {
        ++indices_checked;
        EXPECT_EQ(std::vector<int64_t>(tensor.data_ptr<int64_t>(), tensor.data_ptr<int64_t>() + tensor.numel()),
                  indices)
            << name;
        continue;
      }
      const auto in_formula = formula.find(dataset), in_expected = expected.find(dataset);
      if (in_formula == formula.end() && in_expected == expected.end()) {
        ADD_FAILURE() << name << "/" << dataset << ": no scalar recomputation for this dataset";
        continue;
      }
      all.push_back(compare(name + "/" + dataset, tensor,
                            in_formula != formula.end() ? in_formula->second : in_expected->second));
    }
  }
  EXPECT_EQ(indices_checked, 6);
  std::cout << "conform_goldens.h5: nearest codewords: the second nearest is at least " << gap * 100
            << " % farther (squared distance) in every row\n";
  report("conform_goldens.h5", all);
}

// The bound that X and U_k carry is measured, not derived: it must stay far below a float32 ulp,
// or the rounding argument above has no room.
TEST(GoldenRounding, TwoFloat64PathsAgreeFarBelowFloat32Resolution) {
  for (const GoldenCaseSpec& spec : golden_case_specs()) {
    const ScalarDataset data = scalar_dataset(
        GaussianDatasetOptions().d(spec.d).k(spec.k).n_samples(spec.n).sigma_noise(spec.sigma_noise).seed(spec.seed));
    std::cout << spec.name << ": library float64 vs scalar float64: X within " << data.bound_X << ", U_k within "
              << data.bound_U << "\n";
    EXPECT_LT(data.bound_X, 1e-12) << spec.name;
    EXPECT_LT(data.bound_U, 1e-12) << spec.name;
  }
}

}  // namespace
}  // namespace vqvae
