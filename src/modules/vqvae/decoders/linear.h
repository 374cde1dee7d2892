// Linear decoders (src/decoders/linear.py in the baseline). Fix #4 lives here: PCADecoder stores
// U_k as (d, k) and decodes with x_recon = z · U_kᵀ.
#pragma once

#include <vqvae/decoders/base.h>

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>

namespace vqvae {

/// x_recon = z · U_kᵀ: back from the principal subspace to R^d.
///
/// Buffer `decoder_weight` = U_k, shape (d, k) (fix #4); a parameter of the same name when
/// trainable = true.
///
/// Example:
/// ```
/// vqvae::PCADecoder decoder(dataset.U_k);
/// at::Tensor x_recon = decoder(z_q);   // (B, k) -> (B, d)
/// ```
class PCADecoderImpl : public DecoderBase {
 public:
  /// U_k: (d, k) with orthonormal columns.
  explicit PCADecoderImpl(const at::Tensor& U_k, bool trainable = false);

  /// z: (B, k) -> x_recon: (B, d) = z · decoder_weightᵀ
  at::Tensor forward(const at::Tensor& z) override;
  void pretty_print(std::ostream& stream) const override;

  at::Tensor decoder_weight;  ///< (d, k)
};
TORCH_MODULE(PCADecoder);

struct LearnedLinearDecoderOptions {
  LearnedLinearDecoderOptions(int64_t latent_dim, int64_t output_dim)
      : latent_dim_(latent_dim), output_dim_(output_dim) {}
  /// Latent dimension k.
  TORCH_ARG(int64_t, latent_dim);
  /// Output dimension d.
  TORCH_ARG(int64_t, output_dim);
  /// Whether the parameters take gradient steps.
  TORCH_ARG(bool, trainable) = true;
  /// Whether to add a bias (initialised to zero).
  TORCH_ARG(bool, bias) = false;
  /// Seed of the Xavier-uniform draw; none: LibTorch's global generator.
  TORCH_ARG(std::optional<uint64_t>, seed) = std::nullopt;
};

/// x_recon = z · weightᵀ + bias, weight (d, k) Xavier-uniform, bias (d) zero.
class LearnedLinearDecoderImpl : public DecoderBase {
 public:
  explicit LearnedLinearDecoderImpl(const LearnedLinearDecoderOptions& options);
  LearnedLinearDecoderImpl(int64_t latent_dim, int64_t output_dim)
      : LearnedLinearDecoderImpl(LearnedLinearDecoderOptions(latent_dim, output_dim)) {}

  /// z: (B, k) -> x_recon: (B, d)
  at::Tensor forward(const at::Tensor& z) override;
  void pretty_print(std::ostream& stream) const override;

  LearnedLinearDecoderOptions options;
  at::Tensor weight;  ///< (d, k)
  at::Tensor bias;    ///< (d), undefined without bias
};
TORCH_MODULE(LearnedLinearDecoder);

}  // namespace vqvae
