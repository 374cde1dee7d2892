// Fix #1 (seed BASELINE_FIXES.md, "CRITICAL BUG #1: Incorrect Codebook Loss Gradient Flow").
// src/: training/losses.cpp (codebook term = mse(sg z, z_q_hard)), quantizers/base.cpp (forward
// returns z_q_hard = codebook[indices]), models/vqvae.cpp (outputs carry z_q_hard),
// training/trainer.cpp (train_step hands z_q_hard to the loss).
// Pins: after vqvae_loss(...).total.backward() the codebook's gradient is exactly
//   ∂L/∂c_j = Σ_{i : indices_i = j} 2 (c_j − z_i) / (B·k)   (zero for an unassigned codeword),
// whatever the encoder; the reconstruction term sends nothing to the codebook; one SGD step of
// the Trainer moves the codebook by exactly −lr times that gradient.
// The same checks run against mutants/fix1_buggy_loss.h (the baseline's "Current code") and fail.
//
// What the baseline leaves implicit: with the fixed STE (fix #2), the buggy loss and a frozen encoder
// and decoder, nothing in the loss requires grad at all (z, z_q and x_recon carry no graph, and
// the codebook term compares two constants). Trainer::train_step then throws InvalidArgument
// instead of silently doing nothing: pinned by BuggyLossWithFrozenEncoderIsAClearTrainerError.
#include "mutants/fix1_buggy_loss.h"

#include "hand_computed_vq.h"
#include "test_support.h"

#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/vq.h>
#include <vqvae/training/losses.h>
#include <vqvae/training/trainer.h>

#include <torch/torch.h>

#include <functional>
#include <string>

namespace vqvae {
namespace {

using testing::fails_because;
using testing::tensors_close;

// ---------------------------------------------------------------- the hand-computed case
// d = 3, k = 2, n = 4, B = 4, all float64. U_k = the first two columns of I_3, so that
// z = x·U_k is exactly the first two coordinates of x; the third coordinate is what a
// PCADecoder(U_k) cannot reconstruct (so the reconstruction term is not zero).
using testing::hand_vq::U_k;  // the hand-computed case of hand_computed_vq.h
using testing::hand_vq::batch;
using testing::hand_vq::initial_codebook;

// Squared distances ‖z_i − c_j‖²:
//   z0 = ( 0.1, 0.2): c0 0.05, c1 0.85, c2 0.65           -> 0
//   z1 = ( 0.9,-0.1): c0 0.82, c1 0.02, c2 2.02           -> 1
//   z2 = ( 0.2, 0.3): c0 0.13, c1 0.73, c2 0.53           -> 0
//   z3 = (-0.1, 1.2): c0 1.45, c1 2.65, c2 0.05           -> 2     (c3 is far from all: unused)
at::Tensor expected_indices() { return at::tensor({0, 1, 0, 2}, at::kLong); }

// 2/(B·k) = 2/8 = 0.25:
//   c0: 0.25·[(c0 − z0) + (c0 − z2)] = 0.25·[(−0.1,−0.2) + (−0.2,−0.3)] = (−0.075, −0.125)
//   c1: 0.25·(c1 − z1) = 0.25·( 0.1, 0.1) = ( 0.025,  0.025)
//   c2: 0.25·(c2 − z3) = 0.25·( 0.1,−0.2) = ( 0.025, −0.05 )
//   c3: unassigned                         = ( 0,      0    )
at::Tensor expected_codebook_gradient() {
  return at::tensor({-0.075, -0.125, 0.025, 0.025, 0.025, -0.05, 0., 0.}, at::kDouble).view({4, 2});
}

VQVAE make_model(bool encoder_trainable, bool decoder_trainable = false) {
  return VQVAE(PCAEncoder(U_k(), encoder_trainable),
               VectorQuantizer(QuantizerOptions(2, 4).init_codebook(initial_codebook())),
               PCADecoder(U_k(), decoder_trainable));
}

// The implementation under check: what the training code calls with the model's outputs.
LossOutput fixed_loss(const at::Tensor& x, const VQVAEOutput& out, double beta) {
  return vqvae_loss(x, out.x_recon, out.z, out.z_q, out.z_q_hard, beta);
}

// ---------------------------------------------------------------- the checks
// After loss(...).total.backward(), the codebook's gradient equals the closed form to 1e-10.
::testing::AssertionResult codebook_gradient_is_analytic(const LossFunction& loss,
                                                         bool encoder_trainable) {
  VQVAE model = make_model(encoder_trainable, /*decoder_trainable=*/encoder_trainable);
  const at::Tensor x = batch();
  const VQVAEOutput out = model->forward(x);
  try {
    loss(x, out, 0.25).total.backward();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "backward() failed: " << e.what();
  }
  const at::Tensor grad = model->quantizer()->codebook.grad();
  if (!grad.defined()) return ::testing::AssertionFailure() << "the codebook received no gradient";
  return tensors_close(grad, expected_codebook_gradient(), 1e-10);
}

// One Trainer step (SGD, lr 0.5, no momentum) moves the codebook to c − 0.5·∂L/∂c, with
//   c0 = (0,0) − 0.5·(−0.075,−0.125) = ( 0.0375,  0.0625)
//   c1 = (1,0) − 0.5·( 0.025, 0.025) = ( 0.9875, −0.0125)
//   c2 = (0,1) − 0.5·( 0.025,−0.05 ) = (−0.0125,  1.025 )
//   c3 = (5,5)                         unchanged
::testing::AssertionResult trainer_step_moves_codebook(const LossFunction& loss,
                                                       bool encoder_trainable) {
  VQVAE model = make_model(encoder_trainable);
  Trainer trainer(model, TrainerOptions().optimizer(OptimizerKind::sgd).lr(0.5).loss(loss));
  try {
    trainer.train_step(batch(), 0.25);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "train_step threw: " << e.what();
  }
  const at::Tensor expected =
      at::tensor({0.0375, 0.0625, 0.9875, -0.0125, -0.0125, 1.025, 5., 5.}, at::kDouble).view({4, 2});
  return tensors_close(model->quantizer()->codebook, expected, 1e-12);
}

// ---------------------------------------------------------------- on the library
TEST(Fix1CodebookGradient, CodebookGradientIsTheClosedFormWithAFrozenEncoder) {
  EXPECT_TRUE(codebook_gradient_is_analytic(fixed_loss, /*encoder_trainable=*/false));
}

TEST(Fix1CodebookGradient, CodebookGradientIsTheClosedFormWithALearnedEncoderAndDecoder) {
  // Recon (through the STE) and commitment (sg z_q_hard) must add nothing to it.
  EXPECT_TRUE(codebook_gradient_is_analytic(fixed_loss, /*encoder_trainable=*/true));
}

TEST(Fix1CodebookGradient, ClosedFormIsTheDerivativeOfTheCodebookTerm) {
  // Guards the hand computation itself: central differences of mse(z, codebook[indices]) with the
  // assignments of the hand case held fixed (eps = 1e-6 moves no codeword across a boundary).
  const at::Tensor z = batch().slice(1, 0, 2);
  const auto codebook_term = [&](const at::Tensor& codebook) {
    return at::mse_loss(z, codebook.index_select(0, expected_indices())).item<double>();
  };
  const at::Tensor numeric = testing::finite_difference_gradient(codebook_term, initial_codebook());
  EXPECT_TENSOR_NEAR(numeric, expected_codebook_gradient(), 1e-8);
}

TEST(Fix1CodebookGradient, ReconstructionTermSendsNothingToTheCodebook) {
  VQVAE model = make_model(/*encoder_trainable=*/true, /*decoder_trainable=*/true);
  const at::Tensor x = batch();
  const VQVAEOutput out = model->forward(x);
  at::mse_loss(out.x_recon, x).backward();
  const at::Tensor codebook_grad = model->quantizer()->codebook.grad();
  EXPECT_TRUE(!codebook_grad.defined() || codebook_grad.abs().max().item<double>() == 0.0)
      << "codebook gradient from the reconstruction term: " << codebook_grad;
  // Not vacuous: the same backward did reach the encoder (straight through) and the decoder.
  const at::Tensor encoder_grad = model->encoder()->named_parameters()["encoder_weight"].grad();
  const at::Tensor decoder_grad = model->decoder()->named_parameters()["decoder_weight"].grad();
  ASSERT_TRUE(encoder_grad.defined() && decoder_grad.defined());
  EXPECT_GT(encoder_grad.abs().max().item<double>(), 0.0);
  EXPECT_GT(decoder_grad.abs().max().item<double>(), 0.0);
}

TEST(Fix1CodebookGradient, ModelOutputsCarryZqHardWithTheCodebooksGradient) {
  VQVAE model = make_model(/*encoder_trainable=*/false);
  const VQVAEOutput out = model->forward(batch());
  EXPECT_TENSOR_EQ(out.indices, expected_indices());
  ASSERT_TRUE(out.z_q_hard.defined());
  // codebook rows 0, 1, 0, 2
  EXPECT_TENSOR_EQ(out.z_q_hard,
                   at::tensor({0., 0., 1., 0., 0., 0., 0., 1.}, at::kDouble).view({4, 2}));
  ASSERT_TRUE(out.z_q_hard.requires_grad());
  out.z_q_hard.sum().backward();
  // ∂ Σ z_q_hard / ∂c_j = (number of rows assigned to j) in every coordinate: 2, 1, 1, 0.
  EXPECT_TENSOR_EQ(model->quantizer()->codebook.grad(),
                   at::tensor({2., 2., 1., 1., 1., 1., 0., 0.}, at::kDouble).view({4, 2}));
}

TEST(Fix1CodebookGradient, TrainerStepMovesTheCodebookByMinusLrTimesTheGradient) {
  // LossFunction{}: the Trainer's own default loss (fix #1 step 4: it passes z_q_hard).
  EXPECT_TRUE(trainer_step_moves_codebook(LossFunction{}, /*encoder_trainable=*/false));
  EXPECT_TRUE(trainer_step_moves_codebook(LossFunction{}, /*encoder_trainable=*/true));
}

TEST(Fix1CodebookGradient, FixedLossWithAFrozenEncoderStillHasAGradientPath) {
  VQVAE model = make_model(/*encoder_trainable=*/false);
  const VQVAEOutput out = model->forward(batch());
  EXPECT_FALSE(out.z.requires_grad());
  EXPECT_FALSE(out.x_recon.requires_grad());
  EXPECT_TRUE(fixed_loss(batch(), out, 0.25).total.requires_grad());  // via the codebook term
}

// ---------------------------------------------------------------- on the baseline's buggy code
TEST(Fix1CodebookGradient, SeedBuggyLossFailsTheCodebookGradientCheck) {
  // Frozen encoder: backward() on a loss with no graph fails. Learned encoder: the codebook term's
  // gradient goes to z through the STE, and the codebook receives none.
  EXPECT_TRUE(fails_because(codebook_gradient_is_analytic(mutants::buggy_trainer_loss, false),
                            "backward() failed"));
  EXPECT_TRUE(fails_because(codebook_gradient_is_analytic(mutants::buggy_trainer_loss, true),
                            "the codebook received no gradient"));
}

TEST(Fix1CodebookGradient, SeedBuggyTrainerLossFailsTheTrainerStepCheck) {
  // Frozen encoder: the Trainer refuses a loss without a gradient path. Learned encoder: the
  // step runs but leaves the codebook where it was (c0, c1, c2 differ from the expected update).
  EXPECT_TRUE(fails_because(trainer_step_moves_codebook(mutants::buggy_trainer_loss, false),
                            "loss must depend on a trainable parameter"));
  EXPECT_TRUE(fails_because(trainer_step_moves_codebook(mutants::buggy_trainer_loss, true),
                            "6 of 8 elements differ"));
}

TEST(Fix1CodebookGradient, BuggyLossWithFrozenEncoderIsAClearTrainerError) {
  VQVAE model = make_model(/*encoder_trainable=*/false);
  const VQVAEOutput out = model->forward(batch());
  // With the fixed STE and a frozen encoder, z_q = z + (q − z).detach() has no graph, so the
  // buggy codebook term mse(sg z, z_q) is a constant: nothing in the loss requires grad.
  EXPECT_FALSE(mutants::buggy_trainer_loss(batch(), out, 0.25).total.requires_grad());

  const at::Tensor before = model->quantizer()->codebook.detach().clone();
  Trainer trainer(model, TrainerOptions()
                             .optimizer(OptimizerKind::sgd)
                             .lr(0.5)
                             .loss(mutants::buggy_trainer_loss));
  EXPECT_TRUE(testing::throws_invalid([&] { trainer.train_step(batch(), 0.25); },
                                      {"Trainer::train_step", "loss must depend on a trainable "
                                                              "parameter"}));
  EXPECT_TENSOR_EQ(model->quantizer()->codebook, before);  // and nothing was changed
}

}  // namespace
}  // namespace vqvae
