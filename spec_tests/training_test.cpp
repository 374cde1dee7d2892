// Loss and trainer (src/training/vqvae/training/): values against hand computation, the codebook gradient in
// closed form, optimizer steps by hand, and the no-gradient-path error.
#include "test_support.h"

#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/vq.h>
#include <vqvae/training/losses.h>
#include <vqvae/training/trainer.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace vqvae {
namespace {

using testing::throws_invalid;

// x = (1, 2), x_recon = (1.5, 2): recon = (0.25 + 0)/2 = 0.125.
// z = (1, 0), z_q_hard = (0, 0): codebook = commitment = (1 + 0)/2 = 0.5.
// total = 0.125 + 0.5 + 0.25 · 0.5 = 0.75; with beta = 1: 1.125.
TEST(VqvaeLoss, ValuesByHand) {
  torch::Tensor x = torch::tensor({{1.0, 2.0}}), x_recon = torch::tensor({{1.5, 2.0}});
  torch::Tensor z = torch::tensor({{1.0, 0.0}}), q = torch::tensor({{0.0, 0.0}});
  LossOutput loss = vqvae_loss(x, x_recon, z, q, q);
  EXPECT_DOUBLE_EQ(loss.recon, 0.125);
  EXPECT_DOUBLE_EQ(loss.codebook, 0.5);
  EXPECT_DOUBLE_EQ(loss.commitment, 0.5);
  EXPECT_DOUBLE_EQ(loss.total_value, 0.75);
  EXPECT_DOUBLE_EQ(loss.total.item<double>(), 0.75);
  EXPECT_DOUBLE_EQ(vqvae_loss(x, x_recon, z, q, q, 1.0).total_value, 1.125);
}

// Codebook gradient of the codebook term: ∂/∂c_j mse(sg z, c[idx]) = Σ_{i: idx_i = j} 2(c_j − z_i)/(B·k).
// B = 3, k = 2; z0, z2 -> c0 = (0,0); z1 -> c1 = (4,4); c2 unused.
TEST(VqvaeLoss, CodebookGradientInClosedForm) {
  torch::Tensor codebook = torch::tensor({{0.0, 0.0}, {4.0, 4.0}, {-9.0, 9.0}}, torch::kDouble).requires_grad_();
  torch::Tensor z = torch::tensor({{1.0, 0.5}, {3.0, 5.0}, {-0.5, 1.0}}, torch::kDouble);
  torch::Tensor idx = torch::tensor({0, 1, 0}, torch::kLong);
  torch::Tensor q = codebook.index_select(0, idx);
  vqvae_loss(z, z, z, q, q).total.backward();  // recon term is zero and has no codebook path
  // c0: 2/(3·2)·((0−1) + (0+0.5), (0−0.5) + (0−1)) = (1/3)·(−0.5, −1.5)
  // c1: (1/3)·(4−3, 4−5) = (1/3, −1/3); c2: 0.
  // The commitment term adds no codebook gradient (sg on z_q_hard).
  torch::Tensor expected = torch::tensor({{-0.5 / 3, -1.5 / 3}, {1.0 / 3, -1.0 / 3}, {0.0, 0.0}}, torch::kDouble);
  EXPECT_TENSOR_NEAR(codebook.grad(), expected, 1e-15);
}

TEST(VqvaeLoss, BadInputNamesArgumentAndValues) {
  torch::Tensor x = torch::zeros({2, 4}), z = torch::zeros({2, 3});
  EXPECT_TRUE(throws_invalid([&] { vqvae_loss(x, torch::zeros({2, 5}), z, z, z); }, {"x_recon", "(B, d) = (2, 4)", "got (2, 5)"}));
  EXPECT_TRUE(throws_invalid([&] { vqvae_loss(x, x, z, z, torch::zeros({2, 2})); }, {"z_q_hard", "(B, k) = (2, 3)", "got (2, 2)"}));
  EXPECT_TRUE(throws_invalid([&] { vqvae_loss(x, x, z, z, z, -0.5); }, {"beta", "-0.5"}));
  EXPECT_TRUE(throws_invalid([&] { vqvae_loss(torch::zeros({0, 4}), torch::zeros({0, 4}), z, z, z); }, {"batch size B must be >= 1", "got 0"}));
}

VQVAE pca_model(int64_t codebook_size, const torch::Tensor& codebook) {
  torch::Tensor U = torch::eye(4, torch::kFloat).slice(1, 0, 2);  // z = first two coordinates
  return VQVAE(PCAEncoder(U), VectorQuantizer(2, codebook_size, codebook), PCADecoder(U));
}

// SGD, frozen PCA encoder/decoder: only the codebook term moves the codebook, so one step is
// c ← c − lr · Σ 2(c_j − z_i)/(B·k). Batch: x0 = (1, 0, 7, 7) -> z0 = (1, 0) -> c0 = (0, 0);
// x1 = (3, 3, 0, 0) -> z1 = (3, 3) -> c1 = (2, 2). B·k = 4.
// grad c0 = 2/4·(0−1, 0−0) = (−0.5, 0); grad c1 = 2/4·(2−3, 2−3) = (−0.5, −0.5).
// lr = 0.1: c0 = (0.05, 0), c1 = (2.05, 2.05).
TEST(Trainer, SgdStepMovesCodebookByHand) {
  VQVAE model = pca_model(2, torch::tensor({{0.0, 0.0}, {2.0, 2.0}}));
  Trainer trainer(model, TrainerOptions().optimizer(OptimizerKind::sgd).lr(0.1));
  torch::Tensor batch = torch::tensor({{1.0, 0.0, 7.0, 7.0}, {3.0, 3.0, 0.0, 0.0}});
  LossOutput loss = trainer.train_step(batch);
  EXPECT_TENSOR_NEAR(model->quantizer()->codebook, torch::tensor({{0.05, 0.0}, {2.05, 2.05}}), 1e-6);
  // codebook = commitment = (1 + 0 + 1 + 1)/4 = 0.75 before the step.
  EXPECT_NEAR(loss.codebook, 0.75, 1e-6);
  EXPECT_NEAR(loss.commitment, 0.75, 1e-6);
}

// Adam's first step moves every parameter with a non-zero gradient by lr·sign(grad) (m̂/√v̂ = ±1).
TEST(Trainer, AdamFirstStepIsLrTimesSign) {
  VQVAE model = pca_model(2, torch::tensor({{0.0, 0.0}, {2.0, 2.0}}));
  Trainer trainer(model, TrainerOptions().optimizer(OptimizerKind::adam).lr(0.01));
  trainer.train_step(torch::tensor({{1.0, 0.0, 7.0, 7.0}, {3.0, 3.0, 0.0, 0.0}}));
  // grad c0 = (−0.5, 0): c0 = (0.01, 0); grad c1 = (−0.5, −0.5): c1 = (2.01, 2.01).
  EXPECT_TENSOR_NEAR(model->quantizer()->codebook, torch::tensor({{0.01, 0.0}, {2.01, 2.01}}), 1e-6);
}

TEST(Trainer, ErrorsInsteadOfSilentNoOps) {
  VQVAE frozen = pca_model(2, torch::tensor({{0.0, 0.0}, {2.0, 2.0}}));
  frozen->quantizer()->freeze();
  EXPECT_TRUE(throws_invalid([&] { Trainer(frozen, TrainerOptions()); }, {"Trainer", "trainable parameter", "got 0"}));
  VQVAE model = pca_model(2, torch::tensor({{0.0, 0.0}, {2.0, 2.0}}));
  EXPECT_TRUE(throws_invalid([&] { Trainer(model, TrainerOptions().lr(0)); }, {"lr must be finite and > 0", "got 0"}));
  EXPECT_TRUE(throws_invalid([] { parse_choice(kOptimizerNames, "rmsprop", param("optimizer")); },
                             {"optimizer", "adam or sgd", "'rmsprop'"}));
  // A loss without any path to a trainable parameter: a clear error, nothing stepped.
  Trainer trainer(model, TrainerOptions().loss([](const torch::Tensor& x, const VQVAEOutput& out, double) {
    return vqvae_loss(x, out.x_recon.detach(), out.z, out.z_q, out.z_q_hard.detach());
  }));
  EXPECT_TRUE(throws_invalid([&] { trainer.train_step(torch::ones({2, 4})); }, {"train_step", "no gradient path"}));
}

// A checkpoint holds the model and Adam's state: a trainer on another state that loads it takes
// the steps the saving trainer takes next. Adam's second step from the hand example depends on its
// moments (m, v after step 1), so a checkpoint without them would step by lr·sign again, a different
// codebook; the other trainer's codebook is (5, 5), (9, 9), so one without the model would differ too.
TEST(Trainer, CheckpointRoundTripResumesTheSameSteps) {
  const torch::Tensor batch = torch::tensor({{1.0, 0.0, 7.0, 7.0}, {3.0, 3.0, 0.0, 0.0}});
  const torch::Tensor second = torch::tensor({{0.5, 0.5, 1.0, 1.0}, {2.5, 1.5, 0.0, 3.0}});
  VQVAE model = pca_model(2, torch::tensor({{0.0, 0.0}, {2.0, 2.0}}));
  Trainer saving(model, TrainerOptions().optimizer(OptimizerKind::adam).lr(0.01));
  saving.train_step(batch);
  const std::string folder = testing::fresh_folder("checkpoint").string(), path = folder + "/trainer.pt";
  saving.save_checkpoint(path);
  const LossOutput continued = saving.train_step(second);
  VQVAE other = pca_model(2, torch::tensor({{5.0, 5.0}, {9.0, 9.0}}));
  Trainer loading(other, TrainerOptions().optimizer(OptimizerKind::adam).lr(0.01));
  loading.load_checkpoint(path);
  const LossOutput resumed = loading.train_step(second);
  EXPECT_TRUE(torch::equal(other->quantizer()->codebook, model->quantizer()->codebook));
  EXPECT_EQ(resumed.total_value, continued.total_value);
  // Not a no-op: the second step moved the codebook from where the first left it.
  EXPECT_GT((model->quantizer()->codebook - torch::tensor({{0.01, 0.0}, {2.01, 2.01}})).abs().max().item<double>(), 1e-4);
  EXPECT_TRUE(throws_invalid([&] { loading.load_checkpoint(folder + "/absent.pt"); }, {"load_checkpoint", "absent.pt"}));
}

}  // namespace
}  // namespace vqvae
