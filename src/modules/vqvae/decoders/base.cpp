#include <vqvae/decoders/base.h>

#include <vqvae/tensor/checks.h>

namespace vqvae {

DecoderBase::DecoderBase(const std::string& name, int64_t latent_dim, int64_t output_dim)
    : torch::nn::Module(name), latent_dim_(latent_dim), output_dim_(output_dim) {
  check_at_least(latent_dim, 1, name.c_str(), "latent_dim k");
  check_at_least(output_dim, 1, name.c_str(), "output_dim d");
  if (latent_dim > output_dim)
    throw_invalid_argument(name, "latent_dim k must be <= output_dim d = " +
                                     std::to_string(output_dim) + ", got " +
                                     std::to_string(latent_dim));
}

void DecoderBase::check_input(const at::Tensor& z) const {
  const std::string where = name() + "::forward";
  check_shape(z, where.c_str(), "z", {-1, latent_dim_}, "(B, k)");
  check_at_least(z.size(0), 1, where.c_str(), "batch size B");
}

void DecoderBase::set_trainable(bool trainable) {
  trainable_ = trainable;
  for (auto& parameter : parameters()) parameter.requires_grad_(trainable);
}

void DecoderBase::freeze() { set_trainable(false); }
void DecoderBase::unfreeze() { set_trainable(true); }

}  // namespace vqvae
