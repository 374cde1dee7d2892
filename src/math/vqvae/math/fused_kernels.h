// The arithmetic of the fused training step (training/fused_step.h): raw loops over row-major
// float32 buffers, no LibTorch. Each is deterministic and free of reassociation (fixed summation
// order, no contraction into fused multiply-adds): every instruction-set clone (AVX-512, AVX2,
// baseline, picked at load time) returns the same bits, on every run and thread count.
//
// Shapes are (rows, columns), row-major. Symbols as in the step: B batch, d input dimension,
// k latent dimension.
#pragma once

#include <cstdint>

namespace vqvae::kernels {

/// Floats per vector in these kernels (one AVX-512 register, two AVX2, four SSE); dot_rows'
/// scratch holds m · kFusedLanes floats.
inline constexpr int64_t kFusedLanes = 16;

/// out (rows, p): out_ij = Σ_s a_is w_js (+ bias_j); a (rows, m), w (p, m), bias (p) or null,
/// scratch (m · kFusedLanes).
void dot_rows(const float* a, int64_t rows, int64_t m, const float* w, int64_t p,
              const float* bias, float* out, float* scratch);

/// out (rows, p): out_i = Σ_t a_it M_t (+ bias) (− minus_i); a (rows, m), M (m, p), bias (p) or
/// null, minus (rows, p) or null.
void combine_rows(const float* a, int64_t rows, int64_t m, const float* M, int64_t p,
                  const float* bias, const float* minus, float* out);

/// out (m, p) += Σ_i a_iᵀ b_i; a (rows, m), b (rows, p).
void accumulate_outer(const float* a, const float* b, int64_t rows, int64_t m, int64_t p,
                      float* out);

/// out (p) = Σ_i a_i, a (rows, p), rows in order.
void sum_rows(const float* a, int64_t rows, int64_t p, float* out);

/// Σ v_i² in float64.
double sum_squares(const float* v, int64_t count);

/// v *= factor.
void scale(float* v, int64_t count, float factor);

/// out (p, m) = aᵀ, a (m, p).
void transpose(const float* a, int64_t m, int64_t p, float* out);

/// One Adam update of `count` elements, element by element as LibTorch 1.13's Adam::step (no
/// weight decay, no amsgrad): m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
/// p += neg_step · m / (sqrt(v) / sqrt_bc2 + eps). The scalars come rounded to float32, as ATen
/// rounds them for a float32 tensor (training/optimizer.cpp computes them).
void adam_update(float* p, const float* g, float* m, float* v, int64_t count, float beta1,
                 float one_minus_beta1, float beta2, float one_minus_beta2, float sqrt_bc2,
                 float eps, float neg_step);

/// One SGD update as LibTorch 1.13's SGD::step (no weight decay, dampening or Nesterov): with a
/// momentum buffer, buf = g on the first step, else momentum·buf + g, then p += neg_lr·buf;
/// without one (buf null), p += neg_lr·g.
void sgd_update(float* p, const float* g, float* buf, int64_t count, bool first, float momentum,
                float neg_lr);

/// The rotation trick's ∂L/∂z = λ Rᵀ g per row, in float64, exactly as
/// quantizers/rotation_vq.cpp defines it, degenerate cases included. z, q, g, out (rows, k);
/// work: 3k doubles.
void rotation_gradient(const float* z, const float* q, const float* g, int64_t rows, int64_t k,
                       double* work, float* out);

/// The projection estimator's ∂L/∂z = (g·u) u, u = (q − z)/max(‖q − z‖, 1e-8), per row as
/// quantizers/projection_vq.cpp computes it. diff (rows, k) = q − z; g, out (rows, k).
void projection_gradient(const float* diff, const float* g, int64_t rows, int64_t k, float* out);

}  // namespace vqvae::kernels
