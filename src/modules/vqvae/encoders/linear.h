// Linear encoders (src/encoders/linear.py in the baseline). Fix #4 lives here: PCAEncoder stores
// U_k in its natural (d, k) orientation and encodes with a single product z = x · U_k.
#pragma once

#include <vqvae/encoders/base.h>

#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>

namespace vqvae {

/// z = x · U_k: projection onto the top-k principal directions.
///
/// Buffer `encoder_weight` = U_k, shape (d, k) (fix #4: no transpose stored, none applied).
/// With trainable = true the same tensor is registered as a parameter of the same name instead,
/// so that the flag means what it says (the baseline's buffer could never train).
///
/// Example:
/// ```
/// vqvae::PCAEncoder encoder(dataset.U_k);   // frozen
/// at::Tensor z = encoder(x);                // (B, d) -> (B, k)
/// ```
class PCAEncoderImpl : public EncoderBase {
 public:
  /// U_k: (d, k) with orthonormal columns.
  explicit PCAEncoderImpl(const at::Tensor& U_k, bool trainable = false);

  /// x: (B, d) -> z: (B, k) = x · encoder_weight
  at::Tensor forward(const at::Tensor& x) override;
  void pretty_print(std::ostream& stream) const override;

  at::Tensor encoder_weight;  ///< (d, k)
};
TORCH_MODULE(PCAEncoder);

struct LearnedLinearEncoderOptions {
  LearnedLinearEncoderOptions(int64_t input_dim, int64_t latent_dim)
      : input_dim_(input_dim), latent_dim_(latent_dim) {}
  /// Input dimension d.
  TORCH_ARG(int64_t, input_dim);
  /// Latent dimension k.
  TORCH_ARG(int64_t, latent_dim);
  /// Whether the parameters take gradient steps.
  TORCH_ARG(bool, trainable) = true;
  /// Whether to add a bias (initialised to zero).
  TORCH_ARG(bool, bias) = false;
  /// Seed of the Xavier-uniform draw; none: LibTorch's global generator.
  TORCH_ARG(std::optional<uint64_t>, seed) = std::nullopt;
};

/// z = x · weightᵀ + bias, weight (k, d) Xavier-uniform, bias (k) zero (as torch.nn.Linear(d, k)).
class LearnedLinearEncoderImpl : public EncoderBase {
 public:
  explicit LearnedLinearEncoderImpl(const LearnedLinearEncoderOptions& options);
  LearnedLinearEncoderImpl(int64_t input_dim, int64_t latent_dim)
      : LearnedLinearEncoderImpl(LearnedLinearEncoderOptions(input_dim, latent_dim)) {}

  /// x: (B, d) -> z: (B, k)
  at::Tensor forward(const at::Tensor& x) override;
  void pretty_print(std::ostream& stream) const override;

  LearnedLinearEncoderOptions options;
  at::Tensor weight;  ///< (k, d)
  at::Tensor bias;    ///< (k), undefined without bias
};
TORCH_MODULE(LearnedLinearEncoder);

}  // namespace vqvae
