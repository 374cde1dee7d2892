// Quantizer invariants (src/quantizers/), each property checked on every generated case for all
// three of VectorQuantizer, RotationVectorQuantizer and ProjectionVectorQuantizer (the failing
// one is named in the counterexample's log): nearest codeword against a
// double-precision brute force, idempotence, equivariance under permutation, translation and
// scaling, the forward value of z_q, and where the gradient of z_q and z_q_hard goes.
//
// Data: make_quantizer_problem (generators.h): integers times a power of two, so that every
// squared distance the library sums in float32 is exact. That makes "equal distances tie" and
// "translation / power-of-two scaling keeps the indices" true in float arithmetic, not only in
// real arithmetic; with arbitrary floats both can fail by one rounding and are not laws.
#include "generators.h"

#include <ATen/ATen.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace vqvae::props {

// indices minimise ‖z_i − c_j‖ exactly (double brute force), ties to the lowest j, and
// z_q_hard == codebook[indices] bit for bit: the definition of the quantizer.
RC_GTEST_PROP(QuantizerProperty, NearestCodewordMatchesDoubleBruteForce, ()) {
  const QuantizerCase c = *gen_quantizer_case();
  const QuantizerProblem p = make_quantizer_problem(c);
  const NearestReference ref = brute_force_nearest(p.z, p.codebook);
  bool any_tie = false;
  for (int64_t t : ref.ties) any_tie = any_tie || t > 1;
  RC_CLASSIFY(any_tie, "has exact ties");
  for (QuantizerKind kind : kAllQuantizers) {
    RC_LOG() << name_of(kind) << "\n";
    const QuantizerOutput out = make_quantizer(kind, p.codebook)->forward(p.z);
    RC_ASSERT(out.indices.scalar_type() == at::kLong);
    RC_ASSERT(out.indices.sizes() == at::IntArrayRef{c.shape.B});
    assert_same_indices(to_vector<int64_t>(out.indices), ref.argmin, "indices vs brute force");
    RC_ASSERT(at::equal(out.z_q_hard, p.codebook.index_select(0, out.indices)));
  }
}

// Idempotence: a codeword is at distance 0 from itself, so it quantizes to itself (at the first
// row equal to it: duplicates), and Q(Q(z)) = Q(z), indices included.
RC_GTEST_PROP(QuantizerProperty, CodewordsAreFixedPoints, ()) {
  const QuantizerCase c = *gen_quantizer_case();
  const QuantizerProblem p = make_quantizer_problem(c);
  at::Generator gen = make_generator(*gen_seed());
  const at::Tensor picks = at::randint(0, c.shape.n, {c.shape.B}, gen, at::kLong);
  const at::Tensor codewords = p.codebook.index_select(0, picks);
  std::vector<int64_t> first_equal(c.shape.B);
  for (int64_t i = 0; i < c.shape.B; ++i)
    first_equal[i] = at::all(p.codebook == codewords[i], 1).nonzero()[0][0].item<int64_t>();

  for (QuantizerKind kind : kAllQuantizers) {
    RC_LOG() << name_of(kind) << "\n";
    const QuantizerPtr quantizer = make_quantizer(kind, p.codebook);
    const QuantizerOutput out = quantizer->forward(codewords);
    RC_ASSERT(at::equal(out.z_q_hard, codewords));
    RC_ASSERT(at::equal(out.z_q, codewords));
    assert_same_indices(to_vector<int64_t>(out.indices), first_equal, "codeword's index");

    const QuantizerOutput once = quantizer->forward(p.z);
    const QuantizerOutput twice = quantizer->forward(once.z_q_hard.detach());
    RC_ASSERT(at::equal(twice.z_q_hard, once.z_q_hard));
    assert_same_indices(to_vector<int64_t>(twice.indices), to_vector<int64_t>(once.indices),
                        "Q(Q(z)) vs Q(z)");
  }
}

// Equivariance: the distances to a permuted codebook are the same numbers, permuted. So
// perm[new index] is a nearest codeword of the original book, and the same one when the nearest
// codeword is unique (with ties, "lowest index" refers to the new order).
RC_GTEST_PROP(QuantizerProperty, PermutingCodebookPermutesIndices, ()) {
  const QuantizerCase c = *gen_quantizer_case();
  const QuantizerProblem p = make_quantizer_problem(c);
  at::Generator gen = make_generator(*gen_seed());
  const at::Tensor perm = at::randperm(c.shape.n, gen, at::kLong);  // new row m = old row perm[m]
  const at::Tensor permuted_book = p.codebook.index_select(0, perm);
  const NearestReference ref = brute_force_nearest(p.z, p.codebook);
  for (QuantizerKind kind : kAllQuantizers) {
    RC_LOG() << name_of(kind) << "\n";
    const at::Tensor original = make_quantizer(kind, p.codebook)->forward(p.z).indices;
    const at::Tensor permuted = make_quantizer(kind, permuted_book)->forward(p.z).indices;
    const std::vector<int64_t> mapped = to_vector<int64_t>(perm.index_select(0, permuted));
    const std::vector<int64_t> before = to_vector<int64_t>(original);
    for (int64_t i = 0; i < c.shape.B; ++i) {
      RC_ASSERT(squared_distance(p.z, i, p.codebook, mapped[i]) == ref.min_distance[i]);
      if (ref.ties[i] == 1) RC_ASSERT(mapped[i] == before[i]);
    }
  }
}

// Invariance: distances depend on z − c only. t: integers in [−127, 127] · 2^e, on the data's
// grid: z + t and c + t are exact floats and (z + t) − (c + t) = z − c bit for bit, so every
// distance, hence every index, is unchanged.
RC_GTEST_PROP(QuantizerProperty, TranslatingZAndCodebookKeepsIndices, ()) {
  const QuantizerCase c = *gen_quantizer_case();
  const QuantizerProblem p = make_quantizer_problem(c);
  at::Generator gen = make_generator(*gen_seed());
  const at::Tensor t =
      (at::randint(-127, 128, {1, c.shape.k}, gen, at::kDouble) * std::ldexp(1.0, p.exponent))
          .to(at::kFloat);
  for (QuantizerKind kind : kAllQuantizers) {
    RC_LOG() << name_of(kind) << "\n";
    const QuantizerOutput before = make_quantizer(kind, p.codebook)->forward(p.z);
    const QuantizerOutput after = make_quantizer(kind, p.codebook + t)->forward(p.z + t);
    assert_same_indices(to_vector<int64_t>(after.indices), to_vector<int64_t>(before.indices),
                        "translated vs original");
    RC_ASSERT(at::equal(after.z_q_hard, before.z_q_hard + t));
  }
}

// Invariance: s = ±2^q multiplies every squared distance by 2^(2q) exactly, as long as the data
// stays in [2^−62, 2^52] (see make_quantizer_problem), which bounds q; order and ties are kept.
RC_GTEST_PROP(QuantizerProperty, ScalingZAndCodebookKeepsIndices, ()) {
  const QuantizerCase c = *gen_quantizer_case();
  const QuantizerProblem p = make_quantizer_problem(c);
  const int lo = std::max(-20, -62 - p.exponent), hi = std::min(20, 52 - p.exponent);
  const int q = *rc::gen::inRange(lo, hi + 1);
  const double s = (*rc::gen::arbitrary<bool>() ? -1.0 : 1.0) * std::ldexp(1.0, q);
  for (QuantizerKind kind : kAllQuantizers) {
    RC_LOG() << name_of(kind) << "\n";
    const QuantizerOutput before = make_quantizer(kind, p.codebook)->forward(p.z);
    const QuantizerOutput after = make_quantizer(kind, p.codebook * s)->forward(p.z * s);
    assert_same_indices(to_vector<int64_t>(after.indices), to_vector<int64_t>(before.indices),
                        "scaled vs original");
    RC_ASSERT(at::equal(after.z_q_hard, before.z_q_hard * s));
  }
}

// STE forward: z_q's value is z_q_hard. VQ computes z + (q − z), two roundings:
// |z_q − q| <= 2u(|z| + |q|)(1 + u), u = 2^−24; rotation and projection return q itself.
// Magnitudes vary per element (2^−20 .. 2^10), so z − q is not exact here.
RC_GTEST_PROP(QuantizerProperty, ForwardValueIsTheCodeword, ()) {
  const Shape shape = *gen_shape();
  at::Generator gen = make_generator(*gen_seed());
  const at::Tensor codebook =
      floats_from_integers(shape.n, shape.k, gen, -20, 10, false).to(at::kFloat);
  const at::Tensor z = floats_from_integers(shape.B, shape.k, gen, -20, 10, false).to(at::kFloat);
  for (QuantizerKind kind : kAllQuantizers) {
    RC_LOG() << name_of(kind) << "\n";
    const QuantizerOutput out = make_quantizer(kind, codebook)->forward(z);
    if (kind == QuantizerKind::vq) {
      const at::Tensor q = out.z_q_hard.detach();
      const at::Tensor bound = (z.abs() + q.abs()) * std::ldexp(1.0, -22);
      RC_ASSERT(at::all((out.z_q.detach() - q).abs() <= bound).item<bool>());
    } else {
      RC_ASSERT(at::equal(out.z_q, out.z_q_hard));
    }
  }
}

// Routing inside the quantizer: z_q never reaches the codebook (fix #1's reason for z_q_hard);
// z_q_hard reaches exactly the chosen rows, with w scattered onto them, and never z. Small
// integer weights make the sums exact in any order.
RC_GTEST_PROP(QuantizerProperty, ZqSkipsCodebookAndZqHardReachesIt, ()) {
  const QuantizerCase c = *gen_quantizer_case();
  const QuantizerProblem p = make_quantizer_problem(c);
  at::Generator gen = make_generator(*gen_seed());
  const at::Tensor w = at::randint(-8, 9, {c.shape.B, c.shape.k}, gen, at::kFloat);
  for (QuantizerKind kind : kAllQuantizers) {
    RC_LOG() << name_of(kind) << "\n";
    const QuantizerPtr quantizer = make_quantizer(kind, p.codebook);
    const at::Tensor z = p.z.clone().requires_grad_();
    QuantizerOutput out = quantizer->forward(z);
    (out.z_q * w).sum().backward();
    RC_ASSERT(max_abs(quantizer->codebook.grad()) == 0.0);

    quantizer->codebook.mutable_grad() = at::Tensor();
    z.mutable_grad() = at::Tensor();
    out = quantizer->forward(z);
    (out.z_q_hard * w).sum().backward();
    const at::Tensor expected = at::zeros_like(p.codebook).index_add_(0, out.indices, w);
    RC_ASSERT(quantizer->codebook.grad().defined());
    RC_ASSERT(at::equal(quantizer->codebook.grad(), expected));
    RC_ASSERT(max_abs(z.grad()) == 0.0);
  }
}

// STE backward (VectorQuantizer only; the other two have their own laws in
// rotation_properties_test.cpp): z_q = z + sg(q − z), so ∂(w·z_q)/∂z = w exactly, in float32
// and float64.
RC_GTEST_PROP(VectorQuantizerProperty, StraightThroughGradientIsExactlyW, ()) {
  const Shape shape = *gen_shape();
  const bool f64 = *rc::gen::arbitrary<bool>();
  at::Generator gen = make_generator(*gen_seed());
  const auto dtype = f64 ? at::kDouble : at::kFloat;
  const at::Tensor codebook = floats_from_integers(shape.n, shape.k, gen, -10, 10).to(at::kFloat);
  const at::Tensor z =
      floats_from_integers(shape.B, shape.k, gen, -10, 10).to(dtype).requires_grad_();
  const at::Tensor w = floats_from_integers(shape.B, shape.k, gen, -10, 10, false).to(dtype);
  const QuantizerOutput out = make_quantizer(QuantizerKind::vq, codebook)->forward(z);
  (out.z_q * w).sum().backward();
  RC_ASSERT(z.grad().defined());
  RC_ASSERT(at::equal(z.grad(), w));
}

}  // namespace vqvae::props
