#include "training/fused_step.h"

#include "decoders/linear.h"
#include "encoders/linear.h"
#include "models/vqvae.h"
#include "quantizers/projection_vq.h"
#include "quantizers/rotation_vq.h"
#include "quantizers/search_kernel.h"
#include "quantizers/vq.h"
#include "training/losses.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/string_utils.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

// ---------------------------------------------------------------- arithmetic kernels
// Raw loops over row-major float32 buffers, vectorized through GCC/Clang vector extensions
// (elementwise, so the width changes no rounding) with no contraction into fused multiply-adds
// and no reassociation: every instruction-set clone below returns the same bits as the portable
// one. On x86-64 with GCC or Clang each kernel is compiled for
// AVX-512, AVX2 and the baseline and picked at load time (the build itself stays portable).
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

namespace vqvae {
namespace {
namespace kernel {

constexpr int64_t kLanes = 16;  // floats per vector: one AVX-512 register, 2 AVX2, 4 SSE

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

}  // namespace kernel
}  // namespace
}  // namespace vqvae

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

// ---------------------------------------------------------------- the step
namespace vqvae {
namespace {

enum class QuantizerKind { vq, rotation, projection };

// The model's tensors by role; each null or a pointer to the module's member.
enum Role { kEncoderWeight, kEncoderBias, kCodebook, kDecoderWeight, kDecoderBias, kRoles };

struct Plan {
  int64_t B = 0, d = 0, k = 0, n = 0;
  bool encoder_learned = false;  // weight W (k, d) rather than E (d, k)
  QuantizerKind quantizer = QuantizerKind::vq;
  std::array<const at::Tensor*, kRoles> tensors{};
  std::array<bool, kRoles> train{};
  torch::optim::Adam* adam = nullptr;
  torch::optim::SGD* sgd = nullptr;
  // The existing optimizer state of each trained tensor (null: created by this step).
  std::array<torch::optim::OptimizerParamState*, kRoles> state{};
};

bool float_cpu_contiguous(const at::Tensor& t) {
  return t.defined() && t.scalar_type() == at::kFloat && t.device().is_cpu() && t.is_contiguous();
}

bool has_shape(const at::Tensor& t, std::initializer_list<int64_t> sizes) {
  return float_cpu_contiguous(t) && t.sizes() == at::IntArrayRef(sizes);
}

bool same_storage(const at::Tensor& a, const at::Tensor& b) {
  return a.storage().unsafeGetStorageImpl() == b.storage().unsafeGetStorageImpl();
}

// A tensor that this step may overwrite: reused unless someone else still holds it (or a view
// of it), or its shape changed.
at::Tensor& reusable(at::Tensor& t, at::IntArrayRef sizes, at::ScalarType type) {
  if (!t.defined() || t.use_count() > 1 || t.storage().use_count() > 1 || t.sizes() != sizes)
    t = at::empty(sizes, at::TensorOptions().dtype(type));
  return t;
}

// Optimizer::state() keys (the TensorImpl address as text, as torch::optim writes it),
// computed once per tensor: formatting one costs about a microsecond.
struct KeyCache {
  std::vector<std::pair<const c10::TensorImpl*, std::string>> keys;

  const std::string& key(const at::Tensor& p) {
    const c10::TensorImpl* impl = p.unsafeGetTensorImpl();
    for (const auto& entry : keys)
      if (entry.first == impl) return entry.second;
    keys.emplace_back(impl, c10::guts::to_string(p.unsafeGetTensorImpl()));
    return keys.back().second;
  }
};

// Fills `plan` from the model, optimizer and batch; nullptr when the fused step applies, else why
// not. Reads only.
const char* resolve(VQVAEImpl& model, torch::optim::Optimizer& optimizer, const at::Tensor& batch,
                    KeyCache& keys, Plan& plan) {
  if (!c10::GradMode::is_enabled()) return "gradient mode is off";
  EncoderBase& encoder = *model.encoder();
  DecoderBase& decoder = *model.decoder();
  QuantizerBase& quantizer = *model.quantizer();
  plan.d = encoder.input_dim();
  plan.k = encoder.latent_dim();
  plan.n = quantizer.codebook_size();
  const int64_t d = plan.d, k = plan.k, n = plan.n;

  if (typeid(encoder) == typeid(PCAEncoderImpl)) {
    plan.tensors[kEncoderWeight] = &static_cast<PCAEncoderImpl&>(encoder).encoder_weight;
    if (!has_shape(*plan.tensors[kEncoderWeight], {d, k})) return "encoder weight is not float32 (d, k)";
  } else if (typeid(encoder) == typeid(LearnedLinearEncoderImpl)) {
    auto& learned = static_cast<LearnedLinearEncoderImpl&>(encoder);
    plan.encoder_learned = true;
    plan.tensors[kEncoderWeight] = &learned.weight;
    if (!has_shape(learned.weight, {k, d})) return "encoder weight is not float32 (k, d)";
    if (learned.bias.defined()) {
      plan.tensors[kEncoderBias] = &learned.bias;
      if (!has_shape(learned.bias, {k})) return "encoder bias is not float32 (k)";
    }
  } else {
    return "encoder is not PCAEncoder or LearnedLinearEncoder";
  }

  if (typeid(decoder) == typeid(PCADecoderImpl)) {
    plan.tensors[kDecoderWeight] = &static_cast<PCADecoderImpl&>(decoder).decoder_weight;
  } else if (typeid(decoder) == typeid(LearnedLinearDecoderImpl)) {
    auto& learned = static_cast<LearnedLinearDecoderImpl&>(decoder);
    plan.tensors[kDecoderWeight] = &learned.weight;
    if (learned.bias.defined()) {
      plan.tensors[kDecoderBias] = &learned.bias;
      if (!has_shape(learned.bias, {d})) return "decoder bias is not float32 (d)";
    }
  } else {
    return "decoder is not PCADecoder or LearnedLinearDecoder";
  }
  if (!has_shape(*plan.tensors[kDecoderWeight], {d, k})) return "decoder weight is not float32 (d, k)";

  if (typeid(quantizer) == typeid(VectorQuantizerImpl)) plan.quantizer = QuantizerKind::vq;
  else if (typeid(quantizer) == typeid(RotationVectorQuantizerImpl)) plan.quantizer = QuantizerKind::rotation;
  else if (typeid(quantizer) == typeid(ProjectionVectorQuantizerImpl)) plan.quantizer = QuantizerKind::projection;
  else return "quantizer is not VectorQuantizer, RotationVectorQuantizer or ProjectionVectorQuantizer";
  plan.tensors[kCodebook] = &quantizer.codebook;
  if (!has_shape(quantizer.codebook, {n, k})) return "codebook is not float32 (n, k)";

  if (!batch.defined() || batch.dim() != 2 || batch.size(1) != d || batch.size(0) < 1 ||
      batch.scalar_type() != at::kFloat || !batch.device().is_cpu() || batch.requires_grad())
    return "batch is not a float32 CPU (B, d) tensor with B >= 1 (and no gradient)";
  plan.B = batch.size(0);

  // The trained tensors: exactly the optimizer's one parameter group, no two sharing storage.
  plan.adam = dynamic_cast<torch::optim::Adam*>(&optimizer);
  plan.sgd = plan.adam ? nullptr : dynamic_cast<torch::optim::SGD*>(&optimizer);
  if (!plan.adam && !plan.sgd) return "optimizer is not torch::optim::Adam or torch::optim::SGD";
  if (optimizer.param_groups().size() != 1) return "optimizer has more than one parameter group";
  torch::optim::OptimizerParamGroup& group = optimizer.param_groups()[0];
  double momentum = 0;
  if (plan.adam) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    if (options.weight_decay() != 0 || options.amsgrad()) return "Adam has weight decay or amsgrad";
  } else {
    const auto& options = static_cast<const torch::optim::SGDOptions&>(group.options());
    if (options.weight_decay() != 0 || options.dampening() != 0 || options.nesterov())
      return "SGD has weight decay, dampening or Nesterov momentum";
    momentum = options.momentum();
  }
  size_t trained = 0;
  for (int role = 0; role < kRoles; ++role) {
    const at::Tensor* t = plan.tensors[role];
    plan.train[role] = t && t->requires_grad();
    if (!plan.train[role]) continue;
    ++trained;
    for (int other = 0; other < role; ++other)
      if (plan.train[other] && same_storage(*plan.tensors[other], *t))
        return "two trained tensors share storage (tied weights)";
  }
  if (trained == 0 || group.params().size() != trained)
    return "optimizer's parameters are not the model's tensors that require grad";
  std::array<bool, kRoles> matched{};
  for (const at::Tensor& p : group.params())
    for (int role = 0; role < kRoles; ++role)
      if (plan.train[role] && plan.tensors[role]->unsafeGetTensorImpl() == p.unsafeGetTensorImpl())
        matched[role] = true;
  for (int role = 0; role < kRoles; ++role)
    if (plan.train[role] && !matched[role])
      return "optimizer's parameters are not the model's tensors that require grad";

  // Existing optimizer state must be float32 buffers of the parameter's shape.
  for (int role = 0; role < kRoles; ++role) {
    if (!plan.train[role] || (plan.sgd && momentum == 0)) continue;
    const at::Tensor& p = *plan.tensors[role];
    auto found = optimizer.state().find(keys.key(p));
    if (found == optimizer.state().end()) continue;
    plan.state[role] = found->second.get();
    if (plan.adam) {
      const auto& s = static_cast<const torch::optim::AdamParamState&>(*found->second);
      if (!float_cpu_contiguous(s.exp_avg()) || s.exp_avg().sizes() != p.sizes() ||
          !float_cpu_contiguous(s.exp_avg_sq()) || s.exp_avg_sq().sizes() != p.sizes())
        return "Adam state is not float32 buffers of the parameter's shape";
    } else {
      const auto& s = static_cast<const torch::optim::SGDParamState&>(*found->second);
      if (!float_cpu_contiguous(s.momentum_buffer()) || s.momentum_buffer().sizes() != p.sizes())
        return "SGD momentum buffer is not float32 of the parameter's shape";
    }
  }
  return nullptr;
}

// p.grad(), allocated when missing (as the first backward() would), as a float buffer to
// overwrite with this step's gradient (backward() after zero_grad() leaves the same values).
float* gradient_buffer(const at::Tensor& p) {
  at::Tensor& grad = p.mutable_grad();
  if (!float_cpu_contiguous(grad) || grad.sizes() != p.sizes())
    grad = at::empty_like(p, at::MemoryFormat::Contiguous);
  return grad.data_ptr<float>();
}

// LibTorch 1.13's Adam::step / SGD::step for one parameter whose gradient is `grad`, with the
// optimizer state kept in optimizer.state() (created here on the parameter's first step).
void optimizer_update(const Plan& plan, int role, torch::optim::Optimizer& optimizer,
                      KeyCache& keys, const float* grad) {
  const at::Tensor& p = *plan.tensors[role];
  const int64_t count = p.numel();
  float* data = p.data_ptr<float>();
  if (plan.adam) {
    const auto& options =
        static_cast<const torch::optim::AdamOptions&>(optimizer.param_groups()[0].options());
    auto* state = static_cast<torch::optim::AdamParamState*>(plan.state[role]);
    if (!state) {
      auto created = std::make_unique<torch::optim::AdamParamState>();
      created->step(0);
      created->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
      created->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
      state = created.get();
      optimizer.state()[keys.key(p)] = std::move(created);
    }
    state->step(state->step() + 1);
    const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
    const double bias_correction1 = 1 - std::pow(beta1, state->step());
    const double bias_correction2 = 1 - std::pow(beta2, state->step());
    const double step_size = options.lr() / bias_correction1;
    kernel::adam_update(data, grad, state->exp_avg().data_ptr<float>(),
                        state->exp_avg_sq().data_ptr<float>(), count, static_cast<float>(beta1),
                        static_cast<float>(1 - beta1), static_cast<float>(beta2),
                        static_cast<float>(1 - beta2),
                        static_cast<float>(std::sqrt(bias_correction2)),
                        static_cast<float>(options.eps()), static_cast<float>(-step_size));
  } else {
    const auto& options =
        static_cast<const torch::optim::SGDOptions&>(optimizer.param_groups()[0].options());
    float* buffer = nullptr;
    bool first = false;
    if (options.momentum() != 0) {
      auto* state = static_cast<torch::optim::SGDParamState*>(plan.state[role]);
      if (!state) {
        auto created = std::make_unique<torch::optim::SGDParamState>();
        created->momentum_buffer(at::empty_like(p, at::MemoryFormat::Contiguous));
        state = created.get();
        optimizer.state()[keys.key(p)] = std::move(created);
        first = true;
      }
      buffer = state->momentum_buffer().data_ptr<float>();
    }
    kernel::sgd_update(data, grad, buffer, count, first, static_cast<float>(options.momentum()),
                       static_cast<float>(-1 * options.lr()));
  }
  p.unsafeGetTensorImpl()->bump_version();  // an in-place change, as p.addcdiv_ / p.add_ record
}

}  // namespace

struct FusedStep::State {
  KeyCache keys;
  kernels::PackedCodebook packed;  // the codebook, repacked every step into the same storage
  at::Tensor latents;              // (B, k) float32: z
  at::Tensor indices;              // (B) int64
  std::vector<float> Et;           // (k, d) the PCA encoder's E transposed
  std::vector<float> Dt;           // (k, d) the decoder's D transposed
  std::vector<float> q;            // (B, k) c[idx]
  std::vector<float> diff;         // (B, k) q − z
  std::vector<float> r;            // (B, d) x̂ − x, then G = 2 (x̂ − x)/(B d)
  std::vector<float> g;            // (B, k) ∂L/∂z_q = G D
  std::vector<float> gz;           // (B, k) ∂L/∂z
  std::vector<float> acc;          // (k, d) a (d, k) gradient before its transpose
  std::vector<float> block;        // (d, 16) rows of x or G transposed by dot_rows
  std::vector<double> work;        // (3 k) the rotation frame of one row
};

FusedStep::FusedStep() : state_(std::make_unique<State>()) {}
FusedStep::~FusedStep() = default;
FusedStep::FusedStep(FusedStep&&) noexcept = default;
FusedStep& FusedStep::operator=(FusedStep&&) noexcept = default;

const at::Tensor& FusedStep::latents() const { return state_->latents; }
const at::Tensor& FusedStep::indices() const { return state_->indices; }

const char* FusedStep::unsupported(VQVAEImpl& model, torch::optim::Optimizer& optimizer,
                                   const at::Tensor& batch) {
  KeyCache keys;
  Plan plan;
  return resolve(model, optimizer, batch, keys, plan);
}

bool FusedStep::step(VQVAEImpl& model, torch::optim::Optimizer& optimizer, const at::Tensor& batch,
                     double beta, LossOutput& loss) {
  if (!(beta >= 0) || !std::isfinite(beta)) return false;  // vqvae_loss's error, via autograd
  State& s = *state_;
  Plan plan;
  if (resolve(model, optimizer, batch, s.keys, plan)) return false;
  const int64_t B = plan.B, d = plan.d, k = plan.k, n = plan.n;
  const auto data = [&](Role role) {
    return plan.tensors[role] ? plan.tensors[role]->data_ptr<float>() : nullptr;
  };
  const at::Tensor x_tensor = batch.contiguous();
  const float* x = x_tensor.data_ptr<float>();
  const float* codebook = data(kCodebook);
  const float* D = data(kDecoderWeight);  // (d, k)

  // ---- forward: z = x E (+ b_e); idx = nearest codeword; x̂ − x = q Dᵀ (+ b_d) − x
  const float* Et = data(kEncoderWeight);  // learned: W (k, d) is already Eᵀ
  if (!plan.encoder_learned) {
    s.Et.resize(static_cast<size_t>(k * d));
    kernel::transpose(Et, d, k, s.Et.data());
    Et = s.Et.data();
  }
  float* z = reusable(s.latents, {B, k}, at::kFloat).data_ptr<float>();
  int64_t* idx = reusable(s.indices, {B}, at::kLong).data_ptr<int64_t>();
  s.block.resize(static_cast<size_t>(d * kernel::kLanes));
  kernel::dot_rows(x, B, d, Et, k, data(kEncoderBias), z, s.block.data());
  kernels::pack_codebook(codebook, n, k, s.packed);
  if (kernels::search_nearest(s.packed, z, B, idx) >= 0) return false;  // nearest_codeword throws

  s.q.resize(static_cast<size_t>(B * k));
  s.diff.resize(static_cast<size_t>(B * k));
  float* q = s.q.data();
  float* diff = s.diff.data();
  for (int64_t i = 0; i < B; ++i)
    for (int64_t t = 0; t < k; ++t) {
      q[i * k + t] = codebook[idx[i] * k + t];
      diff[i * k + t] = q[i * k + t] - z[i * k + t];
    }
  s.Dt.resize(static_cast<size_t>(k * d));
  kernel::transpose(D, d, k, s.Dt.data());
  s.r.resize(static_cast<size_t>(B * d));
  float* r = s.r.data();
  kernel::combine_rows(q, B, k, s.Dt.data(), d, data(kDecoderBias), x, r);

  // ---- the loss, from float64 sums (codebook and commitment terms have the same value)
  const double recon = kernel::sum_squares(r, B * d) / static_cast<double>(B * d);
  const double latent = kernel::sum_squares(diff, B * k) / static_cast<double>(B * k);

  // ---- backward, into each trained tensor's .grad()
  std::array<float*, kRoles> grad{};
  for (int role = 0; role < kRoles; ++role)
    if (plan.train[role]) grad[role] = gradient_buffer(*plan.tensors[role]);
  // mse_loss's backward scales, rounded to float32 as ATen rounds 2 / numel.
  const float recon_scale = static_cast<float>(2.0 / static_cast<double>(B * d));
  const float latent_scale = static_cast<float>(2.0 / static_cast<double>(B * k));

  if (plan.train[kCodebook]) {  // Σ_{i: idx_i = j} 2 (c_j − z_i)/(B k), rows in order
    float* gc = grad[kCodebook];
    std::fill(gc, gc + n * k, 0.0f);
    for (int64_t i = 0; i < B; ++i)
      for (int64_t t = 0; t < k; ++t) gc[idx[i] * k + t] += diff[i * k + t] * latent_scale;
  }
  const bool encoder_trained = plan.train[kEncoderWeight] || plan.train[kEncoderBias];
  const bool decoder_trained = plan.train[kDecoderWeight] || plan.train[kDecoderBias];
  if (encoder_trained || decoder_trained) kernel::scale(r, B * d, recon_scale);  // r is now G
  if (plan.train[kDecoderWeight]) {  // ∂L/∂D (d, k) = Gᵀ q
    s.acc.assign(static_cast<size_t>(k * d), 0.0f);
    kernel::accumulate_outer(q, r, B, k, d, s.acc.data());
    kernel::transpose(s.acc.data(), k, d, grad[kDecoderWeight]);
  }
  if (plan.train[kDecoderBias]) kernel::sum_rows(r, B, d, grad[kDecoderBias]);
  if (encoder_trained) {
    s.g.resize(static_cast<size_t>(B * k));
    s.gz.resize(static_cast<size_t>(B * k));
    float* g = s.g.data();
    float* gz = s.gz.data();
    kernel::dot_rows(r, B, d, s.Dt.data(), k, nullptr, g, s.block.data());  // ∂L/∂z_q = G D
    switch (plan.quantizer) {
      case QuantizerKind::vq:
        std::copy(g, g + B * k, gz);
        break;
      case QuantizerKind::rotation:
        s.work.resize(static_cast<size_t>(3 * k));
        kernel::rotation_gradient(z, q, g, B, k, s.work.data(), gz);
        break;
      case QuantizerKind::projection:
        kernel::projection_gradient(diff, g, B, k, gz);
        break;
    }
    const float beta_f = static_cast<float>(beta);
    for (int64_t i = 0; i < B * k; ++i) gz[i] += (-diff[i] * latent_scale) * beta_f;  // commitment
    if (plan.train[kEncoderWeight]) {
      if (plan.encoder_learned) {  // ∂L/∂W (k, d) = (∂L/∂z)ᵀ x
        std::fill(grad[kEncoderWeight], grad[kEncoderWeight] + k * d, 0.0f);
        kernel::accumulate_outer(gz, x, B, k, d, grad[kEncoderWeight]);
      } else {  // ∂L/∂E (d, k) = xᵀ ∂L/∂z
        s.acc.assign(static_cast<size_t>(k * d), 0.0f);
        kernel::accumulate_outer(gz, x, B, k, d, s.acc.data());
        kernel::transpose(s.acc.data(), k, d, grad[kEncoderWeight]);
      }
    }
    if (plan.train[kEncoderBias]) kernel::sum_rows(gz, B, k, grad[kEncoderBias]);
  }

  // ---- optimizer step
  for (int role = 0; role < kRoles; ++role)
    if (plan.train[role]) optimizer_update(plan, role, optimizer, s.keys, grad[role]);

  loss.recon = recon;
  loss.codebook = latent;
  loss.commitment = latent;
  loss.total_value = recon + latent + beta * latent;
  loss.total = at::scalar_tensor(loss.total_value, at::TensorOptions().dtype(at::kFloat));
  return true;
}

}  // namespace vqvae
