// Gradient estimators of RotationVectorQuantizer (the rotation trick, Fifty et al. 2024) and
// ProjectionVectorQuantizer (src/quantizers/rotation_vq.h, projection_vq.h), in float64.
//
// The reference rotation is built here, independently of the library, from docs/design.md's
// formula: ê = z/‖z‖, q̂ = q/‖q‖, r = (ê + q̂)/‖ê + q̂‖, R = I − 2rrᵀ + 2q̂êᵀ, λ = ‖q‖/‖z‖.
// Tolerances are relative to the row's scale: these are float64 identities that hold up to a
// few roundings (1e-10 leaves room for k = 64 terms of a dot product and a division).
#include "generators.h"

#include <ATen/ATen.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstdint>

namespace vqvae::props {
namespace {

constexpr double kTol = 1e-10;

at::Tensor row_norms(const at::Tensor& t) { return t.norm(2, 1, /*keepdim=*/true); }  // (B, 1)
at::Tensor row_dots(const at::Tensor& a, const at::Tensor& b) { return (a * b).sum(1, true); }

/// z, q, g: (B, k) float64, generic: no zero rows, ê never within 1e-3 of −q̂ (z is flipped
/// where it was; for k = 1 this makes z and q of one sign, where R = 1).
struct RotationCase {
  at::Tensor z, q, g;
};

RotationCase make_rotation_case(int64_t B, int64_t k, uint64_t seed) {
  at::Generator gen = make_generator(seed);
  RotationCase c;
  c.z = floats_from_integers(B, k, gen, -4, 4);
  c.q = floats_from_integers(B, k, gen, -4, 4);
  c.g = floats_from_integers(B, k, gen, -4, 4);
  const at::Tensor fix = at::zeros({1, k}, at::kDouble).index_fill_(1, at::zeros({1}, at::kLong), 1.0);
  c.z = at::where(row_norms(c.z) == 0, fix, c.z);
  c.q = at::where(row_norms(c.q) == 0, fix, c.q);
  const at::Tensor sum = c.z / row_norms(c.z) + c.q / row_norms(c.q);
  c.z = at::where(row_norms(sum) < 1e-3, -c.z, c.z);
  return c;
}

struct ReferenceRotation {
  at::Tensor R;       ///< (B, k, k)
  at::Tensor lambda;  ///< (B, 1)
  at::Tensor e, q_hat;
};

ReferenceRotation reference_rotation(const at::Tensor& z, const at::Tensor& q) {
  ReferenceRotation ref;
  ref.e = z / row_norms(z);
  ref.q_hat = q / row_norms(q);
  const at::Tensor r = (ref.e + ref.q_hat) / row_norms(ref.e + ref.q_hat);
  const int64_t k = z.size(1);
  ref.R = at::eye(k, at::kDouble).unsqueeze(0) - 2 * r.unsqueeze(2) * r.unsqueeze(1) +
          2 * ref.q_hat.unsqueeze(2) * ref.e.unsqueeze(1);
  ref.lambda = row_norms(q) / row_norms(z);
  return ref;
}

/// λ Rᵀ g, row by row.
at::Tensor apply_reference(const ReferenceRotation& ref, const at::Tensor& g) {
  return ref.lambda * at::bmm(ref.R.transpose(1, 2), g.unsqueeze(2)).squeeze(2);
}

/// The gradient the library's autograd path sends to z for upstream g.
at::Tensor rotation_trick_autograd(const at::Tensor& z, const at::Tensor& q, const at::Tensor& g,
                                   at::Tensor* value = nullptr, at::Tensor* q_grad = nullptr) {
  const at::Tensor zr = z.clone().requires_grad_();
  const at::Tensor qr = q.clone().requires_grad_();
  const at::Tensor out = rotation_trick(zr, qr);
  out.backward(g);
  if (value) *value = out.detach();
  if (q_grad) *q_grad = qr.grad();
  return zr.grad();
}

rc::Gen<std::pair<int64_t, int64_t>> gen_batch_and_dim() {
  return rc::gen::pair(gen_int(1, 64), gen_int(1, 64));
}

}  // namespace

// The rotation trick's definition: forward value q exactly, backward λRᵀg, nothing to q; and
// RotationVectorQuantizer applies it with q = its codeword.
RC_GTEST_PROP(RotationTrickProperty, ForwardIsQBackwardIsLambdaRtG, ()) {
  const auto [B, k] = *gen_batch_and_dim();
  const RotationCase c = make_rotation_case(B, k, *gen_seed());
  at::Tensor value, q_grad;
  const at::Tensor grad = rotation_trick_autograd(c.z, c.q, c.g, &value, &q_grad);
  RC_ASSERT(at::equal(value, c.q));
  RC_ASSERT(max_abs(q_grad) == 0.0);
  const at::Tensor expected = apply_reference(reference_rotation(c.z, c.q), c.g);
  const at::Tensor scale = reference_rotation(c.z, c.q).lambda * row_norms(c.g);
  RC_ASSERT(at::all((grad - expected).abs() <= kTol * scale).item<bool>());

  // Through the quantizer (float64 z, float32 codebook): the same function of z and its codeword.
  at::Generator gen = make_generator(*gen_seed());
  const int64_t n = *gen_int(1, 64);
  const at::Tensor codebook = floats_from_integers(n, k, gen, -4, 4).to(at::kFloat);
  const QuantizerPtr quantizer = make_quantizer(QuantizerKind::rotation, codebook);
  const at::Tensor z = c.z.clone().requires_grad_();
  const QuantizerOutput out = quantizer->forward(z);
  out.z_q.backward(c.g);
  RC_ASSERT(at::equal(z.grad(), rotation_trick_gradient(c.z, out.z_q_hard.detach(), c.g)));
  RC_ASSERT(max_abs(quantizer->codebook.grad()) == 0.0);
}

// R is orthogonal, so ‖∂L/∂z‖ = λ‖Rᵀg‖ = λ‖g‖.
RC_GTEST_PROP(RotationTrickProperty, GradientNormIsLambdaTimesUpstreamNorm, ()) {
  const auto [B, k] = *gen_batch_and_dim();
  const RotationCase c = make_rotation_case(B, k, *gen_seed());
  const at::Tensor grad = rotation_trick_autograd(c.z, c.q, c.g);
  const at::Tensor expected = reference_rotation(c.z, c.q).lambda * row_norms(c.g);
  RC_ASSERT(at::all((row_norms(grad) - expected).abs() <= kTol * expected).item<bool>());
}

// ⟨Rᵀg, ê⟩ = ⟨g, Rê⟩ = ⟨g, q̂⟩ and λ > 0: the gradient makes the same angle with z as g with q.
RC_GTEST_PROP(RotationTrickProperty, AngleBetweenGradientAndZEqualsAngleBetweenGAndQ, ()) {
  const auto [B, k] = *gen_batch_and_dim();
  const RotationCase c = make_rotation_case(B, k, *gen_seed());
  const at::Tensor grad = rotation_trick_autograd(c.z, c.q, c.g);
  const at::Tensor cos_grad_z = row_dots(grad, c.z) / (row_norms(grad) * row_norms(c.z));
  const at::Tensor cos_g_q = row_dots(c.g, c.q) / (row_norms(c.g) * row_norms(c.q));
  RC_ASSERT(max_abs_diff(cos_grad_z, cos_g_q) <= kTol);
}

// R = I − 2rrᵀ + 2q̂êᵀ is a rotation taking ê to q̂: RᵀR = I, Rê = q̂, det R = +1; and the
// library's rotation_matrices is that matrix.
RC_GTEST_PROP(RotationTrickProperty, RotationIsOrthogonalProperAndTakesEToQHat, ()) {
  const auto [B, k] = *gen_batch_and_dim();
  const RotationCase c = make_rotation_case(B, k, *gen_seed());
  const at::Tensor R = rotation_matrices(c.z, c.q);
  const ReferenceRotation ref = reference_rotation(c.z, c.q);
  RC_ASSERT(R.sizes() == (at::IntArrayRef{B, k, k}));
  RC_ASSERT(max_abs_diff(R, ref.R) <= kTol);
  RC_ASSERT(max_abs_diff(at::bmm(R.transpose(1, 2), R), at::eye(k, at::kDouble).expand({B, k, k})) <= kTol);
  RC_ASSERT(max_abs_diff(at::bmm(R, ref.e.unsqueeze(2)).squeeze(2), ref.q_hat) <= kTol);
  RC_ASSERT(max_abs_diff(at::linalg_det(R), at::ones({B}, at::kDouble)) <= 1e-8);
}

// With z = a·q (a > 0), ê = q̂ and r = ê, so R = I and the gradient is λg = g/a.
RC_GTEST_PROP(RotationTrickProperty, ParallelInputsGiveIdentity, ()) {
  const auto [B, k] = *gen_batch_and_dim();
  const RotationCase c = make_rotation_case(B, k, *gen_seed());
  const double a = static_cast<double>(*rc::gen::inRange(1, 257)) / 16.0;  // 1/16 .. 16
  const at::Tensor z = c.q * a;
  const at::Tensor R = rotation_matrices(z, c.q);
  RC_ASSERT(max_abs_diff(R, at::eye(k, at::kDouble).expand({B, k, k})) <= kTol);
  const at::Tensor grad = rotation_trick_autograd(z, c.q, c.g);
  RC_ASSERT(at::all((grad - c.g / a).abs() <= kTol * row_norms(c.g) / a).item<bool>());
}

// The documented degenerate cases (rotation_vq.h) give finite values, never NaN: q = 0 -> zero
// gradient; z = 0 -> g passes straight through; z = −a·q -> a rotation by π (norm and angle laws
// still hold; k = 1: R = −1); near-antiparallel and z = q = 0 -> finite. Same through the
// quantizer with zero codewords and z equal to minus a codeword.
RC_GTEST_PROP(RotationTrickProperty, DegenerateInputsGiveFiniteDocumentedValues, ()) {
  const auto [B, k] = *gen_batch_and_dim();
  const RotationCase c = make_rotation_case(B, k, *gen_seed());
  at::Generator gen = make_generator(*gen_seed());
  enum { kQZero, kZZero, kAntiparallel, kNearAntiparallel, kBothZero };
  const at::Tensor type = at::randint(0, 5, {B, 1}, gen, at::kLong);
  const double a = static_cast<double>(*rc::gen::inRange(1, 257)) / 16.0;
  const at::Tensor zeros = at::zeros_like(c.z);
  // Near-antiparallel: −a·q plus a perturbation 1e-7 of its size (‖ê + q̂‖ ≈ 1e-7, just above
  // the library's 1e-8 switch: the cancellation regime).
  const at::Tensor nudge = c.g / row_norms(c.g) * row_norms(c.q) * a * 1e-7;
  at::Tensor z = at::where(type == kQZero, c.z,
                 at::where(type == kZZero, zeros,
                 at::where(type == kAntiparallel, -a * c.q,
                 at::where(type == kNearAntiparallel, -a * c.q + nudge, zeros))));
  at::Tensor q = at::where((type == kQZero) | (type == kBothZero), zeros, c.q);

  const at::Tensor grad = rotation_trick_autograd(z, q, c.g);
  RC_ASSERT(at::all(at::isfinite(grad)).item<bool>());
  const at::Tensor R = rotation_matrices(z, q);
  RC_ASSERT(at::all(at::isfinite(R)).item<bool>());
  const at::Tensor eye = at::eye(k, at::kDouble);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t t = type[i][0].item<int64_t>();
    const at::Tensor gi = c.g[i], grad_i = grad[i];
    if (t == kQZero) RC_ASSERT(max_abs(grad_i) == 0.0);
    if (t == kZZero) RC_ASSERT(at::equal(grad_i, gi));
    if (t == kAntiparallel || t == kNearAntiparallel) {
      const double lambda = q[i].norm().item<double>() / z[i].norm().item<double>();
      const double tol = t == kAntiparallel ? kTol : 1e-6;  // cancellation costs digits
      const double expected_norm = lambda * gi.norm().item<double>();
      RC_ASSERT(std::abs(grad_i.norm().item<double>() - expected_norm) <= tol * expected_norm);
      RC_ASSERT(max_abs_diff(R[i].t().matmul(R[i]), eye) <= tol);
      const at::Tensor e = z[i] / z[i].norm(), q_hat = q[i] / q[i].norm();
      RC_ASSERT(max_abs_diff(R[i].matmul(e), q_hat) <= tol);
      if (k == 1 && t == kAntiparallel) RC_ASSERT(R[i][0][0].item<double>() == -1.0);
    }
  }

  // Through the quantizer: zero codewords, z = 0, z = −codeword; every gradient finite.
  const int64_t n = *gen_int(1, 16);
  at::Tensor codebook = floats_from_integers(n, k, gen, -4, 4);
  codebook[0].zero_();
  const at::Tensor picks = at::randint(0, n, {B}, gen, at::kLong);
  const at::Tensor zq = at::where(type == kZZero, zeros, -codebook.index_select(0, picks))
                            .to(at::kFloat).requires_grad_();
  const QuantizerPtr quantizer = make_quantizer(QuantizerKind::rotation, codebook.to(at::kFloat));
  const QuantizerOutput out = quantizer->forward(zq);
  out.z_q.backward(c.g.to(at::kFloat));
  RC_ASSERT(at::all(at::isfinite(zq.grad())).item<bool>());
  RC_ASSERT(at::all(at::isfinite(out.z_q)).item<bool>());
}

// Projection estimator: forward q, backward (g·u)u with u = (q − z)/‖q − z‖ — parallel to
// q − z — and zero where z = q; nothing to q. ProjectionVectorQuantizer applies it with q = its
// codeword.
RC_GTEST_PROP(ProjectionEstimatorProperty, GradientIsComponentOfGAlongQuantizationError, ()) {
  const auto [B, k] = *gen_batch_and_dim();
  const RotationCase c = make_rotation_case(B, k, *gen_seed());
  at::Generator gen = make_generator(*gen_seed());
  const at::Tensor same = at::randint(0, 4, {B, 1}, gen, at::kLong) == 0;  // a quarter: z = q
  const at::Tensor z = at::where(same, c.q, c.z);

  const at::Tensor zr = z.clone().requires_grad_(), qr = c.q.clone().requires_grad_();
  const at::Tensor out = projection_estimator(zr, qr);
  out.backward(c.g);
  RC_ASSERT(at::equal(out.detach(), c.q));
  RC_ASSERT(max_abs(qr.grad()) == 0.0);
  const at::Tensor grad = zr.grad();

  const at::Tensor diff = c.q - z;
  const at::Tensor u = at::where(same, at::zeros_like(diff), diff / row_norms(diff));
  const at::Tensor expected = row_dots(c.g, u) * u;
  const at::Tensor scale = row_norms(c.g);
  RC_ASSERT(at::all((grad - expected).abs() <= kTol * scale).item<bool>());
  // Parallel to q − z: |⟨grad, q − z⟩| = ‖grad‖‖q − z‖ (Cauchy–Schwarz with equality).
  const at::Tensor lhs = row_dots(grad, diff).abs(), rhs = row_norms(grad) * row_norms(diff);
  RC_ASSERT(at::all((lhs - rhs).abs() <= kTol * (rhs + 1e-300)).item<bool>());
  RC_ASSERT(at::all(at::where(same, grad, at::zeros_like(grad)) == 0).item<bool>());

  // Through the quantizer.
  const int64_t n = *gen_int(1, 64);
  const at::Tensor codebook = floats_from_integers(n, k, gen, -4, 4).to(at::kFloat);
  const QuantizerPtr quantizer = make_quantizer(QuantizerKind::projection, codebook);
  const at::Tensor zq = c.z.clone().requires_grad_();
  const QuantizerOutput qout = quantizer->forward(zq);
  qout.z_q.backward(c.g);
  RC_ASSERT(at::equal(zq.grad(), projection_gradient(c.z, qout.z_q_hard.detach(), c.g)));
  RC_ASSERT(max_abs(quantizer->codebook.grad()) == 0.0);
}

}  // namespace vqvae::props
