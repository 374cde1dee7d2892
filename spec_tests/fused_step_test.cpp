// The fused training step (training/fused_step.{h,cpp}) against the autograd path it
// replaces: for every supported model (3 quantizers × encoder PCA frozen / PCA trainable /
// learned × decoder PCA / learned × Adam / SGD with momentum, plus biases and d = k = 1), 20
// steps from identical models on identical batches give the same parameters, gradients,
// optimizer state and loss values; the rotation trick's degenerate cases (z = 0, q = 0, z = −q)
// pass through the step as rotation_vq.cpp defines them; the fused path is taken by default
// and not where it does not apply; it is deterministic; and the Trainer exposes each step's
// latents and indices on both paths.
//
// Tolerance: the two paths round differently (LibTorch's BLAS sums in another order than the
// fused kernels, and ATen fuses multiply-adds in Adam and SGD), so they agree to float32
// rounding, not bit for bit. Each tensor is compared elementwise within a tolerance times its
// largest |element|. Measured over all these cases (relative to that maximum): first-step
// gradients 4e-7, parameters and optimizer state after 20 steps 1.2e-6 (a few float32 ulps,
// grown through the steps), step-20 gradients 1.3e-5 (1-D Adam: gradients of parameters that
// already differ); loss values 6e-6 relative (the 1-D codebook term, a small difference of
// rounded latents; 2e-7 elsewhere). The checks allow 2e-6, 5e-6, 5e-5 and 1e-8 + 1e-5 relative:
// about 4x or more above rounding, while a wrong term (β dropped from the commitment gradient, a
// missing bias correction, a wrong degenerate rotation case) fails by orders of magnitude.
#include "test_support.h"

#include <vqvae/tensor/runtime.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/rotation_vq.h>
#include <vqvae/quantizers/vq.h>
#include <vqvae/study/factory.h>
#include <vqvae/training/fused_step.h>
#include <vqvae/training/trainer.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

namespace vqvae {
namespace {

using testing::tensors_close;

constexpr double kFirstGradientTolerance = 2e-6;  // × max|expected| of each tensor
constexpr double kStateTolerance = 5e-6;          // parameters, Adam moments, momentum buffers
constexpr double kLastGradientTolerance = 5e-5;   // the gradient of step 20, on diverged states
constexpr double kLossRtol = 1e-5;
constexpr double kLossAtol = 1e-8;
constexpr int kSteps = 20;

struct Case {
  QuantizerKind quantizer = QuantizerKind::vq;
  ModuleChoice encoder{ModuleKind::pca, false};
  ModuleChoice decoder{ModuleKind::pca, false};
  OptimizerKind optimizer = OptimizerKind::adam;
  bool bias = false;     // learned encoder and decoder with biases
  int64_t d = 64, k = 8, codebook_size = 64, batch = 128;
  double sgd_lr = 0.05;

  std::string name() const {
    return std::string(to_string(quantizer)) + " encoder=" + to_string(encoder) + " decoder=" + to_string(decoder) +
           (optimizer == OptimizerKind::adam ? " adam" : " sgd(momentum 0.9)") +
           (bias ? " with biases" : "") + " d=" + std::to_string(d) + " k=" + std::to_string(k);
  }
};

RunConfig config_of(const Case& c) {
  RunConfig config;
  config.d = c.d;
  config.k = c.k;
  config.n = 2000;
  config.codebook_size = c.codebook_size;
  config.quantizer = c.quantizer;
  config.encoder = c.encoder;
  config.decoder = c.decoder;
  config.init_samples = 500;
  return config;
}

// The same model every time for the same case (every draw is seeded).
VQVAE make_model(const Case& c, const GaussianDataset& dataset) {
  const RunConfig config = config_of(c);
  if (!c.bias) return build_model(config, dataset);
  return VQVAE(LearnedLinearEncoder(LearnedLinearEncoderOptions(c.d, c.k).bias(true).seed(7)).ptr(),
               build_model(config, dataset)->quantizer(),
               LearnedLinearDecoder(LearnedLinearDecoderOptions(c.k, c.d).bias(true).seed(8)).ptr());
}

TrainerOptions trainer_options(const Case& c, bool fused) {
  TrainerOptions options;
  options.optimizer(c.optimizer).fused_step(fused);
  if (c.optimizer == OptimizerKind::adam) options.lr(1e-2);
  else options.lr(c.sgd_lr).momentum(0.9);
  return options;
}

std::vector<at::Tensor> batches_of(const Case& c, const GaussianDataset& dataset) {
  at::Generator generator = make_generator(1234);
  std::vector<at::Tensor> batches;
  for (int step = 0; step < kSteps; ++step) {
    const at::Tensor rows = at::randperm(dataset.size(), generator, at::kLong).slice(0, 0, c.batch);
    batches.push_back(dataset.X.index_select(0, rows));
  }
  return batches;
}

struct Trace {
  std::vector<LossOutput> losses;
  std::vector<at::Tensor> parameters;      // after the last step
  std::vector<at::Tensor> gradients;       // .grad() after the last step
  std::vector<at::Tensor> first_gradients; // .grad() after the first step
  std::vector<at::Tensor> optimizer_state; // exp_avg, exp_avg_sq (Adam) or momentum_buffer
  std::vector<int64_t> adam_steps;
  int fused_steps = 0;
};

std::vector<at::Tensor> gradients_of(Trainer& trainer) {
  std::vector<at::Tensor> out;
  for (const auto& p : trainer.optimizer().param_groups()[0].params()) out.push_back(p.grad().clone());
  return out;
}

Trace train(VQVAE model, const TrainerOptions& options, const std::vector<at::Tensor>& batches) {
  Trainer trainer(model, options);
  Trace trace;
  for (const at::Tensor& batch : batches) {
    trace.losses.push_back(trainer.train_step(batch, 0.25));
    trace.fused_steps += trainer.last_step_fused() ? 1 : 0;
    if (trace.first_gradients.empty()) trace.first_gradients = gradients_of(trainer);
  }
  trace.gradients = gradients_of(trainer);
  for (const auto& p : trainer.optimizer().param_groups()[0].params()) {
    trace.parameters.push_back(p.detach().clone());
    const auto& state = *trainer.optimizer().state().at(c10::guts::to_string(p.unsafeGetTensorImpl()));
    if (options.optimizer() == OptimizerKind::adam) {
      const auto& adam = static_cast<const torch::optim::AdamParamState&>(state);
      trace.optimizer_state.push_back(adam.exp_avg().clone());
      trace.optimizer_state.push_back(adam.exp_avg_sq().clone());
      trace.adam_steps.push_back(adam.step());
    } else {
      trace.optimizer_state.push_back(
          static_cast<const torch::optim::SGDParamState&>(state).momentum_buffer().clone());
    }
  }
  return trace;
}

// Each tensor of `actual` within tolerance · max|expected| of `expected`, elementwise.
::testing::AssertionResult lists_close(const char* what, const std::vector<at::Tensor>& actual,
                                       const std::vector<at::Tensor>& expected, double tolerance) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << what << ": " << actual.size() << " tensors, expected "
                                         << expected.size();
  for (size_t i = 0; i < actual.size(); ++i) {
    const double scale = expected[i].abs().max().item<double>();
    if (auto ok = tensors_close(actual[i], expected[i], tolerance * scale); !ok)
      return ::testing::AssertionFailure() << what << " " << i << " (tolerance " << tolerance
                                           << " x max " << scale << "): " << ok.message();
  }
  return ::testing::AssertionSuccess();
}

bool close(double a, double b) { return std::abs(a - b) <= kLossAtol + kLossRtol * std::abs(b); }

// Fused and autograd runs of one case agree; every fused step fused, no autograd step did.
::testing::AssertionResult paths_agree(const Trace& fused, const Trace& reference) {
  if (fused.fused_steps != kSteps || reference.fused_steps != 0)
    return ::testing::AssertionFailure() << "fused steps: " << fused.fused_steps << " of " << kSteps
                                         << " (reference: " << reference.fused_steps << ")";
  for (size_t s = 0; s < fused.losses.size(); ++s) {
    const LossOutput& a = fused.losses[s];
    const LossOutput& b = reference.losses[s];
    if (!close(a.total_value, b.total_value) || !close(a.recon, b.recon) ||
        !close(a.codebook, b.codebook) || !close(a.commitment, b.commitment) ||
        !close(a.total.item<double>(), b.total_value))
      return ::testing::AssertionFailure()
             << "step " << s + 1 << " losses (total, recon, codebook, commitment): fused ("
             << a.total_value << ", " << a.recon << ", " << a.codebook << ", " << a.commitment
             << "), autograd (" << b.total_value << ", " << b.recon << ", " << b.codebook << ", "
             << b.commitment << ")";
  }
  if (fused.adam_steps != reference.adam_steps)
    return ::testing::AssertionFailure() << "Adam step counts differ";
  for (auto ok : {lists_close("first-step gradient", fused.first_gradients, reference.first_gradients,
                              kFirstGradientTolerance),
                  lists_close("parameter", fused.parameters, reference.parameters, kStateTolerance),
                  lists_close("optimizer state", fused.optimizer_state, reference.optimizer_state,
                              kStateTolerance),
                  lists_close("last gradient", fused.gradients, reference.gradients,
                              kLastGradientTolerance)})
    if (!ok) return ok;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult case_agrees(const Case& c) {
  const GaussianDataset dataset = make_dataset(config_of(c));
  const std::vector<at::Tensor> batches = batches_of(c, dataset);
  const Trace fused = train(make_model(c, dataset), trainer_options(c, true), batches);
  const Trace reference = train(make_model(c, dataset), trainer_options(c, false), batches);
  auto ok = paths_agree(fused, reference);
  if (!ok) return ::testing::AssertionFailure() << c.name() << ": " << ok.message();
  return ok;
}

// ---------------------------------------------------------------- every combination
class FusedStepMatchesAutograd : public ::testing::TestWithParam<QuantizerKind> {};

TEST_P(FusedStepMatchesAutograd, EveryEncoderDecoderAndOptimizer) {
  const std::vector<ModuleChoice> encoders{{ModuleKind::pca, false}, {ModuleKind::pca, true}, {ModuleKind::learned, true}};
  const std::vector<ModuleChoice> decoders{{ModuleKind::pca, false}, {ModuleKind::learned, true}};
  for (const ModuleChoice& encoder : encoders)
    for (const ModuleChoice& decoder : decoders)
      for (OptimizerKind optimizer : {OptimizerKind::adam, OptimizerKind::sgd}) {
        Case c;
        c.quantizer = GetParam();
        c.encoder = encoder;
        c.decoder = decoder;
        c.optimizer = optimizer;
        EXPECT_TRUE(case_agrees(c));
      }
}

TEST_P(FusedStepMatchesAutograd, BiasesAndTrainablePcaDecoder) {
  Case with_bias;
  with_bias.quantizer = GetParam();
  with_bias.encoder = {ModuleKind::learned, true};
  with_bias.decoder = {ModuleKind::learned, true};
  with_bias.bias = true;
  EXPECT_TRUE(case_agrees(with_bias));
  Case pca_trainable;
  pca_trainable.quantizer = GetParam();
  pca_trainable.encoder = {ModuleKind::pca, true};
  pca_trainable.decoder = {ModuleKind::pca, true};
  pca_trainable.optimizer = OptimizerKind::sgd;
  EXPECT_TRUE(case_agrees(pca_trainable));
}

// d = k = 1: the rotation trick's antiparallel case has no orthogonal axis (R = −1).
TEST_P(FusedStepMatchesAutograd, OneDimension) {
  for (OptimizerKind optimizer : {OptimizerKind::adam, OptimizerKind::sgd}) {
    Case c;
    c.quantizer = GetParam();
    c.encoder = {ModuleKind::learned, true};
    c.decoder = {ModuleKind::learned, true};
    c.optimizer = optimizer;
    c.d = c.k = 1;
    // Rows with z near 0 get the rotation trick's λ = ‖q‖/‖z‖ large: with SGD at 0.05 the run
    // turns chaotic after ~12 steps and float32 rounding differences grow to 1e-3 of the loss.
    c.sgd_lr = 0.01;
    c.codebook_size = 4;
    c.batch = 32;
    EXPECT_TRUE(case_agrees(c));
  }
}

INSTANTIATE_TEST_SUITE_P(Quantizers, FusedStepMatchesAutograd,
                         ::testing::Values(QuantizerKind::vq, QuantizerKind::rotation, QuantizerKind::projection));

// ---------------------------------------------------------------- degenerate rotation cases
// d = 4, k = 2, encoder U = the first two coordinates, decoder D mixing them into all four (so
// that g = ∂L/∂z_q has both components on every row), both trainable. Codebook {(0, 0), (5, 5)}:
// x0 gives z = 0 (and q = 0: the z = 0 rule wins), x1 gives z = (0.1, 0) with q = 0; codebook
// {(−1, 0), (10, 10)}: x1 gives ê = −q̂ (antiparallel, ê on an axis: the fallback must take the
// other axis), x0 gives z = 0 with q ≠ 0. x2 is an ordinary row.
TEST(FusedStepRotation, DegenerateCasesMatchTheAutogradPath) {
  const at::Tensor U = at::eye(4, at::kFloat).slice(1, 0, 2);
  const at::Tensor D = at::tensor({1.f, 0.f, 0.f, 1.f, 0.5f, 0.5f, 0.3f, -0.2f}).view({4, 2});
  const at::Tensor x = at::tensor({0.f, 0.f, 1.f, 1.f, 0.1f, 0.f, 0.f, 0.f, 4.f, 5.5f, 0.f, 1.f}).view({3, 4});
  const at::Tensor x_antiparallel =
      at::tensor({0.f, 0.f, 2.f, 2.f, 0.5f, 0.f, 0.f, 0.f, 9.f, 10.5f, 0.f, 1.f}).view({3, 4});
  for (const auto& [codebook, batch] :
       {std::pair{at::tensor({0.f, 0.f, 5.f, 5.f}).view({2, 2}), x},
        std::pair{at::tensor({-1.f, 0.f, 10.f, 10.f}).view({2, 2}), x_antiparallel}}) {
    for (OptimizerKind optimizer : {OptimizerKind::adam, OptimizerKind::sgd}) {
      std::vector<std::vector<at::Tensor>> results;
      std::vector<at::Tensor> first_latents, first_indices;
      for (bool fused : {true, false}) {
        VQVAE model(PCAEncoder(U, true), RotationVectorQuantizer(2, 2, codebook), PCADecoder(D, true));
        Trainer trainer(model, TrainerOptions().optimizer(optimizer).lr(0.01).momentum(0.9).fused_step(fused));
        std::vector<at::Tensor> out;
        for (int step = 0; step < kSteps; ++step) {
          trainer.train_step(batch, 0.25);
          ASSERT_EQ(trainer.last_step_fused(), fused);
          if (step == 0) {
            first_latents.push_back(trainer.last_latents().clone());
            first_indices.push_back(trainer.last_indices().clone());
            for (const auto& p : trainer.optimizer().param_groups()[0].params()) out.push_back(p.grad().clone());
          }
        }
        for (const auto& p : trainer.optimizer().param_groups()[0].params()) out.push_back(p.detach().clone());
        results.push_back(out);
      }
      // The degenerate rows are there: z0 = 0 exactly; z1 = (0.1, 0) or (0.5, 0) on codeword 0.
      EXPECT_EQ(first_latents[0][0].abs().max().item<float>(), 0.0f);
      EXPECT_TRUE(tensors_close(first_indices[0], first_indices[1], 0.0));
      EXPECT_EQ(first_indices[0][1].item<int64_t>(), 0);
      EXPECT_TRUE(lists_close("degenerate rows", results[0], results[1], kFirstGradientTolerance));
    }
  }
}

// The rotation gradient of the step on those rows, against rotation_trick_gradient directly:
// x0 (z = 0) passes g unchanged; x1 (antiparallel, k = 2) is rotated by π.
TEST(FusedStepRotation, AntiparallelAndZeroRowsAgainstRotationTrickGradient) {
  const at::Tensor z = at::tensor({0.0, 0.0, 0.5, 0.0}, at::kDouble).view({2, 2});
  const at::Tensor q = at::tensor({-1.0, 0.0, -1.0, 0.0}, at::kDouble).view({2, 2});
  const at::Tensor g = at::tensor({0.3, -0.7, 0.3, -0.7}, at::kDouble).view({2, 2});
  // Row 0: g itself. Row 1: λ = 2, R = −I (rotation by π): −2 g.
  EXPECT_TRUE(tensors_close(rotation_trick_gradient(z, q, g),
                            at::tensor({0.3, -0.7, -0.6, 1.4}, at::kDouble).view({2, 2}), 1e-12));
}

// ---------------------------------------------------------------- which path
TEST(FusedStepPath, TakenForTheDefaultModelOnly) {
  const RunConfig config;  // d 64, k 8, codebook 256, PCA frozen, vq, Adam lr 1e-2
  const GaussianDataset dataset = make_dataset(config);
  const at::Tensor batch = dataset.X.slice(0, 0, 256);
  {
    Trainer trainer(build_model(config, dataset), TrainerOptions().lr(config.lr));
    trainer.train_step(batch, config.beta);
    EXPECT_TRUE(trainer.last_step_fused());
    EXPECT_EQ(FusedStep::unsupported(*trainer.model(), trainer.optimizer(), batch), nullptr);
  }
  {  // a custom loss: autograd
    Trainer trainer(build_model(config, dataset), TrainerOptions().lr(config.lr).loss(default_vqvae_loss));
    trainer.train_step(batch, config.beta);
    EXPECT_FALSE(trainer.last_step_fused());
  }
  {  // forced off
    Trainer trainer(build_model(config, dataset), TrainerOptions().lr(config.lr).fused_step(false));
    trainer.train_step(batch, config.beta);
    EXPECT_FALSE(trainer.last_step_fused());
  }
  {  // float64 model and batch: autograd
    const at::Tensor U = dataset.U_k.to(at::kDouble);
    VQVAE model(PCAEncoder(U), VectorQuantizer(8, 256, dataset.get_initialization_batch(256).to(at::kDouble)),
                PCADecoder(U));
    Trainer trainer(model, TrainerOptions().lr(config.lr));
    trainer.train_step(batch.to(at::kDouble), config.beta);
    EXPECT_FALSE(trainer.last_step_fused());
    EXPECT_STREQ(FusedStep::unsupported(*model, trainer.optimizer(), batch.to(at::kDouble)),
                 "encoder weight is not float32 (d, k)");
  }
  {  // a parameter frozen after the Trainer was built: the optimizer's set differs, autograd
    RunConfig learned_decoder = config;
    learned_decoder.decoder = {ModuleKind::learned, true};
    VQVAE model = build_model(learned_decoder, dataset);
    Trainer trainer(model, TrainerOptions().lr(config.lr));
    model->quantizer()->freeze();
    trainer.train_step(batch, config.beta);
    EXPECT_FALSE(trainer.last_step_fused());
  }
}

// Errors come from the autograd path, unchanged: a bad beta, a wrong batch shape.
TEST(FusedStepPath, ErrorsAreTheAutogradPathErrors) {
  const RunConfig config;
  const GaussianDataset dataset = make_dataset(config);
  Trainer trainer(build_model(config, dataset), TrainerOptions().lr(config.lr));
  EXPECT_TRUE(testing::throws_invalid([&] { trainer.train_step(dataset.X.slice(0, 0, 8), -1.0); },
                                      {"beta", "-1"}));
  EXPECT_TRUE(testing::throws_invalid([&] { trainer.train_step(at::zeros({8, 63}), 0.25); },
                                      {"x", "(B, d)", "got (8, 63)"}));
  at::Tensor bad = dataset.X.slice(0, 0, 8).clone();
  bad[3][0] = std::nanf("");
  EXPECT_TRUE(testing::throws_invalid([&] { trainer.train_step(bad, 0.25); },
                                      {"no finite distance"}));
}

// ---------------------------------------------------------------- determinism, latents
TEST(FusedStepDeterminism, SameSeedSameBits) {
  Case c;
  c.quantizer = QuantizerKind::rotation;
  c.encoder = {ModuleKind::learned, true};
  c.decoder = {ModuleKind::learned, true};
  const GaussianDataset dataset = make_dataset(config_of(c));
  const std::vector<at::Tensor> batches = batches_of(c, dataset);
  const Trace a = train(make_model(c, dataset), trainer_options(c, true), batches);
  const Trace b = train(make_model(c, dataset), trainer_options(c, true), batches);
  EXPECT_TRUE(lists_close("parameter", a.parameters, b.parameters, 0.0));
  EXPECT_TRUE(lists_close("gradient", a.gradients, b.gradients, 0.0));
  EXPECT_TRUE(lists_close("optimizer state", a.optimizer_state, b.optimizer_state, 0.0));
  for (size_t s = 0; s < a.losses.size(); ++s) EXPECT_EQ(a.losses[s].total_value, b.losses[s].total_value);
}

TEST(FusedStepLatents, BothPathsExposeTheStepsLatentsAndIndices) {
  const RunConfig config;
  const GaussianDataset dataset = make_dataset(config);
  const at::Tensor batch = dataset.X.slice(0, 0, 64);
  Trainer fused(build_model(config, dataset), TrainerOptions().lr(config.lr));
  Trainer reference(build_model(config, dataset), TrainerOptions().lr(config.lr).fused_step(false));
  EXPECT_FALSE(fused.last_latents().defined());
  fused.train_step(batch);
  reference.train_step(batch);
  ASSERT_TRUE(fused.last_step_fused());
  const at::Tensor expected_z = dataset.X.slice(0, 0, 64).matmul(dataset.U_k);
  EXPECT_TRUE(tensors_close(fused.last_latents(), expected_z, 1e-5));
  EXPECT_TRUE(tensors_close(reference.last_latents(), expected_z, 1e-5));
  EXPECT_TRUE(tensors_close(fused.last_indices(), reference.last_indices(), 0.0));
  EXPECT_EQ(fused.last_indices().scalar_type(), at::kLong);

  // A latents tensor the caller keeps is not overwritten by the next step.
  const at::Tensor kept = fused.last_latents();
  const at::Tensor kept_copy = kept.clone();
  fused.train_step(dataset.X.slice(0, 64, 128));
  EXPECT_TRUE(tensors_close(kept, kept_copy, 0.0));
  EXPECT_TRUE(tensors_close(fused.last_latents(), dataset.X.slice(0, 64, 128).matmul(dataset.U_k), 1e-5));
}

}  // namespace
}  // namespace vqvae
