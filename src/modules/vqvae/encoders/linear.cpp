#include <vqvae/encoders/linear.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/tensor/runtime.h>

#include <ATen/ATen.h>

#include <cmath>
#include <ostream>

namespace vqvae {

PCAEncoderImpl::PCAEncoderImpl(const at::Tensor& U_k, bool trainable)
    : EncoderBase("PCAEncoder", U_k.defined() && U_k.dim() == 2 ? U_k.size(0) : 1,
                  U_k.defined() && U_k.dim() == 2 ? U_k.size(1) : 1) {
  check_shape(U_k, "PCAEncoder", "U_k", {-1, -1}, "(d, k)");
  check_finite(U_k, "PCAEncoder", "U_k");
  // Fix #4: stored as (d, k), the orientation it is used in.
  if (trainable) {
    encoder_weight = register_parameter("encoder_weight", U_k.detach().clone());
  } else {
    encoder_weight = register_buffer("encoder_weight", U_k.detach().clone());
  }
  set_trainable(trainable);
}

at::Tensor PCAEncoderImpl::forward(const at::Tensor& x) {
  check_input(x);
  return x.matmul(encoder_weight);  // (B, d) · (d, k) -> (B, k)
}

void PCAEncoderImpl::pretty_print(std::ostream& stream) const {
  stream << "vqvae::PCAEncoder(input_dim=" << input_dim() << ", latent_dim=" << latent_dim()
         << ", trainable=" << (trainable() ? "true" : "false") << ")";
}

LearnedLinearEncoderImpl::LearnedLinearEncoderImpl(const LearnedLinearEncoderOptions& options_)
    : EncoderBase("LearnedLinearEncoder", options_.input_dim(), options_.latent_dim()),
      options(options_) {
  const int64_t d = options.input_dim(), k = options.latent_dim();
  // Xavier-uniform, as torch.nn.init.xavier_uniform_: bound = sqrt(6 / (fan_in + fan_out)).
  const double bound = std::sqrt(6.0 / static_cast<double>(d + k));
  at::Tensor w = at::empty({k, d}, at::kFloat).uniform_(-bound, bound, make_generator(options.seed()));
  weight = register_parameter("weight", w);
  if (options.bias()) bias = register_parameter("bias", at::zeros({k}, at::kFloat));
  set_trainable(options.trainable());
}

at::Tensor LearnedLinearEncoderImpl::forward(const at::Tensor& x) {
  check_input(x);
  at::Tensor z = x.matmul(weight.t());  // (B, d) · (d, k) -> (B, k)
  return bias.defined() ? z + bias : z;
}

void LearnedLinearEncoderImpl::pretty_print(std::ostream& stream) const {
  stream << "vqvae::LearnedLinearEncoder(input_dim=" << input_dim()
         << ", latent_dim=" << latent_dim() << ", trainable=" << (trainable() ? "true" : "false")
         << ", bias=" << (options.bias() ? "true" : "false") << ")";
}

}  // namespace vqvae
