// The lean training step (docs/bench.md): Trainer::train_step's forward, vqvae_loss, backward and
// optimizer update, derived by hand and fused into one pass over raw float32 buffers, for the
// models the experiments train. It gives the numbers of the autograd path (up to float32
// rounding: different summation orders) without LibTorch's per-op dispatch, graph and
// allocations, which dominate at these sizes (`vqvae bench`'s step table compares the two).
//
// Symbols: B batch, d input dimension, k latent dimension, n codebook size.
//
// Qualifies (FusedStep::unsupported returns nullptr) when all of these hold:
//   - encoder: PCAEncoder (weight E (d, k)) or LearnedLinearEncoder (weight W (k, d), bias (k));
//     decoder: PCADecoder or LearnedLinearDecoder (weight D (d, k), bias (d)); quantizer:
//     VectorQuantizer, RotationVectorQuantizer or ProjectionVectorQuantizer (exact types, not
//     subclasses, which could change forward/estimate);
//   - every weight, bias and the codebook float32, CPU, contiguous, and the batch a float32 CPU
//     (B, d) tensor with B >= 1; gradient mode on;
//   - the optimizer torch::optim::Adam (no weight decay, no amsgrad) or torch::optim::SGD (no
//     weight decay, no dampening, no Nesterov), with one parameter group holding exactly the
//     model's tensors that require grad, each its own storage (no tied weights);
// and step() also falls back (returns false, having changed nothing but latents/indices) for a
// negative or non-finite beta and when a row of z has no finite distance to any codeword: the
// autograd path then throws the usual error. Anything else (float64, CUDA, other modules or
// optimizers, a custom loss) is the Trainer's autograd path.
//
// Gradients (docs/design.md's loss, total = recon + codebook + β·commitment):
//   z = x E (+ b_e) (B, k); q_i = c[idx_i]; x̂ = q Dᵀ (+ b_d) (B, d); r = x̂ − x;
//   G = 2 r / (B d) = ∂L/∂x̂; ∂L/∂D = Gᵀ q; ∂L/∂b_d = Σ_i G_i; g = G D = ∂L/∂z_q (B, k);
//   ∂L/∂z = estimator(g) + β · 2 (z − q) / (B k)   (vq: g; rotation: λ Rᵀ g in float64 with the
//   degenerate cases of quantizers/rotation_vq.h; projection: (g·u) u);
//   ∂L/∂E = xᵀ ∂L/∂z (PCA), ∂L/∂W = (∂L/∂z)ᵀ x (learned), ∂L/∂b_e = Σ_i ∂L/∂z_i;
//   ∂L/∂c_j = Σ_{i: idx_i = j} 2 (c_j − z_i) / (B k)   (the codebook term only).
// The gradients are written into each parameter's .grad() (as backward() would leave them) and
// the optimizer's state lives where torch::optim keeps it (Optimizer::state(): AdamParamState's
// step, exp_avg, exp_avg_sq; SGDParamState's momentum_buffer), so the fused and autograd paths
// can alternate and Trainer::optimizer() stays meaningful.
//
// Single-threaded and free of reassociation (fp-contract off, fixed summation order): the same
// inputs give bit-identical results on every run, thread count and instruction set.
//
// This header includes only <ATen/core/Tensor.h>: it is light enough for any translation unit
// (LibTorch's full headers are slow to compile: docs/tests.md, "Where the build time goes").
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

namespace torch::optim {
class Optimizer;
}  // namespace torch::optim

namespace vqvae {

class VQVAEImpl;
struct LossOutput;

class FusedStep {
 public:
  FusedStep();
  ~FusedStep();
  FusedStep(FusedStep&&) noexcept;
  FusedStep& operator=(FusedStep&&) noexcept;

  /// nullptr when step() can run on this model, optimizer and batch (B, d); otherwise a short
  /// reason ("quantizer is not vq, rotation or projection", ...).
  static const char* unsupported(VQVAEImpl& model, torch::optim::Optimizer& optimizer,
                                 const at::Tensor& batch);

  /// One training step: forward, the four loss values into `loss` (from float64 sums;
  /// loss.total a 0-dim float32 tensor with total_value, without gradient), gradients into
  /// .grad(), optimizer update. Returns false, leaving model and optimizer untouched, when the
  /// step is unsupported or needs the autograd path's error (see the file comment).
  bool step(VQVAEImpl& model, torch::optim::Optimizer& optimizer, const at::Tensor& batch,
            double beta, LossOutput& loss);

  /// The last step's latents z (B, k) float32 and nearest-codeword indices (B) int64. Reused
  /// (overwritten) by the next step unless the caller still holds a reference to them, in which
  /// case the next step allocates new ones.
  const at::Tensor& latents() const;
  const at::Tensor& indices() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vqvae
