// The fused training step's arithmetic (training/fused_step.h); fused_kernels.h says what each
// kernel computes.
//
// Raw loops over row-major float32 buffers, vectorized through GCC/Clang vector extensions
// (elementwise, so the width changes no rounding) with no contraction into fused multiply-adds
// and no reassociation: every instruction-set clone below returns the same bits as the portable
// one. On x86-64 with GCC or Clang each kernel is compiled for
// AVX-512, AVX2 and the baseline and picked at load time (the build itself stays portable).
#include <vqvae/math/fused_kernels.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off", "no-math-errno")  // sqrt of v >= 0: no errno to set
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__linux__)
#define VQVAE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VQVAE_CLONES
#endif

namespace vqvae::kernels {
namespace {

constexpr int64_t kLanes = kFusedLanes;  // floats per vector: one AVX-512 register, 2 AVX2, 4 SSE

// GCC/Clang vector extensions: 16 floats, lowered to whatever width the clone targets. Loads and
// stores go through memcpy (any alignment), always inlined into the clones (so GCC's note that a
// 64-byte vector's calling convention depends on AVX-512, -Wpsabi, concerns no real call).
typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));

__attribute__((always_inline)) inline Vec load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

__attribute__((always_inline)) inline void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }

}  // namespace

/// out (rows, p): out_ij = Σ_s a_is w_js (+ bias_j), a (rows, m), w (p, m). Blocks of kLanes
/// rows are transposed into `scratch` (m · kLanes floats), so that the kLanes dot products of a
/// block run down vector lanes, in two partial sums (even and odd s) added at the end: no
/// horizontal reductions.
VQVAE_CLONES void dot_rows(const float* a, int64_t rows, int64_t m, const float* w, int64_t p,
                           const float* bias, float* out, float* scratch) {
  for (int64_t i0 = 0; i0 < rows; i0 += kLanes) {
    const int64_t block = std::min(kLanes, rows - i0);
    for (int64_t l = 0; l < kLanes; ++l) {
      const float* row = a + (i0 + std::min(l, block - 1)) * m;  // past the end: repeat a row
      for (int64_t s = 0; s < m; ++s) scratch[s * kLanes + l] = row[s];
    }
    for (int64_t j = 0; j < p; ++j) {
      const float* wj = w + j * m;
      Vec even = {}, odd = {};
      int64_t s = 0;
      for (; s + 2 <= m; s += 2) {
        even += load(scratch + s * kLanes) * wj[s];
        odd += load(scratch + (s + 1) * kLanes) * wj[s + 1];
      }
      if (s < m) even += load(scratch + s * kLanes) * wj[s];
      Vec sum = even + odd;
      if (bias) sum += bias[j];
      for (int64_t l = 0; l < block; ++l) out[(i0 + l) * p + j] = sum[l];
    }
  }
}

/// out (rows, p): out_i = Σ_t a_it M_t (+ bias) (− minus_i), a (rows, m), M (m, p), minus
/// (rows, p) or null. Columns in blocks of kLanes, each summed in a register over t.
VQVAE_CLONES void combine_rows(const float* a, int64_t rows, int64_t m, const float* M, int64_t p,
                               const float* bias, const float* minus, float* out) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* ai = a + i * m;
    int64_t j0 = 0;
    for (; j0 + kLanes <= p; j0 += kLanes) {
      Vec sum = {};
      for (int64_t t = 0; t < m; ++t) sum += ai[t] * load(M + t * p + j0);
      if (bias) sum += load(bias + j0);
      if (minus) sum -= load(minus + i * p + j0);
      store(out + i * p + j0, sum);
    }
    for (int64_t j = j0; j < p; ++j) {  // the last p mod kLanes columns, in the same order
      float sum = 0.0f;
      for (int64_t t = 0; t < m; ++t) sum += ai[t] * M[t * p + j];
      if (bias) sum += bias[j];
      if (minus) sum -= minus[i * p + j];
      out[i * p + j] = sum;
    }
  }
}

/// out (m, p) += Σ_i a_iᵀ b_i, a (rows, m), b (rows, p): for each (t, column block), four
/// partial sums over rows i mod 4, added pairwise, then onto out.
VQVAE_CLONES void accumulate_outer(const float* a, const float* b, int64_t rows, int64_t m,
                                   int64_t p, float* out) {
  for (int64_t t = 0; t < m; ++t) {
    int64_t j0 = 0;
    for (; j0 + kLanes <= p; j0 += kLanes) {
      Vec part[4] = {};
      int64_t i = 0;
      for (; i + 4 <= rows; i += 4)
        for (int64_t u = 0; u < 4; ++u) part[u] += a[(i + u) * m + t] * load(b + (i + u) * p + j0);
      for (int64_t u = 0; i + u < rows; ++u) part[u] += a[(i + u) * m + t] * load(b + (i + u) * p + j0);
      store(out + t * p + j0, load(out + t * p + j0) + ((part[0] + part[1]) + (part[2] + part[3])));
    }
    for (int64_t j = j0; j < p; ++j) {
      float part[4] = {};
      int64_t i = 0;
      for (; i + 4 <= rows; i += 4)
        for (int64_t u = 0; u < 4; ++u) part[u] += a[(i + u) * m + t] * b[(i + u) * p + j];
      for (int64_t u = 0; i + u < rows; ++u) part[u] += a[(i + u) * m + t] * b[(i + u) * p + j];
      out[t * p + j] += (part[0] + part[1]) + (part[2] + part[3]);
    }
  }
}

/// out (p) = Σ_i a_i, a (rows, p), rows in order.
VQVAE_CLONES void sum_rows(const float* a, int64_t rows, int64_t p, float* out) {
  for (int64_t j = 0; j < p; ++j) out[j] = 0.0f;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < p; ++j) out[j] += a[i * p + j];
}

/// Σ v_i² in float64, in 8 partial sums, then pairwise.
VQVAE_CLONES double sum_squares(const float* v, int64_t count) {
  constexpr int64_t L = 8;
  double lanes[L] = {};
  int64_t i = 0;
  for (; i + L <= count; i += L)
    for (int64_t l = 0; l < L; ++l) {
      const double x = v[i + l];
      lanes[l] += x * x;
    }
  for (int64_t l = 0; i + l < count; ++l) {
    const double x = v[i + l];
    lanes[l] += x * x;
  }
  for (int64_t width = L / 2; width >= 1; width /= 2)
    for (int64_t l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  return lanes[0];
}

/// v *= factor.
VQVAE_CLONES void scale(float* v, int64_t count, float factor) {
  for (int64_t i = 0; i < count; ++i) v[i] *= factor;
}

/// out (p, m) = aᵀ, a (m, p).
void transpose(const float* a, int64_t m, int64_t p, float* out) {
  for (int64_t t = 0; t < m; ++t)
    for (int64_t j = 0; j < p; ++j) out[j * m + t] = a[t * p + j];
}

/// LibTorch 1.13's Adam step for one parameter (no weight decay, no amsgrad), element by
/// element as exp_avg.mul_(β1).add_(g, 1−β1); exp_avg_sq.mul_(β2).addcmul_(g, g, 1−β2);
/// denom = sqrt(exp_avg_sq) / sqrt(bc2) + eps; p.addcdiv_(exp_avg, denom, −lr/bc1), with the
/// scalars rounded to float32 as ATen does for a float32 tensor.
VQVAE_CLONES void adam_update(float* p, const float* g, float* m, float* v, int64_t count,
                              float beta1, float one_minus_beta1, float beta2,
                              float one_minus_beta2, float sqrt_bc2, float eps, float neg_step) {
  for (int64_t i = 0; i < count; ++i) {
    m[i] = m[i] * beta1 + g[i] * one_minus_beta1;
    v[i] = v[i] * beta2 + one_minus_beta2 * g[i] * g[i];
    // The builtin, not std::sqrt: that one is compiled with errno handling outside this
    // section and would stay an out-of-line call, blocking vectorization.
    const float denom = __builtin_sqrtf(v[i]) / sqrt_bc2 + eps;
    p[i] = p[i] + neg_step * (m[i] / denom);
  }
}

/// LibTorch 1.13's SGD step (no weight decay, dampening or Nesterov): with momentum,
/// buf = g on the first step (first = true), else buf = momentum·buf + g; p += −lr·buf.
/// Without momentum (buf null): p += −lr·g.
VQVAE_CLONES void sgd_update(float* p, const float* g, float* buf, int64_t count, bool first,
                             float momentum, float neg_lr) {
  if (!buf) {
    for (int64_t i = 0; i < count; ++i) p[i] = p[i] + neg_lr * g[i];
    return;
  }
  for (int64_t i = 0; i < count; ++i) {
    buf[i] = first ? g[i] : buf[i] * momentum + g[i] * 1.0f;
    p[i] = p[i] + neg_lr * buf[i];
  }
}

/// The rotation trick's ∂L/∂z for rows (rows, k), in float64 exactly as rotation_frame and
/// rotation_trick_gradient (quantizers/rotation_vq.cpp) define it, degenerate cases included:
/// z = 0 (‖z‖ ≤ 1e-12·max(1, ‖q‖)): g; q = 0: 0; ê = −q̂ (‖ê + q̂‖ ≤ 1e-8): r = the axis least
/// aligned with ê (first of equals), orthogonalised, or 0 when that fails (k = 1).
/// work: 3k doubles.
void rotation_gradient(const float* z, const float* q, const float* g, int64_t rows, int64_t k,
                       double* work, float* out) {
  double* e = work;
  double* q_hat = work + k;
  double* r = work + 2 * k;
  for (int64_t i = 0; i < rows; ++i) {
    const float* zi = z + i * k;
    const float* qi = q + i * k;
    const float* gi = g + i * k;
    float* oi = out + i * k;
    double z_norm = 0, q_norm = 0;
    for (int64_t t = 0; t < k; ++t) {
      z_norm += static_cast<double>(zi[t]) * zi[t];
      q_norm += static_cast<double>(qi[t]) * qi[t];
    }
    z_norm = std::sqrt(z_norm);
    q_norm = std::sqrt(q_norm);
    if (z_norm <= 1e-12 * std::max(q_norm, 1.0)) {  // z = 0: λ = 1, R = I
      for (int64_t t = 0; t < k; ++t) oi[t] = gi[t];
      continue;
    }
    const bool q_is_zero = q_norm == 0;
    double sum_norm = 0;
    for (int64_t t = 0; t < k; ++t) {
      e[t] = zi[t] / std::max(z_norm, 1e-300);
      q_hat[t] = q_is_zero ? 0.0 : qi[t] / std::max(q_norm, 1e-300);
      r[t] = e[t] + q_hat[t];
      sum_norm += r[t] * r[t];
    }
    sum_norm = std::sqrt(sum_norm);
    if (sum_norm <= 1e-8 && !q_is_zero) {  // ê = −q̂: rotate by π about the least aligned axis
      int64_t axis = 0;
      for (int64_t t = 1; t < k; ++t)
        if (std::abs(e[t]) < std::abs(e[axis])) axis = t;
      double ortho_norm = 0;
      for (int64_t t = 0; t < k; ++t) {
        r[t] = (t == axis ? 1.0 : 0.0) - e[t] * e[axis];
        ortho_norm += r[t] * r[t];
      }
      ortho_norm = std::sqrt(ortho_norm);
      for (int64_t t = 0; t < k; ++t)
        r[t] = ortho_norm > 1e-6 ? r[t] / std::max(ortho_norm, 1e-300) : 0.0;
    } else {
      for (int64_t t = 0; t < k; ++t) r[t] /= std::max(sum_norm, 1e-300);
    }
    const double lambda = q_norm / std::max(z_norm, 1e-300);
    double r_g = 0, q_g = 0;
    for (int64_t t = 0; t < k; ++t) {
      r_g += r[t] * gi[t];
      q_g += q_hat[t] * gi[t];
    }
    for (int64_t t = 0; t < k; ++t)  // λ (g − 2 r (r·g) + 2 ê (q̂·g))
      oi[t] = static_cast<float>(lambda * (gi[t] - 2 * r[t] * r_g + 2 * e[t] * q_g));
  }
}

/// The projection estimator's ∂L/∂z: (g·u) u, u = (q − z)/max(‖q − z‖, 1e-8), float32 as
/// projection_gradient computes it (norm and dot accumulated in float64, then rounded).
/// diff (rows, k) = q − z.
void projection_gradient(const float* diff, const float* g, int64_t rows, int64_t k, float* out) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* di = diff + i * k;
    const float* gi = g + i * k;
    float* oi = out + i * k;
    double norm = 0;
    for (int64_t t = 0; t < k; ++t) norm += static_cast<double>(di[t]) * di[t];
    const float clamped = std::max(static_cast<float>(std::sqrt(norm)), 1e-8f);
    double dot = 0;
    for (int64_t t = 0; t < k; ++t) {
      oi[t] = di[t] / clamped;  // u
      dot += static_cast<double>(gi[t]) * oi[t];
    }
    const float along = static_cast<float>(dot);
    for (int64_t t = 0; t < k; ++t) oi[t] = along * oi[t];
  }
}


}  // namespace vqvae::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif
