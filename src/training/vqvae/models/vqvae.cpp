#include <vqvae/models/vqvae.h>

#include <vqvae/tensor/checks.h>

#include <ostream>

namespace vqvae {

VQVAEImpl::VQVAEImpl(EncoderPtr encoder, QuantizerPtr quantizer, DecoderPtr decoder)
    : torch::nn::Module("VQVAE") {
  if (!encoder) throw_invalid_argument("VQVAE", "encoder must not be null, got null");
  if (!quantizer) throw_invalid_argument("VQVAE", "quantizer must not be null, got null");
  if (!decoder) throw_invalid_argument("VQVAE", "decoder must not be null, got null");
  check_equal(quantizer->dim(), encoder->latent_dim(), "VQVAE", "quantizer.dim",
              "encoder.latent_dim");
  check_equal(decoder->latent_dim(), encoder->latent_dim(), "VQVAE", "decoder.latent_dim",
              "encoder.latent_dim");
  encoder_ = register_module("encoder", std::move(encoder));
  quantizer_ = register_module("quantizer", std::move(quantizer));
  decoder_ = register_module("decoder", std::move(decoder));
}

VQVAEOutput VQVAEImpl::forward(const at::Tensor& x) {
  VQVAEOutput out;
  out.z = encoder_->forward(x);
  QuantizerOutput q = quantizer_->forward(out.z);
  out.z_q = q.z_q;
  out.z_q_hard = q.z_q_hard;  // fix #1: handed on to the loss
  out.indices = q.indices;
  out.x_recon = decoder_->forward(out.z_q);
  return out;
}

at::Tensor VQVAEImpl::encode(const at::Tensor& x) { return encoder_->forward(x); }

QuantizerOutput VQVAEImpl::quantize(const at::Tensor& z) { return quantizer_->forward(z); }

at::Tensor VQVAEImpl::decode(const at::Tensor& z_q) { return decoder_->forward(z_q); }

at::Tensor VQVAEImpl::reconstruct(const at::Tensor& x) { return forward(x).x_recon; }

void VQVAEImpl::pretty_print(std::ostream& stream) const {
  stream << "vqvae::VQVAE(input_dim=" << encoder_->input_dim()
         << ", latent_dim=" << encoder_->latent_dim()
         << ", codebook_size=" << quantizer_->codebook_size() << ")";
}

}  // namespace vqvae
