// Trainer (src/training/trainer.py in the baseline). Fix #1, step 4, lives here: train_step hands
// the quantizer's z_q_hard to vqvae_loss.
//
// Two paths compute the same step: the autograd path (forward, vqvae_loss, backward,
// optimizer.step() through LibTorch) and, by default where it applies, the fused step of
// training/fused_step.h (the same gradients and LibTorch 1.13's update rules, derived by hand over
// raw float32 buffers, without LibTorch's per-op overhead; `vqvae bench` measures the two). Both keep the optimizer state in optimizer().state() and leave each parameter's
// gradient in .grad().
#pragma once

#include <vqvae/models/vqvae.h>
#include <vqvae/training/losses.h>
#include <vqvae/training/optimizer.h>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace vqvae {

class FusedStep;

/// A training loss: batch x (B, d), the model's outputs, beta -> LossOutput.
using LossFunction = std::function<LossOutput(const at::Tensor& x, const VQVAEOutput& outputs, double beta)>;

/// The default: vqvae_loss(x, x_recon, z, z_q, z_q_hard, beta) (fix #1: z_q_hard passed on).
LossOutput default_vqvae_loss(const at::Tensor& x, const VQVAEOutput& outputs, double beta);

struct TrainerOptions {
  TORCH_ARG(OptimizerKind, optimizer) = OptimizerKind::adam;
  /// Learning rate (> 0).
  TORCH_ARG(double, lr) = 1e-3;
  /// SGD momentum (ignored by Adam).
  TORCH_ARG(double, momentum) = 0.0;
  /// The loss train_step minimises; default_vqvae_loss when empty.
  TORCH_ARG(LossFunction, loss) = nullptr;
  /// Use the fused step (training/fused_step.h) whenever the model, optimizer and batch qualify
  /// (linear encoder and decoder, any of the three quantizers, float32 on the CPU, Adam or SGD)
  /// and no custom `loss` is set. false: every step through LibTorch autograd (the reference the
  /// fused step is tested against; slower, same numbers up to float32 rounding).
  TORCH_ARG(bool, fused_step) = true;
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
  ~Trainer();
  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;

  /// Forward, vqvae_loss (with z_q_hard), zero_grad, backward, optimizer step.
  /// batch (B, d). Throws InvalidArgument when the loss does not depend on any trainable
  /// parameter (nothing would change: a silent no-op is worse than an error).
  /// On the fused path LossOutput::total is a 0-dim tensor holding total_value, without
  /// gradient (the step is already taken); the four numbers are computed in float64.
  LossOutput train_step(const at::Tensor& batch, double beta = 0.25);

  /// Whether the last train_step took the fused path (false before the first step).
  bool last_step_fused() const { return last_step_fused_; }
  /// The last step's latents z = encoder(batch) (B, k), detached, before the update; undefined
  /// before the first step. On the fused path the buffer is reused by the next step unless the
  /// caller still holds a copy of this tensor (then the next step allocates a new one).
  const at::Tensor& last_latents() const;
  /// The last step's nearest-codeword indices (B) int64; as last_latents.
  const at::Tensor& last_indices() const;

  VQVAE& model() { return model_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }

  /// Writes the model's parameters and buffers and the optimizer's state (Adam's moments and step
  /// counts) to `path`: a LibTorch archive holding "model_state_dict" and "optimizer_state_dict",
  /// as the baseline's torch.save of that dict does, written to a temporary name and renamed.
  /// Throws InvalidArgument naming the path when it cannot be written.
  void save_checkpoint(const std::string& path) const;
  /// Restores what save_checkpoint wrote into this trainer's model and optimizer (the same
  /// architecture): the steps after it equal the steps the saving trainer takes next. Throws
  /// InvalidArgument naming the path for a missing, unreadable or mismatched file.
  void load_checkpoint(const std::string& path);

 private:
  VQVAE model_;
  TrainerOptions options_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<FusedStep> fused_;
  bool last_step_fused_ = false;
  at::Tensor last_latents_;  // the autograd path's (the fused path keeps its own)
  at::Tensor last_indices_;
};

}  // namespace vqvae
