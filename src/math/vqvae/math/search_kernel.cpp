// The fused nearest-codeword kernel (see search_kernel.h). Three implementations of the same
// loop, chosen once at run time: AVX-512 (16 codewords per register), AVX2 + FMA (two registers
// of 8), and portable scalar code. The library is built for the baseline x86-64 ISA, so the wide
// versions are compiled per function with __attribute__((target)) and only called when the CPU
// reports the instructions.
//
// Why differences and not the ‖z‖² − 2 z·c + ‖c‖² expansion: each (row, codeword, dimension)
// costs one subtract and one fused multiply-add; on CPUs whose add and FMA pipes are separate
// (AMD Zen 4 here) that is the same throughput as the expansion's single FMA, while the sum of
// non-negative squares keeps a small relative error bound (no cancellation), equal codewords give
// bit-equal distances, and nothing of size B x n is ever stored.
#include <vqvae/math/search_kernel.h>

#include <vqvae/core/errors.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VQVAE_X86_KERNELS 1
#if !defined(__clang__)
// GCC 12 warns inside its own AVX-512 reduction intrinsics (_mm512_undefined_*): a false alarm.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace vqvae::kernels {
namespace {

constexpr int64_t kLanes = PackedCodebook::kLanes;

// ---------------------------------------------------------------- portable scalar version
int64_t search_scalar(const PackedCodebook& codebook, const float* z, int64_t rows,
                      int64_t* indices, float* best_distances) {
  const int64_t k = codebook.k, panels = (codebook.n + kLanes - 1) / kLanes;
  int64_t bad_row = -1;
  for (int64_t i = 0; i < rows; ++i) {
    const float* zi = z + i * k;
    float best = std::numeric_limits<float>::infinity();
    int64_t best_j = -1;
    for (int64_t p = 0; p < panels; ++p) {
      const float* panel = codebook.panels.data() + p * k * kLanes;
      for (int64_t lane = 0; lane < kLanes; ++lane) {
        float distance = 0;
        for (int64_t t = 0; t < k; ++t) {
          const float diff = panel[t * kLanes + lane] - zi[t];
          distance = std::fma(diff, diff, distance);
        }
        if (distance < best) {  // strict, and false for NaN: the first of equal distances wins
          best = distance;
          best_j = p * kLanes + lane;
        }
      }
    }
    indices[i] = best_j;
    if (best_distances) best_distances[i] = best;
    if (best_j < 0 && bad_row < 0) bad_row = i;
  }
  return bad_row;
}

#ifdef VQVAE_X86_KERNELS
// ---------------------------------------------------------------- AVX-512
// R rows of z against every panel; per row a running (best distance, best index) per lane, then
// one reduction across the 16 lanes: the smallest distance, and among lanes holding it the
// smallest index (within a lane the strict < already kept the first). K > 0: k known at compile
// time (the dimension loop fully unrolled); K == 0: k at run time.
template <int R, int K>
__attribute__((target("avx512f"))) void rows_avx512(const float* panels, int64_t n_panels,
                                                    int64_t k_runtime, const float* z,
                                                    int64_t* indices, float* best_distances) {
  const int64_t k = K > 0 ? K : k_runtime;
  __m512 best[R];
  __m512i best_index[R];
  for (int r = 0; r < R; ++r) {
    best[r] = _mm512_set1_ps(std::numeric_limits<float>::infinity());
    best_index[r] = _mm512_set1_epi32(-1);
  }
  __m512i lane_index = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_set1_epi32(static_cast<int>(kLanes));
  const float* panel = panels;
  for (int64_t p = 0; p < n_panels; ++p, panel += k * kLanes) {
    // Hide z's address from the optimiser so it cannot hoist the R·k broadcasts out of the panel
    // loop: they do not fit in registers, and spilled they become full 64-byte reloads; as
    // embedded broadcasts ({1to16} memory operands) they cost one 4-byte load each.
    const float* zb = z;
    __asm__("" : "+r"(zb));
    __m512 acc[R];
    {
      const __m512 c = _mm512_loadu_ps(panel);
      for (int r = 0; r < R; ++r) {
        const __m512 diff = _mm512_sub_ps(c, _mm512_set1_ps(zb[r * k]));
        acc[r] = _mm512_mul_ps(diff, diff);
      }
    }
    if (K > 0) {
#pragma GCC unroll 64
      for (int t = 1; t < K; ++t) {
        const __m512 c = _mm512_loadu_ps(panel + t * kLanes);
        for (int r = 0; r < R; ++r) {
          const __m512 diff = _mm512_sub_ps(c, _mm512_set1_ps(zb[r * K + t]));
          acc[r] = _mm512_fmadd_ps(diff, diff, acc[r]);
        }
      }
    } else {
      for (int64_t t = 1; t < k; ++t) {
        const __m512 c = _mm512_loadu_ps(panel + t * kLanes);
        for (int r = 0; r < R; ++r) {
          const __m512 diff = _mm512_sub_ps(c, _mm512_set1_ps(zb[r * k + t]));
          acc[r] = _mm512_fmadd_ps(diff, diff, acc[r]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      // Integer view: a distance is +0, positive, +Inf or NaN (of either sign), never negative
      // or -0, so as unsigned 32-bit integers the bits order like the floats with every NaN
      // above +Inf: unsigned acc < best is exactly the float acc < best (false for NaN), and
      // the unsigned minimum is exactly the kept value. Measured 3-7 % faster at k = 8 than the
      // float compare and masked move (docs/bench.md, "How"): the FMA pipes are the busy ones.
      const __m512i a = _mm512_castps_si512(acc[r]), b = _mm512_castps_si512(best[r]);
      const __mmask16 closer = _mm512_cmplt_epu32_mask(a, b);
      best[r] = _mm512_castsi512_ps(_mm512_min_epu32(a, b));
      best_index[r] = _mm512_mask_mov_epi32(best_index[r], closer, lane_index);
    }
    lane_index = _mm512_add_epi32(lane_index, step);
  }
  for (int r = 0; r < R; ++r) {
    // The kept distances are +0, positive or +Inf (never NaN, never -0), so their bits order like
    // the floats: (distance bits, index) as one unsigned 64-bit key orders by distance, then by
    // index. A lane never updated holds (+Inf, -1 = 0xffffffff), above every updated lane.
    const __m512i bits = _mm512_castps_si512(best[r]);
    const __m512i key = _mm512_min_epu64(_mm512_unpacklo_epi32(best_index[r], bits),
                                         _mm512_unpackhi_epi32(best_index[r], bits));
    const uint64_t smallest = _mm512_reduce_min_epu64(key);
    const uint32_t distance_bits = static_cast<uint32_t>(smallest >> 32);
    float minimum;
    std::memcpy(&minimum, &distance_bits, sizeof minimum);
    indices[r] = minimum < std::numeric_limits<float>::infinity()
                     ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(smallest)))
                     : -1;
    if (best_distances) best_distances[r] = minimum;
  }
}

// ---------------------------------------------------------------- AVX2 + FMA
// The same loop with each 16-codeword panel as two 8-float registers (16 ymm registers only).
template <int R>
__attribute__((target("avx2,fma"))) void rows_avx2(const float* panels, int64_t n_panels,
                                                   int64_t k, const float* z, int64_t* indices,
                                                   float* best_distances) {
  __m256 best[R][2];
  __m256i best_index[R][2];
  for (int r = 0; r < R; ++r)
    for (int h = 0; h < 2; ++h) {
      best[r][h] = _mm256_set1_ps(std::numeric_limits<float>::infinity());
      best_index[r][h] = _mm256_set1_epi32(-1);
    }
  __m256i lane_index[2] = {_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                           _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15)};
  const __m256i step = _mm256_set1_epi32(static_cast<int>(kLanes));
  for (int64_t p = 0; p < n_panels; ++p) {
    const float* panel = panels + p * k * kLanes;
    __m256 acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t t = 0; t < k; ++t) {
      const __m256 c0 = _mm256_loadu_ps(panel + t * kLanes);
      const __m256 c1 = _mm256_loadu_ps(panel + t * kLanes + 8);
      for (int r = 0; r < R; ++r) {
        const __m256 zt = _mm256_set1_ps(z[r * k + t]);
        const __m256 d0 = _mm256_sub_ps(c0, zt), d1 = _mm256_sub_ps(c1, zt);
        acc[r][0] = _mm256_fmadd_ps(d0, d0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(d1, d1, acc[r][1]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int h = 0; h < 2; ++h) {
        const __m256 closer = _mm256_cmp_ps(acc[r][h], best[r][h], _CMP_LT_OQ);
        best[r][h] = _mm256_blendv_ps(best[r][h], acc[r][h], closer);
        best_index[r][h] = _mm256_castps_si256(_mm256_blendv_ps(
            _mm256_castsi256_ps(best_index[r][h]), _mm256_castsi256_ps(lane_index[h]), closer));
      }
    lane_index[0] = _mm256_add_epi32(lane_index[0], step);
    lane_index[1] = _mm256_add_epi32(lane_index[1], step);
  }
  for (int r = 0; r < R; ++r) {
    alignas(32) float distance[16];
    alignas(32) int32_t index[16];
    _mm256_store_ps(distance, best[r][0]);
    _mm256_store_ps(distance + 8, best[r][1]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(index), best_index[r][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(index + 8), best_index[r][1]);
    float minimum = std::numeric_limits<float>::infinity();
    int64_t chosen = -1;
    for (int lane = 0; lane < 16; ++lane)
      if (index[lane] >= 0 && (distance[lane] < minimum ||
                               (distance[lane] == minimum && index[lane] < chosen))) {
        minimum = distance[lane];
        chosen = index[lane];
      }
    indices[r] = chosen;
    if (best_distances) best_distances[r] = minimum;
  }
}

// Rows in blocks of R (the codebook panel is loaded once per block), the remainder one by one.
template <int R, void (*Block)(const float*, int64_t, int64_t, const float*, int64_t*, float*),
          void (*Single)(const float*, int64_t, int64_t, const float*, int64_t*, float*)>
int64_t search_blocked(const PackedCodebook& codebook, const float* z, int64_t rows,
                       int64_t* indices, float* best_distances) {
  const int64_t k = codebook.k, n_panels = (codebook.n + kLanes - 1) / kLanes;
  const float* panels = codebook.panels.data();
  int64_t i = 0;
  for (; i + R <= rows; i += R)
    Block(panels, n_panels, k, z + i * k, indices + i, best_distances ? best_distances + i : nullptr);
  for (; i < rows; ++i)
    Single(panels, n_panels, k, z + i * k, indices + i, best_distances ? best_distances + i : nullptr);
  for (int64_t row = 0; row < rows; ++row)
    if (indices[row] < 0) return row;
  return -1;
}
#endif  // VQVAE_X86_KERNELS

SearchIsa detect_isa() {
#ifdef VQVAE_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return SearchIsa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SearchIsa::avx2;
#endif
  return SearchIsa::scalar;
}

}  // namespace

void pack_codebook(const float* codebook, int64_t n, int64_t k, PackedCodebook& packed) {
  const int64_t n_panels = (n + kLanes - 1) / kLanes;
  packed.n = n;
  packed.k = k;
  packed.panels.resize(static_cast<size_t>(n_panels * k * kLanes));
  float* out = packed.panels.data();
  for (int64_t p = 0; p < n_panels; ++p)
    for (int64_t t = 0; t < k; ++t)
      for (int64_t lane = 0; lane < kLanes; ++lane) {
        const int64_t j = p * kLanes + lane;
        *out++ = j < n ? codebook[j * k + t] : std::numeric_limits<float>::quiet_NaN();
      }
}

SearchIsa best_search_isa() {
  static const SearchIsa isa = detect_isa();
  return isa;
}

const char* to_string(SearchIsa isa) {
  switch (isa) {
    case SearchIsa::avx512: return "avx512";
    case SearchIsa::avx2: return "avx2";
    default: return "scalar";
  }
}

int64_t search_nearest(const PackedCodebook& codebook, const float* z, int64_t rows,
                       int64_t* indices, float* best_distances) {
  return search_nearest(codebook, z, rows, indices, best_distances, best_search_isa());
}

void check_search_isa(SearchIsa requested, SearchIsa supported) {
  if (static_cast<int>(requested) > static_cast<int>(supported))
    throw_invalid_argument("search_nearest", std::string("isa '") + to_string(requested) +
                                                 "' is not supported by this CPU (the widest it supports is '" +
                                                 to_string(supported) + "')");
}

int64_t search_nearest(const PackedCodebook& codebook, const float* z, int64_t rows,
                       int64_t* indices, float* best_distances, SearchIsa isa) {
  check_search_isa(isa, best_search_isa());
  switch (isa) {
#ifdef VQVAE_X86_KERNELS
    case SearchIsa::avx512:
      switch (codebook.k) {
        case 8:
          return search_blocked<8, rows_avx512<8, 8>, rows_avx512<1, 8>>(codebook, z, rows,
                                                                       indices, best_distances);
        case 64:
          return search_blocked<8, rows_avx512<8, 64>, rows_avx512<1, 64>>(codebook, z, rows,
                                                                       indices, best_distances);
        default:
          return search_blocked<8, rows_avx512<8, 0>, rows_avx512<1, 0>>(codebook, z, rows,
                                                                       indices, best_distances);
      }
    case SearchIsa::avx2:
      return search_blocked<2, rows_avx2<2>, rows_avx2<1>>(codebook, z, rows, indices,
                                                            best_distances);
#endif
    default:
      return search_scalar(codebook, z, rows, indices, best_distances);
  }
}

int64_t search_nearest_parallel(const PackedCodebook& codebook, const float* z, int64_t rows,
                                int64_t* indices, int threads) {
  // Blocks of 256 rows (the work of 256·n·k distance terms) keep the threads' share even.
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  if (threads < 1) threads = 1;
  if (threads > blocks) threads = static_cast<int>(std::max<int64_t>(1, blocks));
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  int64_t first_bad_row = kNone;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(min : first_bad_row) if (threads > 1)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t begin = block * kBlock, count = std::min(kBlock, rows - begin);
    const int64_t bad = search_nearest(codebook, z + begin * codebook.k, count, indices + begin);
    if (bad >= 0) first_bad_row = std::min(first_bad_row, begin + bad);
  }
  return first_bad_row == kNone ? -1 : first_bad_row;
}

}  // namespace vqvae::kernels
