#include <vqvae/decoders/linear.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/tensor/runtime.h>

#include <ATen/ATen.h>

#include <cmath>
#include <ostream>

namespace vqvae {

PCADecoderImpl::PCADecoderImpl(const at::Tensor& U_k, bool trainable)
    : DecoderBase("PCADecoder", U_k.defined() && U_k.dim() == 2 ? U_k.size(1) : 1,
                  U_k.defined() && U_k.dim() == 2 ? U_k.size(0) : 1) {
  check_shape(U_k, "PCADecoder", "U_k", {-1, -1}, "(d, k)");
  check_finite(U_k, "PCADecoder", "U_k");
  // Fix #4: stored as (d, k); the transpose is applied where it is used, once.
  if (trainable) {
    decoder_weight = register_parameter("decoder_weight", U_k.detach().clone());
  } else {
    decoder_weight = register_buffer("decoder_weight", U_k.detach().clone());
  }
  set_trainable(trainable);
}

at::Tensor PCADecoderImpl::forward(const at::Tensor& z) {
  check_input(z);
  return z.matmul(decoder_weight.t());  // (B, k) · (k, d) -> (B, d)
}

void PCADecoderImpl::pretty_print(std::ostream& stream) const {
  stream << "vqvae::PCADecoder(latent_dim=" << latent_dim() << ", output_dim=" << output_dim()
         << ", trainable=" << (trainable() ? "true" : "false") << ")";
}

LearnedLinearDecoderImpl::LearnedLinearDecoderImpl(const LearnedLinearDecoderOptions& options_)
    : DecoderBase("LearnedLinearDecoder", options_.latent_dim(), options_.output_dim()),
      options(options_) {
  const int64_t k = options.latent_dim(), d = options.output_dim();
  const double bound = std::sqrt(6.0 / static_cast<double>(d + k));  // Xavier-uniform
  at::Tensor w = at::empty({d, k}, at::kFloat).uniform_(-bound, bound, make_generator(options.seed()));
  weight = register_parameter("weight", w);
  if (options.bias()) bias = register_parameter("bias", at::zeros({d}, at::kFloat));
  set_trainable(options.trainable());
}

at::Tensor LearnedLinearDecoderImpl::forward(const at::Tensor& z) {
  check_input(z);
  at::Tensor x = z.matmul(weight.t());  // (B, k) · (k, d) -> (B, d)
  return bias.defined() ? x + bias : x;
}

void LearnedLinearDecoderImpl::pretty_print(std::ostream& stream) const {
  stream << "vqvae::LearnedLinearDecoder(latent_dim=" << latent_dim()
         << ", output_dim=" << output_dim() << ", trainable=" << (trainable() ? "true" : "false")
         << ", bias=" << (options.bias() ? "true" : "false") << ")";
}

}  // namespace vqvae
