// VectorQuantizer (src/quantizers/vq.py in the baseline). Fixes #1 and #2 live here:
//  #1: forward returns z_q_hard = codebook[indices], which carries the codebook's gradient;
//  #2: the straight-through estimator z_q = z + (z_q_hard − z).detach() is applied always,
//      whether or not z requires grad.
#pragma once

#include <vqvae/quantizers/base.h>

#include <torch/nn/pimpl.h>

namespace vqvae {

/// Nearest-codeword quantizer with the straight-through estimator (van den Oord et al., 2017).
///
/// Example:
/// ```
/// vqvae::VectorQuantizer quantizer(8, 256, rd_gaussian_init(256, 8, init_data));
/// auto out = quantizer(z);       // z (B, 8)
/// out.z_q;                       // (B, 8), ∂/∂z = identity
/// out.z_q_hard;                  // (B, 8), ∂/∂codebook
/// ```
class VectorQuantizerImpl : public QuantizerBase {
 public:
  explicit VectorQuantizerImpl(const QuantizerOptions& options);
  VectorQuantizerImpl(int64_t dim, int64_t codebook_size, const at::Tensor& init_codebook = {})
      : VectorQuantizerImpl(QuantizerOptions(dim, codebook_size).init_codebook(init_codebook)) {}

 protected:
  at::Tensor estimate(const at::Tensor& z, const at::Tensor& q) const override;
};
TORCH_MODULE(VectorQuantizer);

}  // namespace vqvae
