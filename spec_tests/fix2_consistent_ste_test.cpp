// Fix #2 (seed BASELINE_FIXES.md, "CRITICAL BUG #2: Inconsistent STE Application").
// src/: quantizers/vq.cpp, VectorQuantizerImpl::estimate: z_q = z + (z_q_hard − z).detach(),
// always, whether or not z requires grad.
// Pins: with a frozen PCA encoder (z does not require grad) and with a learned encoder holding the
// same weights (z requires grad), z_q and the gradients of every shared parameter (codebook,
// decoder) after vqvae_loss(...).backward() are identical; z_q's forward value equals z_q_hard;
// z_q never carries a gradient path to the codebook; ∂z_q/∂z is the identity.
// The same check runs against mutants/fix2_conditional_ste.h (the baseline's "Current code": STE only
// when z requires grad, else z_q = z_q_hard) and fails: with the frozen encoder the
// reconstruction term then reaches the codebook.
#include "mutants/fix2_conditional_ste.h"

#include "hand_computed_vq.h"
#include "test_support.h"

#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/vq.h>
#include <vqvae/training/losses.h>

#include <torch/torch.h>

#include <functional>
#include <string>

namespace vqvae {
namespace {

using testing::fails_because;
using testing::tensors_close;

// d = 3, k = 2, n = 4, B = 4, float64. U_k = the first two columns of I_3: z = x[:, :2] exactly,
// and the third coordinate of x is a reconstruction error the decoder cannot remove.
using testing::hand_vq::U_k;  // the hand-computed case of hand_computed_vq.h
using testing::hand_vq::batch;
using testing::hand_vq::initial_codebook;

// Nearest codewords of z = x[:, :2] are 0, 1, 0, 2 (squared distances 0.05, 0.02, 0.13, 0.05),
// so z_q_hard = rows c0, c1, c0, c2.
at::Tensor expected_z_q_hard() {
  return at::tensor({0., 0., 1., 0., 0., 0., 0., 1.}, at::kDouble).view({4, 2});
}

using QuantizerFactory = std::function<QuantizerPtr(const at::Tensor& codebook)>;

QuantizerPtr library_vector_quantizer(const at::Tensor& codebook) {
  return VectorQuantizer(QuantizerOptions(2, 4).init_codebook(codebook)).ptr();
}

QuantizerPtr seed_conditional_ste_quantizer(const at::Tensor& codebook) {
  return mutants::ConditionalSteVectorQuantizer(QuantizerOptions(2, 4).init_codebook(codebook))
      .ptr();
}

struct Outcome {
  at::Tensor z_q;             // value
  at::Tensor z_q_hard;        // value
  bool z_requires_grad = false;
  bool z_q_reaches_codebook = false;
  at::Tensor codebook_grad;   // after vqvae_loss(...).total.backward()
  at::Tensor decoder_grad;
};

// encoder: frozen PCAEncoder(U_k), or a LearnedLinearEncoder whose weight is set to U_kᵀ (the
// same map). The decoder is a trainable PCADecoder(U_k), so that its gradient is compared too.
Outcome run(const QuantizerFactory& make_quantizer, bool learned_encoder) {
  EncoderPtr encoder;
  if (learned_encoder) {
    LearnedLinearEncoder learned(LearnedLinearEncoderOptions(3, 2).seed(0));
    learned->to(at::kDouble);
    torch::NoGradGuard no_grad;
    learned->weight.copy_(U_k().t());
    encoder = learned.ptr();
  } else {
    encoder = PCAEncoder(U_k()).ptr();
  }
  QuantizerPtr quantizer = make_quantizer(initial_codebook());
  VQVAE model(encoder, quantizer, PCADecoder(U_k(), /*trainable=*/true).ptr());
  const at::Tensor x = batch();
  const VQVAEOutput out = model->forward(x);

  Outcome r;
  r.z_q = out.z_q.detach().clone();
  r.z_q_hard = out.z_q_hard.detach().clone();
  r.z_requires_grad = out.z.requires_grad();
  if (out.z_q.requires_grad()) {
    const auto grads = torch::autograd::grad({out.z_q.sum()}, {quantizer->codebook}, {},
                                             /*retain_graph=*/true, false, /*allow_unused=*/true);
    r.z_q_reaches_codebook = grads[0].defined();
  }
  vqvae_loss(x, out.x_recon, out.z, out.z_q, out.z_q_hard, 0.25).total.backward();
  r.codebook_grad = quantizer->codebook.grad();
  r.decoder_grad = model->decoder()->named_parameters()["decoder_weight"].grad();
  return r;
}

::testing::AssertionResult same(const char* what, const at::Tensor& frozen,
                                const at::Tensor& learned) {
  auto result = tensors_close(frozen, learned, 1e-12);
  if (!result) return ::testing::AssertionFailure() << what << " differs (frozen vs learned): "
                                                    << result.message();
  return ::testing::AssertionSuccess();
}

// The check: everything identical for the frozen and the learned encoder, z_q = z_q_hard in
// value, z_q never a path to the codebook.
::testing::AssertionResult ste_is_consistent(const QuantizerFactory& make_quantizer) {
  const Outcome frozen = run(make_quantizer, /*learned_encoder=*/false);
  const Outcome learned = run(make_quantizer, /*learned_encoder=*/true);
  if (frozen.z_requires_grad || !learned.z_requires_grad)
    return ::testing::AssertionFailure() << "set-up: z should require grad only when learned";
  for (const Outcome* r : {&frozen, &learned}) {
    const char* which = r == &frozen ? "frozen" : "learned";
    if (r->z_q_reaches_codebook)
      return ::testing::AssertionFailure() << which << ": z_q carries a gradient to the codebook";
    if (auto ok = tensors_close(r->z_q, r->z_q_hard, 1e-12); !ok)
      return ::testing::AssertionFailure() << which << ": z_q != z_q_hard: " << ok.message();
    if (auto ok = tensors_close(r->z_q_hard, expected_z_q_hard(), 0.0); !ok)
      return ::testing::AssertionFailure() << which << ": z_q_hard: " << ok.message();
  }
  if (auto ok = same("z_q", frozen.z_q, learned.z_q); !ok) return ok;
  if (auto ok = same("codebook gradient", frozen.codebook_grad, learned.codebook_grad); !ok)
    return ok;
  if (auto ok = same("decoder gradient", frozen.decoder_grad, learned.decoder_grad); !ok) return ok;
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------- on the library
TEST(Fix2ConsistentSte, ZqAndGradientsAreIdenticalForFrozenAndLearnedEncoders) {
  EXPECT_TRUE(ste_is_consistent(library_vector_quantizer));
}

TEST(Fix2ConsistentSte, FrozenCodebookGradientIsTheCodebookTermAlone) {
  // With z_q = z + (q − z).detach() only mse(sg z, z_q_hard) reaches the codebook:
  // 2/(B·k) Σ (c_j − z_i) = 0.25·[(−0.3,−0.5), (0.1,0.1), (0.1,−0.2), 0] (fix #1's hand case).
  const Outcome frozen = run(library_vector_quantizer, /*learned_encoder=*/false);
  EXPECT_TENSOR_NEAR(
      frozen.codebook_grad,
      at::tensor({-0.075, -0.125, 0.025, 0.025, 0.025, -0.05, 0., 0.}, at::kDouble).view({4, 2}),
      1e-10);
}

TEST(Fix2ConsistentSte, ZqOfAFrozenZHasTheValueOfZqHardAndNoGraph) {
  VectorQuantizer quantizer(QuantizerOptions(2, 4).init_codebook(initial_codebook()));
  const at::Tensor z = batch().slice(1, 0, 2);  // does not require grad
  const QuantizerOutput out = quantizer(z);
  EXPECT_TENSOR_NEAR(out.z_q, expected_z_q_hard(), 1e-15);
  EXPECT_FALSE(out.z_q.requires_grad());  // "gradients naturally zero if z frozen"
  EXPECT_TRUE(out.z_q_hard.requires_grad());
}

TEST(Fix2ConsistentSte, StraightThroughGradientToZIsTheIdentity) {
  VectorQuantizer quantizer(QuantizerOptions(2, 4).init_codebook(initial_codebook()));
  const at::Tensor z = batch().slice(1, 0, 2).clone().requires_grad_(true);
  const at::Tensor g = at::tensor({1., -2., 3., 0.5, -1., 4., 2., -3.}, at::kDouble).view({4, 2});
  (quantizer(z).z_q * g).sum().backward();
  EXPECT_TENSOR_EQ(z.grad(), g);
  EXPECT_FALSE(quantizer->codebook.grad().defined());
}

// ---------------------------------------------------------------- on the baseline's buggy code
TEST(Fix2ConsistentSte, SeedConditionalSteFailsTheConsistencyCheck) {
  EXPECT_TRUE(fails_because(ste_is_consistent(seed_conditional_ste_quantizer),
                            "frozen: z_q carries a gradient to the codebook"));
}

TEST(Fix2ConsistentSte, SeedConditionalSteDiffersOnlyWhenZIsFrozen) {
  // The reproduction is not a strawman: with a learned encoder it is the library's quantizer.
  const Outcome library = run(library_vector_quantizer, /*learned_encoder=*/true);
  const Outcome seed = run(seed_conditional_ste_quantizer, /*learned_encoder=*/true);
  EXPECT_TENSOR_EQ(seed.codebook_grad, library.codebook_grad);
  EXPECT_TENSOR_EQ(seed.decoder_grad, library.decoder_grad);
  // With the frozen encoder, its z_q is the codebook rows themselves: the reconstruction term
  // adds 2/(B·d) Σ (c_j − z_i) = (1/6)·[(−0.3,−0.5), (0.1,0.1), (0.1,−0.2), 0] to the codebook.
  const Outcome seed_frozen = run(seed_conditional_ste_quantizer, /*learned_encoder=*/false);
  EXPECT_TRUE(seed_frozen.z_q_reaches_codebook);
  const at::Tensor codebook_term =
      at::tensor({-0.075, -0.125, 0.025, 0.025, 0.025, -0.05, 0., 0.}, at::kDouble).view({4, 2});
  const at::Tensor recon_term =
      at::tensor({-0.3, -0.5, 0.1, 0.1, 0.1, -0.2, 0., 0.}, at::kDouble).view({4, 2}) / 6.0;
  EXPECT_TENSOR_NEAR(seed_frozen.codebook_grad, codebook_term + recon_term, 1e-10);
}

}  // namespace
}  // namespace vqvae
