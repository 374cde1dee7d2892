// Encoder interface: x (B, d) -> z (B, k), with the baseline's trainable/freeze/unfreeze.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>

namespace vqvae {

class EncoderBase : public torch::nn::Module {
 public:
  /// x: (B, d) -> z: (B, k)
  virtual at::Tensor forward(const at::Tensor& x) = 0;

  int64_t input_dim() const { return input_dim_; }
  int64_t latent_dim() const { return latent_dim_; }
  /// True while the encoder's parameters take gradient steps.
  bool trainable() const { return trainable_; }
  /// Stops gradients to every parameter (requires_grad = false).
  void freeze();
  /// Lets gradients reach every parameter again (requires_grad = true).
  void unfreeze();

 protected:
  /// Throws InvalidArgument for input_dim < 1, latent_dim < 1 or latent_dim > input_dim.
  EncoderBase(const std::string& name, int64_t input_dim, int64_t latent_dim);
  /// Throws InvalidArgument unless x is (B, d) with B >= 1.
  void check_input(const at::Tensor& x) const;
  /// For subclasses: set the flag and the parameters' requires_grad together.
  void set_trainable(bool trainable);

 private:
  int64_t input_dim_;
  int64_t latent_dim_;
  bool trainable_ = true;
};

using EncoderPtr = std::shared_ptr<EncoderBase>;

}  // namespace vqvae
