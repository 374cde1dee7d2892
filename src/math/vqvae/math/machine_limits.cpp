#include <vqvae/math/machine_limits.h>

#include <vqvae/core/errors.h>

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace vqvae::kernels {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kAccumulators = 12;
constexpr int64_t kIterations = 1 << 20;  // per timed call of one thread

// Each returns the FMAs' flops of one call; the accumulators' sum goes to `sink` so that the
// loop is not optimised away.
__attribute__((target("avx512f"))) double fma_avx512(float* sink) {
  __m512 acc[kAccumulators];
  for (int a = 0; a < kAccumulators; ++a) acc[a] = _mm512_set1_ps(0.001f * static_cast<float>(a));
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < kIterations; ++i)
    for (int a = 0; a < kAccumulators; ++a) acc[a] = _mm512_fmadd_ps(acc[a], x, y);
  __m512 total = acc[0];
  for (int a = 1; a < kAccumulators; ++a) total = _mm512_add_ps(total, acc[a]);
  *sink += _mm512_reduce_add_ps(total);
  return 2.0 * 16 * kAccumulators * static_cast<double>(kIterations);
}

__attribute__((target("avx2,fma"))) double fma_avx2(float* sink) {
  __m256 acc[kAccumulators];
  for (int a = 0; a < kAccumulators; ++a) acc[a] = _mm256_set1_ps(0.001f * static_cast<float>(a));
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < kIterations; ++i)
    for (int a = 0; a < kAccumulators; ++a) acc[a] = _mm256_fmadd_ps(acc[a], x, y);
  alignas(32) float lanes[8];
  __m256 total = acc[0];
  for (int a = 1; a < kAccumulators; ++a) total = _mm256_add_ps(total, acc[a]);
  _mm256_store_ps(lanes, total);
  for (float v : lanes) *sink += v;
  return 2.0 * 8 * kAccumulators * static_cast<double>(kIterations);
}

// One float per FMA: the scalar search's rate limit. target("fma") so that the compiler emits
// vfmadd*ss rather than a library call.
__attribute__((target("fma"))) double fma_scalar(float* sink) {
  float acc[kAccumulators];
  for (int a = 0; a < kAccumulators; ++a) acc[a] = 0.001f * static_cast<float>(a);
  const float x = 0.999999f, y = 1e-7f;
  for (int64_t i = 0; i < kIterations; ++i)
    for (int a = 0; a < kAccumulators; ++a) acc[a] = __builtin_fmaf(acc[a], x, y);
  for (int a = 0; a < kAccumulators; ++a) *sink += acc[a];
  return 2.0 * kAccumulators * static_cast<double>(kIterations);
}

void check_threads(int threads, const char* where) {
  if (threads < 1) throw_invalid_argument(where, "threads must be >= 1, got " + std::to_string(threads));
}

}  // namespace

double fma_peak_gflops(SearchIsa isa, int threads, double min_seconds) {
  check_search_isa(isa, best_search_isa());
  check_threads(threads, "fma_peak_gflops");
  double (*loop)(float*) = isa == SearchIsa::avx512 ? fma_avx512 : isa == SearchIsa::avx2 ? fma_avx2 : fma_scalar;
  std::vector<float> sinks(static_cast<size_t>(threads) * 16, 0.0f);  // one cache line per thread
  double best = 0;
  const Clock::time_point start = Clock::now();
  do {
    double flops = 0;
    const Clock::time_point t0 = Clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : flops)
    flops += loop(&sinks[static_cast<size_t>(omp_get_thread_num()) * 16]);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, flops / seconds / 1e9);
  } while (std::chrono::duration<double>(Clock::now() - start).count() < min_seconds);
  return best;
}

double triad_bandwidth_gbs(int64_t bytes_per_array, int threads, double min_seconds) {
  if (bytes_per_array < 64)
    throw_invalid_argument("triad_bandwidth_gbs", "bytes_per_array must be >= 64, got " + std::to_string(bytes_per_array));
  check_threads(threads, "triad_bandwidth_gbs");
  const int64_t count = bytes_per_array / static_cast<int64_t>(sizeof(float));
  std::vector<float> a(static_cast<size_t>(count), 0.0f), b(static_cast<size_t>(count), 1.0f),
      c(static_cast<size_t>(count), 2.0f);
  float* pa = a.data();
  const float *pb = b.data(), *pc = c.data();
  const float s = 0.5f;
  // Small arrays run many passes per timed call, so the clock's cost stays negligible.
  const int64_t passes = std::max<int64_t>(1, (int64_t{1} << 24) / count);
  double best = 0;
  const Clock::time_point start = Clock::now();
  do {
    const Clock::time_point t0 = Clock::now();
    // One parallel region for every pass (each thread keeps its slice: static schedule), so that
    // small arrays measure the cache, not the start of a region per pass.
#pragma omp parallel num_threads(threads)
    for (int64_t p = 0; p < passes; ++p) {
#pragma omp for schedule(static)
      for (int64_t i = 0; i < count; ++i) pa[i] = pb[i] + s * pc[i];
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, 3.0 * static_cast<double>(bytes_per_array) * static_cast<double>(passes) / seconds / 1e9);
  } while (std::chrono::duration<double>(Clock::now() - start).count() < min_seconds);
  return best;
}

}  // namespace vqvae::kernels
