// The composable VQ-VAE (src/models/vqvae.py in the baseline). Fix #1, step 3, lives here:
// forward returns z_q_hard beside z_q, so the loss can send the codebook its gradient.
#pragma once

#include <vqvae/decoders/base.h>
#include <vqvae/encoders/base.h>
#include <vqvae/quantizers/base.h>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace vqvae {

/// What VQVAE::forward returns (the baseline's outputs dict).
struct VQVAEOutput {
  at::Tensor x_recon;   ///< (B, d) decoder(z_q)
  at::Tensor z;         ///< (B, k) encoder(x)
  at::Tensor z_q;       ///< (B, k) quantized with the quantizer's gradient estimator
  at::Tensor z_q_hard;  ///< (B, k) codebook[indices], gradient to the codebook
  at::Tensor indices;   ///< (B) int64
};

/// encoder -> quantizer -> decoder, each registered as a submodule.
///
/// Example:
/// ```
/// vqvae::VQVAE model(vqvae::PCAEncoder(U_k), vqvae::VectorQuantizer(8, 256, codebook),
///                    vqvae::PCADecoder(U_k));
/// auto out = model(x);   // x (B, 64)
/// ```
class VQVAEImpl : public torch::nn::Module {
 public:
  /// Throws InvalidArgument unless encoder.latent_dim == quantizer.dim == decoder.latent_dim
  /// (and none is null).
  VQVAEImpl(EncoderPtr encoder, QuantizerPtr quantizer, DecoderPtr decoder);

  /// From module holders: VQVAE(PCAEncoder(U_k), VectorQuantizer(...), PCADecoder(U_k)).
  template <typename E, typename Q, typename D>
  VQVAEImpl(const torch::nn::ModuleHolder<E>& encoder, const torch::nn::ModuleHolder<Q>& quantizer,
            const torch::nn::ModuleHolder<D>& decoder)
      : VQVAEImpl(EncoderPtr(encoder.ptr()), QuantizerPtr(quantizer.ptr()),
                  DecoderPtr(decoder.ptr())) {}

  /// x (B, d) -> all intermediate tensors.
  VQVAEOutput forward(const at::Tensor& x);
  /// x (B, d) -> z (B, k)
  at::Tensor encode(const at::Tensor& x);
  /// z (B, k) -> QuantizerOutput
  QuantizerOutput quantize(const at::Tensor& z);
  /// z_q (B, k) -> x_recon (B, d)
  at::Tensor decode(const at::Tensor& z_q);
  /// x (B, d) -> x_recon (B, d) = decode(quantize(encode(x)).z_q)
  at::Tensor reconstruct(const at::Tensor& x);

  const EncoderPtr& encoder() const { return encoder_; }
  const QuantizerPtr& quantizer() const { return quantizer_; }
  const DecoderPtr& decoder() const { return decoder_; }
  void pretty_print(std::ostream& stream) const override;

 private:
  EncoderPtr encoder_;
  QuantizerPtr quantizer_;
  DecoderPtr decoder_;
};
TORCH_MODULE(VQVAE);

}  // namespace vqvae
