// The fused nearest-codeword kernel (src/math/vqvae/math/search_kernel.*): every instruction
// set gives bit-identical answers; indices agree with a float64 search except where the two
// best distances are within the documented relative error (k + 2)·2⁻²⁴ of each other, on random
// and adversarial inputs; ties and duplicates go to the lowest index; NaN and Inf never win.
#include "test_support.h"

#include <vqvae/math/search_kernel.h>
#include <vqvae/search/nearest_codeword.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace vqvae {
namespace {

using kernels::SearchIsa;

struct Problem {
  int64_t B, n, k;
  std::vector<float> z, codebook;  // (B, k), (n, k)
};

struct Answer {
  std::vector<int64_t> indices;
  std::vector<float> distances;
  int64_t bad_row;
};

Answer search(const Problem& p, SearchIsa isa) {
  kernels::PackedCodebook packed;
  kernels::pack_codebook(p.codebook.data(), p.n, p.k, packed);
  Answer answer{std::vector<int64_t>(p.B), std::vector<float>(p.B), 0};
  answer.bad_row = kernels::search_nearest(packed, p.z.data(), p.B, answer.indices.data(),
                                           answer.distances.data(), isa);
  return answer;
}

std::vector<SearchIsa> supported_isas() {
  std::vector<SearchIsa> isas{SearchIsa::scalar};
  if (kernels::best_search_isa() != SearchIsa::scalar) isas.push_back(SearchIsa::avx2);
  if (kernels::best_search_isa() == SearchIsa::avx512) isas.push_back(SearchIsa::avx512);
  return isas;
}

// Exact squared distance of float32 inputs in float64 (differences and squares of float32
// values are exact in float64; only the k-term sum rounds, at 2⁻⁵³).
double exact_distance(const Problem& p, int64_t i, int64_t j) {
  double sum = 0;
  for (int64_t t = 0; t < p.k; ++t) {
    const double diff = static_cast<double>(p.z[i * p.k + t]) - p.codebook[j * p.k + t];
    sum += diff * diff;
  }
  return sum;
}

Problem gaussian(int64_t B, int64_t n, int64_t k, uint32_t seed, double offset = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  Problem p{B, n, k, std::vector<float>(B * k), std::vector<float>(n * k)};
  for (float& v : p.z) v = static_cast<float>(normal(rng) + offset);
  for (float& v : p.codebook) v = static_cast<float>(normal(rng) + offset);
  return p;
}

// Checks every row against the float64 search; returns the number of rows that differ (each
// must be within the bound). Reports the first violation.
int64_t check_against_float64(const Problem& p, const Answer& answer) {
  const double gamma = (p.k + 2) * std::ldexp(1.0, -24) * (1 + 1e-9);
  int64_t differing = 0;
  for (int64_t i = 0; i < p.B; ++i) {
    int64_t reference = 0;
    double reference_distance = exact_distance(p, i, 0);
    for (int64_t j = 1; j < p.n; ++j) {
      const double d = exact_distance(p, i, j);
      if (d < reference_distance) reference_distance = d, reference = j;
    }
    const int64_t chosen = answer.indices[i];
    EXPECT_GE(chosen, 0) << "row " << i;
    if (chosen < 0 || chosen == reference) continue;
    ++differing;
    const double chosen_distance = exact_distance(p, i, chosen);
    EXPECT_LE(chosen_distance - reference_distance, gamma * (chosen_distance + reference_distance))
        << "row " << i << ": kernel chose " << chosen << " (d² " << chosen_distance
        << "), float64 chose " << reference << " (d² " << reference_distance << ")";
  }
  return differing;
}

// The kernels this CPU has, read here independently of best_search_isa(): a machine with AVX2 (and
// FMA) or AVX-512 that lists only the scalar kernel would compare the scalar kernel with itself.
TEST(SearchKernel, TheKernelsComparedAreTheOnesThisCpuHas) {
  std::vector<SearchIsa> expected{SearchIsa::scalar};
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) expected.push_back(SearchIsa::avx2);
  if (__builtin_cpu_supports("avx512f")) expected.push_back(SearchIsa::avx512);
#endif
  std::string names;
  for (const SearchIsa isa : supported_isas()) names += std::string(names.empty() ? "" : ", ") + kernels::to_string(isa);
  std::cout << "kernels compared with the scalar one: " << names << "\n";
  EXPECT_EQ(supported_isas(), expected) << "kernels listed: " << names;
}

// A kernel wider than the CPU's is refused with one line, never narrowed silently; each request
// within what is supported is accepted.
TEST(SearchKernel, AnIsaWiderThanTheCpuIsRefused) {
  EXPECT_TRUE(throws_invalid([] { kernels::check_search_isa(SearchIsa::avx512, SearchIsa::avx2); },
                             {"search_nearest: isa 'avx512' is not supported by this CPU", "widest it supports is 'avx2'"}));
  EXPECT_TRUE(throws_invalid([] { kernels::check_search_isa(SearchIsa::avx2, SearchIsa::scalar); },
                             {"isa 'avx2'", "'scalar'"}));
  for (const SearchIsa supported : {SearchIsa::scalar, SearchIsa::avx2, SearchIsa::avx512})
    for (const SearchIsa requested : {SearchIsa::scalar, SearchIsa::avx2, SearchIsa::avx512})
      if (static_cast<int>(requested) <= static_cast<int>(supported)) {
        EXPECT_NO_THROW(kernels::check_search_isa(requested, supported));
      }
}

TEST(SearchKernel, EveryInstructionSetGivesBitIdenticalAnswers) {
  // Shapes around the blocking: rows in blocks of 8 (AVX-512) or 2 (AVX2), 16 codewords a panel.
  for (const int64_t B : {1, 2, 7, 8, 9, 67})
    for (const int64_t n : {1, 15, 16, 17, 100})
      for (const int64_t k : {1, 3, 8, 64, 100}) {
        const Problem p = gaussian(B, n, k, static_cast<uint32_t>(B * 10007 + n * 101 + k));
        const Answer scalar = search(p, SearchIsa::scalar);
        for (const SearchIsa isa : supported_isas()) {
          const Answer wide = search(p, isa);
          ASSERT_EQ(wide.indices, scalar.indices) << kernels::to_string(isa) << " B=" << B << " n=" << n << " k=" << k;
          ASSERT_EQ(0, std::memcmp(wide.distances.data(), scalar.distances.data(), B * sizeof(float)))
              << kernels::to_string(isa) << " B=" << B << " n=" << n << " k=" << k;
        }
      }
}

TEST(SearchKernel, AgreesWithFloat64OnRandomInputsUpToTheDocumentedTolerance) {
  int64_t rows = 0, differing = 0;
  for (const int64_t k : {1, 8, 64}) {
    const Problem p = gaussian(2000, 300, k, static_cast<uint32_t>(k));
    for (const SearchIsa isa : supported_isas()) differing += check_against_float64(p, search(p, isa));
    rows += p.B * static_cast<int64_t>(supported_isas().size());
  }
  std::cout << "random: " << differing << " of " << rows << " rows differ from float64 (within tolerance)\n";
}

TEST(SearchKernel, AgreesWithFloat64OnAdversarialInputs) {
  int64_t rows = 0, differing = 0;
  const auto run = [&](const Problem& p) {
    for (const SearchIsa isa : supported_isas()) differing += check_against_float64(p, search(p, isa));
    rows += p.B * static_cast<int64_t>(supported_isas().size());
  };
  // Far from the origin: ‖z‖² − 2 z·c + ‖c‖² would cancel 8 digits away; differences do not.
  run(gaussian(500, 200, 8, 11, /*offset=*/1e4));
  // Near-ties: codewords that differ from one centre by a few float32 ulps, queries at the centre
  // plus a few ulps: the two best distances are often within rounding of each other.
  for (const int64_t k : {2, 8, 64}) {
    std::mt19937 rng(static_cast<uint32_t>(k));
    std::uniform_int_distribution<int> ulps(-4, 4);
    std::normal_distribution<float> normal;
    Problem p{400, 64, k, std::vector<float>(400 * k), std::vector<float>(64 * k)};
    std::vector<float> centre(k);
    for (float& v : centre) v = normal(rng);
    const auto near = [&](float v) {
      float out = v;
      for (int s = ulps(rng); s != 0; s += s > 0 ? -1 : 1)
        out = std::nextafter(out, s > 0 ? INFINITY : -INFINITY);
      return out;
    };
    for (int64_t j = 0; j < p.n; ++j)
      for (int64_t t = 0; t < k; ++t) p.codebook[j * k + t] = near(centre[t]);
    for (int64_t i = 0; i < p.B; ++i)
      for (int64_t t = 0; t < k; ++t) p.z[i * k + t] = near(centre[t]) + 1e-3f * normal(rng);
    run(p);
  }
  // Queries exactly midway between two codewords (exact ties in exact arithmetic).
  {
    Problem p = gaussian(300, 50, 8, 12);
    for (int64_t i = 0; i < p.B; ++i)
      for (int64_t t = 0; t < p.k; ++t)
        p.z[i * p.k + t] = 0.5f * (p.codebook[(i % 50) * p.k + t] + p.codebook[((i + 1) % 50) * p.k + t]);
    run(p);
  }
  std::cout << "adversarial: " << differing << " of " << rows
            << " rows differ from float64 (within tolerance)\n";
}

TEST(SearchKernel, TiesAndDuplicatesGoToTheLowestIndexInEveryLaneAndPanel) {
  // Small integers: every operation is exact, so equal distances are exactly equal.
  // n = 40 codewords over three panels; codeword j = (j mod 5, 0): each value repeats 8 times,
  // in different lanes and panels; the lowest index of value v is v itself.
  const int64_t n = 40, k = 2;
  Problem p{0, n, k, {}, std::vector<float>(n * k, 0.0f)};
  for (int64_t j = 0; j < n; ++j) p.codebook[j * k] = static_cast<float>(j % 5);
  // Queries at each value (nearest: duplicates -> lowest index v) and midway between values
  // (v + 0.5: tie between v and v + 1 -> v).
  for (int v = 0; v < 5; ++v) p.z.insert(p.z.end(), {static_cast<float>(v), 0.0f});
  for (int v = 0; v < 4; ++v) p.z.insert(p.z.end(), {v + 0.5f, 0.0f});
  p.B = static_cast<int64_t>(p.z.size()) / k;
  const std::vector<int64_t> expected{0, 1, 2, 3, 4, 0, 1, 2, 3};
  for (const SearchIsa isa : supported_isas())
    EXPECT_EQ(search(p, isa).indices, expected) << kernels::to_string(isa);
}

TEST(SearchKernel, NanAndInfNeverWinAndRowsWithoutAFiniteDistanceAreReported) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // Codewords: (NaN, 0), (inf, 0), (5, 0), (1, 0) -> finite rows always pick 3 or 2.
  Problem p{4, 4, 2, {0.5f, 0, 4.5f, 0, nan, 0, 2, inf}, {nan, 0, inf, 0, 5, 0, 1, 0}};
  for (const SearchIsa isa : supported_isas()) {
    const Answer answer = search(p, isa);
    EXPECT_EQ(answer.indices, (std::vector<int64_t>{3, 2, -1, -1})) << kernels::to_string(isa);
    EXPECT_EQ(answer.bad_row, 2) << kernels::to_string(isa);
    EXPECT_EQ(answer.distances[0], 0.25f);  // (0.5 - 1)², exact
  }
  EXPECT_TRUE(testing::throws_invalid(
      [&] {
        nearest_codeword(at::tensor(p.z).reshape({4, 2}), at::tensor(p.codebook).reshape({4, 2}));
      },
      {"z row 2", "NaN or Inf"}));
}

TEST(SearchKernel, NearestCodewordGivesTheSameIndicesWithMoreThreads) {
  const Problem p = gaussian(5000, 300, 8, 13);
  const at::Tensor z = at::tensor(p.z).reshape({p.B, p.k}), codebook = at::tensor(p.codebook).reshape({p.n, p.k});
  const int threads = at::get_num_threads();
  const at::Tensor one = nearest_codeword(z, codebook);
  at::set_num_threads(2);
  const at::Tensor two = nearest_codeword(z, codebook);
  // Rows without a finite distance in both threads' halves: the first one is named.
  at::Tensor broken = z.clone();
  broken[4000][0] = NAN;
  broken[600][1] = INFINITY;
  EXPECT_TRUE(testing::throws_invalid([&] { nearest_codeword(broken, codebook); }, {"z row 600 "}));
  at::set_num_threads(threads);
  EXPECT_TRUE(at::equal(one, two));
  EXPECT_EQ(std::vector<int64_t>(one.data_ptr<int64_t>(), one.data_ptr<int64_t>() + p.B),
            search(p, kernels::best_search_isa()).indices);
}

}  // namespace
}  // namespace vqvae
