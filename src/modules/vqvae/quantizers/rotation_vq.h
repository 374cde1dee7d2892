// RotationVectorQuantizer (src/quantizers/rotation_vq.py in the baseline). Fix #5 lives here:
// like VectorQuantizer it returns z_q_hard = codebook[indices], so the codebook loss can reach
// the codebook.
//
// The rotation trick (Fifty et al., 2024, "Restructuring Vector Quantization with the Rotation
// Trick"): forward value q; backward ∂L/∂z = λ Rᵀ g with
//   ê = z/‖z‖, q̂ = q/‖q‖, r = (ê + q̂)/‖ê + q̂‖,  R = I − 2 r rᵀ + 2 q̂ êᵀ   (R ê = q̂, RᵀR = I),
//   λ = ‖q‖/‖z‖,
// R and λ treated as constants, no gradient to q through this path.
//
// Degenerate cases, chosen so that the result is always finite, never NaN:
//   q = 0            λ = 0: the gradient to z is zero (the limit of λ Rᵀ g as ‖q‖ → 0).
//   z = 0 (‖z‖ ≤ 1e-12·max(1, ‖q‖))   no direction to rotate from: the gradient passes straight
//                    through (λ = 1, R = I), as the plain STE would. This rule wins when q = 0
//                    too (z = q = 0: the gradient is g).
//   ê = −q̂ (‖ê + q̂‖ ≤ 1e-8)   r is undefined; any unit r ⊥ ê gives the rotation by π in the plane
//                    (ê, r): we take the coordinate axis least aligned with ê, orthogonalised.
//                    For k = 1 no such r exists and R = −1 (a reflection, the only map with
//                    R ê = q̂).
// The backward pass is computed in float64 and cast back, so that the cancellation in ê + q̂
// near the antiparallel case costs float64 digits, not float32 ones.
#pragma once

#include <vqvae/quantizers/base.h>

#include <torch/nn/pimpl.h>

namespace vqvae {

/// The constants of the rotation trick for each row, in float64.
struct RotationFrame {
  at::Tensor lambda;  ///< (B) scale ‖q‖/‖z‖ (0 for q = 0, 1 for z = 0)
  at::Tensor e;       ///< (B, k) ê (0 for z = 0)
  at::Tensor q_hat;   ///< (B, k) q̂ (0 for z = 0)
  at::Tensor r;       ///< (B, k) unit reflection vector (0 for z = 0, and for k = 1 antiparallel)
};

/// z, q: (B, k) -> the frame of the rotation taking ê to q̂.
RotationFrame rotation_frame(const at::Tensor& z, const at::Tensor& q);

/// R = I − 2 r rᵀ + 2 q̂ êᵀ for each row: (B, k, k), float64. (Identity rows for z = 0.)
at::Tensor rotation_matrices(const at::Tensor& z, const at::Tensor& q);

/// ∂L/∂z = λ Rᵀ g without forming R: λ (g − 2 r (r·g) + 2 ê (q̂·g)). z, q, g: (B, k) -> (B, k),
/// in g's dtype.
at::Tensor rotation_trick_gradient(const at::Tensor& z, const at::Tensor& q, const at::Tensor& g);

/// Applies the rotation trick: value q, gradient to z by rotation_trick_gradient, none to q.
at::Tensor rotation_trick(const at::Tensor& z, const at::Tensor& q);

class RotationVectorQuantizerImpl : public QuantizerBase {
 public:
  explicit RotationVectorQuantizerImpl(const QuantizerOptions& options);
  RotationVectorQuantizerImpl(int64_t dim, int64_t codebook_size,
                              const at::Tensor& init_codebook = {})
      : RotationVectorQuantizerImpl(
            QuantizerOptions(dim, codebook_size).init_codebook(init_codebook)) {}

 protected:
  at::Tensor estimate(const at::Tensor& z, const at::Tensor& q) const override;
};
TORCH_MODULE(RotationVectorQuantizer);

}  // namespace vqvae
