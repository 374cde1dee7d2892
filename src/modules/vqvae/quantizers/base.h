// Quantizer interface shared by VectorQuantizer, RotationVectorQuantizer and
// ProjectionVectorQuantizer: nearest-codeword search, then a gradient estimator for z_q.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace vqvae {

/// What every quantizer returns (the baseline returned (z_q, indices, info_dict)).
struct QuantizerOutput {
  at::Tensor z_q;              ///< (B, k) value = codebook[indices]; gradient to z via the estimator
  at::Tensor indices;          ///< (B) int64, nearest codeword, ties to the lowest index
  at::Tensor z_q_hard;         ///< (B, k) = codebook[indices]; gradient flows to the codebook (fix #1)
  at::Tensor distances;        ///< (B) ‖z − z_q_hard‖
  at::Tensor commitment_loss;  ///< () mean ‖z − z_q_hard‖² (summed over k, averaged over B)
};

struct QuantizerOptions {
  QuantizerOptions(int64_t dim, int64_t codebook_size) : dim_(dim), codebook_size_(codebook_size) {}
  /// Latent dimension k.
  TORCH_ARG(int64_t, dim);
  /// Number of codewords n.
  TORCH_ARG(int64_t, codebook_size);
  /// Initial codebook (n, k); undefined: uniform_init(n, k).
  TORCH_ARG(at::Tensor, init_codebook) = {};
  /// Whether the codebook takes gradient steps.
  TORCH_ARG(bool, trainable) = true;
  /// Seed of the default uniform_init draw; none: LibTorch's global generator.
  TORCH_ARG(std::optional<uint64_t>, seed) = std::nullopt;
};

class QuantizerBase : public torch::nn::Module {
 public:
  /// z: (B, k) -> QuantizerOutput. Throws InvalidArgument for a wrong shape or an empty batch.
  QuantizerOutput forward(const at::Tensor& z);

  int64_t dim() const { return options.dim(); }
  int64_t codebook_size() const { return options.codebook_size(); }
  bool trainable() const { return trainable_; }
  void freeze();
  void unfreeze();
  void pretty_print(std::ostream& stream) const override;

  QuantizerOptions options;
  at::Tensor codebook;  ///< parameter (n, k)

 protected:
  QuantizerBase(const std::string& name, const QuantizerOptions& options);

  /// The straight-through value: forward value z_q_hard, gradient to z by this quantizer's rule.
  /// z: (B, k); q: (B, k) = z_q_hard detached -> z_q (B, k).
  virtual at::Tensor estimate(const at::Tensor& z, const at::Tensor& q) const = 0;

 private:
  bool trainable_ = true;
};

using QuantizerPtr = std::shared_ptr<QuantizerBase>;

}  // namespace vqvae
