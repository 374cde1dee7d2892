// Decoder interface: z_q (B, k) -> x_recon (B, d), with the baseline's trainable/freeze/unfreeze.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>

namespace vqvae {

class DecoderBase : public torch::nn::Module {
 public:
  /// z: (B, k) -> x_recon: (B, d)
  virtual at::Tensor forward(const at::Tensor& z) = 0;

  int64_t latent_dim() const { return latent_dim_; }
  int64_t output_dim() const { return output_dim_; }
  bool trainable() const { return trainable_; }
  void freeze();
  void unfreeze();

 protected:
  /// Throws InvalidArgument for latent_dim < 1, output_dim < 1 or latent_dim > output_dim.
  DecoderBase(const std::string& name, int64_t latent_dim, int64_t output_dim);
  /// Throws InvalidArgument unless z is (B, k) with B >= 1.
  void check_input(const at::Tensor& z) const;
  void set_trainable(bool trainable);

 private:
  int64_t latent_dim_;
  int64_t output_dim_;
  bool trainable_ = true;
};

using DecoderPtr = std::shared_ptr<DecoderBase>;

}  // namespace vqvae
