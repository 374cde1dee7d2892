// Trainer (src/training/trainer.py in the baseline). Fix #1, step 4, lives here: train_step hands
// the quantizer's z_q_hard to vqvae_loss.
#pragma once

#include "models/vqvae.h"
#include "training/losses.h"

#include <torch/arg.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>
#include <string>

namespace vqvae {

enum class OptimizerKind { adam, sgd };

/// A training loss: batch x (B, d), the model's outputs, beta -> LossOutput.
using LossFunction = std::function<LossOutput(const at::Tensor& x, const VQVAEOutput& outputs, double beta)>;

/// The default: vqvae_loss(x, x_recon, z, z_q, z_q_hard, beta) (fix #1: z_q_hard passed on).
LossOutput default_vqvae_loss(const at::Tensor& x, const VQVAEOutput& outputs, double beta);

/// "adam" | "sgd" -> OptimizerKind; throws InvalidArgument naming --optimizer otherwise.
OptimizerKind parse_optimizer(const std::string& name);

struct TrainerOptions {
  TORCH_ARG(OptimizerKind, optimizer) = OptimizerKind::adam;
  /// Learning rate (> 0).
  TORCH_ARG(double, lr) = 1e-3;
  /// SGD momentum (ignored by Adam).
  TORCH_ARG(double, momentum) = 0.0;
  /// The loss train_step minimises; default_vqvae_loss when empty.
  TORCH_ARG(LossFunction, loss) = nullptr;
};

/// Example:
/// ```
/// vqvae::Trainer trainer(model, vqvae::TrainerOptions().lr(1e-2));
/// auto losses = trainer.train_step(batch);   // batch (B, d)
/// ```
class Trainer {
 public:
  /// Optimizes every parameter of `model` that requires grad. Throws InvalidArgument for a null
  /// model, lr <= 0, or a model with no trainable parameter.
  Trainer(VQVAE model, const TrainerOptions& options = {});

  /// Forward, vqvae_loss (with z_q_hard), zero_grad, backward, optimizer step.
  /// batch (B, d). Throws InvalidArgument when the loss does not depend on any trainable
  /// parameter (nothing would change: a silent no-op is worse than an error).
  LossOutput train_step(const at::Tensor& batch, double beta = 0.25);

  VQVAE& model() { return model_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }

 private:
  VQVAE model_;
  TrainerOptions options_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
};

}  // namespace vqvae
