#include <vqvae/encoders/base.h>

#include <vqvae/tensor/checks.h>

namespace vqvae {

EncoderBase::EncoderBase(const std::string& name, int64_t input_dim, int64_t latent_dim)
    : torch::nn::Module(name), input_dim_(input_dim), latent_dim_(latent_dim) {
  check_at_least(input_dim, 1, name.c_str(), "input_dim d");
  check_at_least(latent_dim, 1, name.c_str(), "latent_dim k");
  if (latent_dim > input_dim)
    throw_invalid_argument(name, "latent_dim k must be <= input_dim d = " +
                                     std::to_string(input_dim) + ", got " +
                                     std::to_string(latent_dim));
}

void EncoderBase::check_input(const at::Tensor& x) const {
  const std::string where = name() + "::forward";
  check_shape(x, where.c_str(), "x", {-1, input_dim_}, "(B, d)");
  check_at_least(x.size(0), 1, where.c_str(), "batch size B");
}

void EncoderBase::set_trainable(bool trainable) {
  trainable_ = trainable;
  for (auto& parameter : parameters()) parameter.requires_grad_(trainable);
}

void EncoderBase::freeze() { set_trainable(false); }
void EncoderBase::unfreeze() { set_trainable(true); }

}  // namespace vqvae
