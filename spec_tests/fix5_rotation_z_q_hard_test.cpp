// Fix #5 (seed BASELINE_FIXES.md, "MINOR FIX #5: Update RotationVectorQuantizer").
// src/: quantizers/rotation_vq.{h,cpp} (and quantizers/projection_vq.cpp, quantizers/base.cpp,
// which build z_q_hard for every quantizer).
// Pins: RotationVectorQuantizer and ProjectionVectorQuantizer return z_q_hard = codebook[indices]
// carrying the codebook's gradient, so vqvae_loss gives the codebook exactly
// Σ_{i→j} 2 (c_j − z_i)/(B·k); one Trainer step works with each (exact codebook update with a
// frozen encoder, every parameter moves with learned ones); the rotation trick's gradient is
// ∂L/∂z = λ Rᵀ g with λ = ‖q‖/‖z‖, R = I − 2 r rᵀ + 2 q̂ êᵀ, on hand-computed 2-D and 3-D cases,
// and nothing reaches q through it.
// The same checks run against mutants/fix5_rotation_without_z_q_hard.h and fail: (a) the baseline's
// rotation forward whose info lacks z_q_hard (the loss falls back to z_q, which has no path to
// the codebook); (b) a rotation trick with the scale inverted, ‖z‖/‖q‖.
#include "mutants/fix5_rotation_without_z_q_hard.h"

#include "hand_computed_vq.h"
#include "test_support.h"

#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/projection_vq.h>
#include <vqvae/quantizers/rotation_vq.h>
#include <vqvae/training/losses.h>
#include <vqvae/training/trainer.h>

#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace vqvae {
namespace {

using mutants::BaselineQuantizerResult;
using testing::fails_because;
using testing::tensors_close;

// ---------------------------------------------------------------- the z_q_hard case
// As fix #1's hand case: d = 3, k = 2, n = 4, B = 4, float64, U_k = first two columns of I_3,
// z = x[:, :2]; nearest codewords 0, 1, 0, 2; ∂L/∂c = 0.25·[(−0.3,−0.5), (0.1,0.1), (0.1,−0.2), 0].
using testing::hand_vq::U_k;  // the hand-computed case of hand_computed_vq.h
using testing::hand_vq::batch;
using testing::hand_vq::initial_codebook;
at::Tensor expected_indices() { return at::tensor({0, 1, 0, 2}, at::kLong); }
at::Tensor expected_z_q_hard() {
  return at::tensor({0., 0., 1., 0., 0., 0., 0., 1.}, at::kDouble).view({4, 2});
}
at::Tensor expected_codebook_gradient() {
  return at::tensor({-0.075, -0.125, 0.025, 0.025, 0.025, -0.05, 0., 0.}, at::kDouble).view({4, 2});
}

using QuantizerFactory = std::function<QuantizerPtr(const at::Tensor& codebook)>;

QuantizerPtr rotation(const at::Tensor& codebook) {
  return RotationVectorQuantizer(
             QuantizerOptions(codebook.size(1), codebook.size(0)).init_codebook(codebook))
      .ptr();
}
QuantizerPtr projection(const at::Tensor& codebook) {
  return ProjectionVectorQuantizer(
             QuantizerOptions(codebook.size(1), codebook.size(0)).init_codebook(codebook))
      .ptr();
}
QuantizerPtr inverted_scale_rotation(const at::Tensor& codebook) {
  return mutants::InvertedScaleRotationVectorQuantizer(
             QuantizerOptions(codebook.size(1), codebook.size(0)).init_codebook(codebook))
      .ptr();
}

// The library's output in the baseline's (z_q, indices, info) form.
BaselineQuantizerResult as_baseline(const QuantizerOutput& out) {
  return {out.z_q,
          out.indices,
          {{"z_q_hard", out.z_q_hard},
           {"distances", out.distances},
           {"commitment_loss", out.commitment_loss}}};
}

// The check: z_q_hard is codebook[indices], and vqvae_loss with it gives the codebook the closed-
// form gradient. `codebook` is the leaf whose gradient is read. Like the baseline's consumers, it
// falls back to z_q when info has no 'z_q_hard'.
::testing::AssertionResult returns_z_q_hard_with_codebook_gradient(
    const std::function<BaselineQuantizerResult(const at::Tensor&)>& quantize,
    const at::Tensor& codebook) {
  const at::Tensor x = batch();
  const at::Tensor z = x.slice(1, 0, 2).contiguous();  // a frozen PCA encoder's output
  const BaselineQuantizerResult result = quantize(z);
  const auto found = result.info.find("z_q_hard");
  const at::Tensor z_q_hard = found != result.info.end() ? found->second : result.z_q;
  if (auto ok = tensors_close(result.indices, expected_indices(), 0.0); !ok)
    return ::testing::AssertionFailure() << "indices: " << ok.message();
  if (auto ok = tensors_close(z_q_hard, expected_z_q_hard(), 0.0); !ok)
    return ::testing::AssertionFailure() << "z_q_hard != codebook[indices]: " << ok.message();
  const at::Tensor x_recon = result.z_q.matmul(U_k().t());  // a frozen PCA decoder
  try {
    vqvae_loss(x, x_recon, z, result.z_q, z_q_hard, 0.25).total.backward();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "backward() failed: " << e.what();
  }
  if (!codebook.grad().defined())
    return ::testing::AssertionFailure() << "the codebook received no gradient";
  return tensors_close(codebook.grad(), expected_codebook_gradient(), 1e-10);
}

::testing::AssertionResult library_returns_z_q_hard(const QuantizerFactory& make) {
  QuantizerPtr quantizer = make(initial_codebook());
  return returns_z_q_hard_with_codebook_gradient(
      [&](const at::Tensor& z) { return as_baseline(quantizer->forward(z)); }, quantizer->codebook);
}

// ---------------------------------------------------------------- the rotation-trick cases
struct RotationCase {
  const char* name;
  at::Tensor z;         // (B, k)
  at::Tensor codebook;  // (1, k): q for every row
  at::Tensor g;         // (B, k) upstream gradient
  at::Tensor expected;  // (B, k) λ Rᵀ g, by hand
};

at::Tensor rows(std::initializer_list<double> values, int64_t k) {
  return at::tensor(values, at::kDouble).view({-1, k});
}

std::vector<RotationCase> rotation_cases() {
  return {
      // ê = (1,0), q̂ = (0,1): R = rotation by +90° = [[0,−1],[1,0]], Rᵀ g = (g2, −g1) = (2, −1);
      // λ = ‖q‖/‖z‖ = 1/2 -> (1, −0.5).
      {"2-D, z = (2,0), q = (0,1)", rows({2., 0.}, 2), rows({0., 1.}, 2), rows({1., 2.}, 2),
       rows({1., -0.5}, 2)},
      // ê = (0.6,0.8), q̂ = (0,1): cos = ê·q̂ = 0.8, sin = 0.6, R = [[0.8,−0.6],[0.6,0.8]]
      // (from the formula: r = (0.6,1.8)/√3.6, I − 2rrᵀ = [[0.8,−0.6],[−0.6,−0.8]],
      // 2q̂êᵀ = [[0,0],[1.2,1.6]]). Rᵀ (1,0) = (0.8, −0.6); λ = 10/5 = 2 -> (1.6, −1.2).
      {"2-D, z = (3,4), q = (0,10)", rows({3., 4.}, 2), rows({0., 10.}, 2), rows({1., 0.}, 2),
       rows({1.6, -1.2}, 2)},
      // ê = e1, q̂ = e3: r = (1,0,1)/√2, R = [[0,0,−1],[0,1,0],[1,0,0]] (90° about y).
      // Rᵀ (1,2,3) = (3, 2, −1); λ = 3/2 -> (4.5, 3, −1.5).
      {"3-D, z = (2,0,0), q = (0,0,3)", rows({2., 0., 0.}, 3), rows({0., 0., 3.}, 3),
       rows({1., 2., 3.}, 3), rows({4.5, 3., -1.5}, 3)},
      // ê = (1,2,2)/3, q̂ = e1, ê·q̂ = 1/3: r = (2,1,1)/√6,
      // R = I − (1/3)[[4,2,2],[2,1,1],[2,1,1]] + 2 e1 (1,2,2)/3
      //   = [[1/3, 2/3, 2/3], [−2/3, 2/3, −1/3], [−2/3, −1/3, 2/3]]   (R ê = e1, rows orthonormal).
      // λ = 6/3 = 2. Rᵀ (1,0,0) = row 1 = (1/3, 2/3, 2/3) -> (2/3, 4/3, 4/3);
      // Rᵀ (0,3,0) = 3·row 2 = (−2, 2, −1) -> (−4, 4, −2).
      {"3-D, z = (1,2,2), q = (6,0,0)", rows({1., 2., 2., 1., 2., 2.}, 3), rows({6., 0., 0.}, 3),
       rows({1., 0., 0., 0., 3., 0.}, 3), rows({2. / 3., 4. / 3., 4. / 3., -4., 4., -2.}, 3)},
  };
}

// The check: through the quantizer's forward, z_q has the value q, ∂L/∂z = λ Rᵀ g by hand, and
// nothing reaches the codebook from z_q.
::testing::AssertionResult rotation_gradient_is_lambda_R_transpose_g(const QuantizerFactory& make) {
  for (const RotationCase& c : rotation_cases()) {
    QuantizerPtr quantizer = make(c.codebook);
    const at::Tensor z = c.z.clone().requires_grad_(true);
    const QuantizerOutput out = quantizer->forward(z);
    if (auto ok = tensors_close(out.z_q, c.codebook.expand_as(c.z), 1e-12); !ok)
      return ::testing::AssertionFailure() << c.name << ": z_q != q: " << ok.message();
    (out.z_q * c.g).sum().backward();
    if (auto ok = tensors_close(z.grad(), c.expected, 1e-12); !ok)
      return ::testing::AssertionFailure() << c.name << ": ∂L/∂z != λ Rᵀ g: " << ok.message();
    const at::Tensor codebook_grad = quantizer->codebook.grad();
    if (codebook_grad.defined() && codebook_grad.abs().max().item<double>() != 0.0)
      return ::testing::AssertionFailure() << c.name << ": gradient reached q through z_q";
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------- z_q_hard, on the library
TEST(Fix5RotationZqHard, RotationQuantizerReturnsZqHardWithTheCodebookGradient) {
  EXPECT_TRUE(library_returns_z_q_hard(rotation));
}

TEST(Fix5RotationZqHard, ProjectionQuantizerReturnsZqHardWithTheCodebookGradient) {
  EXPECT_TRUE(library_returns_z_q_hard(projection));
}

// One SGD step (lr 0.5) with a frozen PCA encoder and decoder: only the codebook term moves the
// codebook, to c − 0.5·∂L/∂c = (0.0375, 0.0625), (0.9875, −0.0125), (−0.0125, 1.025), (5, 5).
void expect_exact_training_step(const QuantizerFactory& make) {
  QuantizerPtr quantizer = make(initial_codebook());
  VQVAE model(PCAEncoder(U_k()).ptr(), quantizer, PCADecoder(U_k()).ptr());
  Trainer trainer(model, TrainerOptions().optimizer(OptimizerKind::sgd).lr(0.5));
  const LossOutput loss = trainer.train_step(batch(), 0.25);
  // codebook term = mean of squared errors = (0.05 + 0.02 + 0.13 + 0.05)/8 = 0.03125.
  EXPECT_NEAR(loss.codebook, 0.03125, 1e-15);
  EXPECT_TENSOR_NEAR(
      quantizer->codebook,
      at::tensor({0.0375, 0.0625, 0.9875, -0.0125, -0.0125, 1.025, 5., 5.}, at::kDouble).view({4, 2}),
      1e-12);
}

// One SGD step with a learned encoder and decoder: every parameter moves and stays finite.
void expect_learned_training_step(const QuantizerFactory& make) {
  QuantizerPtr quantizer = make(initial_codebook());
  VQVAE model(PCAEncoder(U_k(), true).ptr(), quantizer, PCADecoder(U_k(), true).ptr());
  std::vector<at::Tensor> before;
  for (const auto& p : model->parameters()) before.push_back(p.detach().clone());
  ASSERT_EQ(before.size(), 3u);  // encoder_weight, codebook, decoder_weight
  Trainer trainer(model, TrainerOptions().optimizer(OptimizerKind::sgd).lr(0.1));
  const LossOutput loss = trainer.train_step(batch(), 0.25);
  EXPECT_TRUE(std::isfinite(loss.total_value));
  const auto after = model->parameters();
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(after[i].isfinite().all().item<bool>());
    EXPECT_GT((after[i] - before[i]).abs().max().item<double>(), 0.0) << "parameter " << i;
  }
}

TEST(Fix5RotationZqHard, TrainingStepWorksWithTheRotationQuantizer) {
  expect_exact_training_step(rotation);
  expect_learned_training_step(rotation);
}

TEST(Fix5RotationZqHard, TrainingStepWorksWithTheProjectionQuantizer) {
  expect_exact_training_step(projection);
  expect_learned_training_step(projection);
}

// ---------------------------------------------------------------- z_q_hard, on the baseline's code
TEST(Fix5RotationZqHard, SeedRotationForwardWithoutZqHardFailsTheCheck) {
  // Its info has no 'z_q_hard'; the fallback z_q carries no gradient to the codebook, so with a
  // frozen encoder the loss has no graph at all and backward() fails.
  const at::Tensor codebook = initial_codebook().requires_grad_(true);
  const auto seed_forward = [&](const at::Tensor& z) {
    return mutants::baseline_rotation_forward(codebook, z);
  };
  EXPECT_EQ(seed_forward(batch().slice(1, 0, 2)).info.count("z_q_hard"), 0u);
  EXPECT_TRUE(fails_because(returns_z_q_hard_with_codebook_gradient(seed_forward, codebook),
                            "backward() failed"));
}

// ---------------------------------------------------------------- the rotation trick
TEST(Fix5RotationZqHard, RotationTrickGradientIsLambdaRTransposeGOnHandCases) {
  EXPECT_TRUE(rotation_gradient_is_lambda_R_transpose_g(rotation));
}

TEST(Fix5RotationZqHard, RotationFrameHasTheHandComputedScaleAndMatrix) {
  const at::Tensor z = rows({1., 2., 2., 2., 0., 0.}, 3);
  const at::Tensor q = rows({6., 0., 0., 0., 0., 3.}, 3);
  // λ = ‖q‖/‖z‖ = 6/3 and 3/2.
  EXPECT_TENSOR_NEAR(rotation_frame(z, q).lambda, at::tensor({2.0, 1.5}, at::kDouble), 1e-15);
  const at::Tensor R = rotation_matrices(z, q);
  EXPECT_TENSOR_NEAR(R[0], rows({1., 2., 2., -2., 2., -1., -2., -1., 2.}, 3) / 3.0, 1e-12);
  EXPECT_TENSOR_NEAR(R[1], rows({0., 0., -1., 0., 1., 0., 1., 0., 0.}, 3), 1e-12);
}

TEST(Fix5RotationZqHard, InvertedScaleRotationTrickFailsTheCheck) {
  EXPECT_TRUE(fails_because(rotation_gradient_is_lambda_R_transpose_g(inverted_scale_rotation),
                            "2-D, z = (2,0), q = (0,1): ∂L/∂z != λ Rᵀ g"));
}

TEST(Fix5RotationZqHard, InvertedScaleRotationTrickDiffersOnlyInTheScale) {
  // Faithful to the port's mistake: same R, same forward value, gradient scaled by
  // (‖z‖/‖q‖)/(‖q‖/‖z‖) = ‖z‖²/‖q‖². Case z = (3,4), q = (0,10): 25/100 -> (1.6,−1.2)/4.
  QuantizerPtr quantizer = inverted_scale_rotation(rows({0., 10.}, 2));
  const at::Tensor z = rows({3., 4.}, 2).requires_grad_(true);
  const QuantizerOutput out = quantizer->forward(z);
  EXPECT_TENSOR_NEAR(out.z_q, rows({0., 10.}, 2), 1e-12);
  (out.z_q * rows({1., 0.}, 2)).sum().backward();
  EXPECT_TENSOR_NEAR(z.grad(), rows({0.4, -0.3}, 2), 1e-12);
}

}  // namespace
}  // namespace vqvae
