// ProjectionVectorQuantizer: the baseline's earlier gradient estimator, kept for comparison.
// Forward value q; backward ∂L/∂z = (g·u) u with u = (q − z)/max(‖q − z‖, 1e-8): only the
// component of g along the quantization error passes (zero when z = q).
#pragma once

#include <vqvae/quantizers/base.h>

#include <torch/nn/pimpl.h>

namespace vqvae {

/// z, q, g: (B, k) -> (g·u) u, (B, k).
at::Tensor projection_gradient(const at::Tensor& z, const at::Tensor& q, const at::Tensor& g);

/// Value q, gradient to z by projection_gradient, none to q.
at::Tensor projection_estimator(const at::Tensor& z, const at::Tensor& q);

class ProjectionVectorQuantizerImpl : public QuantizerBase {
 public:
  explicit ProjectionVectorQuantizerImpl(const QuantizerOptions& options);
  ProjectionVectorQuantizerImpl(int64_t dim, int64_t codebook_size,
                                const at::Tensor& init_codebook = {})
      : ProjectionVectorQuantizerImpl(
            QuantizerOptions(dim, codebook_size).init_codebook(init_codebook)) {}

 protected:
  at::Tensor estimate(const at::Tensor& z, const at::Tensor& q) const override;
};
TORCH_MODULE(ProjectionVectorQuantizer);

}  // namespace vqvae
