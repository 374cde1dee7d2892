// Reproductions for fix #5 (seed BASELINE_FIXES.md, "MINOR FIX #5: Update RotationVectorQuantizer",
// src/quantizers/rotation_vq.py) for spec_tests/fix5_rotation_z_q_hard_test.cpp.
// Test tree only: never part of src/.
//
// (a) The baseline's RotationVectorQuantizer.forward before the fix: the baseline shows the fixed
//     forward with `'z_q_hard': q,  # ✅ Add this`; without that line the info dict is
//       info = {'distances': distances, 'commitment_loss': commitment_loss}
//     and a consumer that needs z_q_hard can only fall back to z_q.
// (b) The rotation trick with its scale inverted, λ = ‖z‖/‖q‖ instead of ‖q‖/‖z‖ (a mistake seen
//     in public ports). Its forward value is kept exactly q (as a port that adds the correction
//     `+ (q - q̃).detach()` would), so that only a gradient check can catch it.
#pragma once

#include <vqvae/quantizers/base.h>
#include <vqvae/quantizers/rotation_vq.h>

#include <ATen/ATen.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <string>

namespace vqvae::mutants {

/// What the baseline's quantizers returned: (z_q, indices, info).
struct BaselineQuantizerResult {
  at::Tensor z_q;
  at::Tensor indices;
  std::map<std::string, at::Tensor> info;
};

/// (a) RotationVectorQuantizer.forward of the baseline, before fix #5. codebook (n, k), z (B, k).
inline BaselineQuantizerResult baseline_rotation_forward(const at::Tensor& codebook,
                                                         const at::Tensor& z) {
  // "... existing distance computation ..." (elided by the baseline): squared Euclidean distances.
  const at::Tensor distances_sq = (z.unsqueeze(1) - codebook.unsqueeze(0)).pow(2).sum(-1);
  const at::Tensor indices = distances_sq.argmin(1);
  const at::Tensor q = codebook.index_select(0, indices);  // This is z_q_hard
  const at::Tensor z_q = rotation_trick(z, q);               // RotationEstimator.apply(z, q)
  const at::Tensor distances = (z - q).norm(2, 1);
  const at::Tensor commitment_loss = distances.pow(2).mean();
  return {z_q, indices, {{"distances", distances}, {"commitment_loss", commitment_loss}}};
}

/// (b) z, q (B, k) -> value q, gradient to z = (‖z‖/‖q‖) Rᵀ g (inverted scale), none to q.
inline at::Tensor inverted_scale_rotation_trick(const at::Tensor& z, const at::Tensor& q) {
  const at::Tensor R = rotation_matrices(z, q);  // (B, k, k) float64, a constant
  const at::Tensor zd = z.to(at::kDouble);
  const at::Tensor qd = q.detach().to(at::kDouble);
  const at::Tensor scale = zd.detach().norm(2, 1, true) / qd.norm(2, 1, true);  // ‖z‖/‖q‖: the bug
  const at::Tensor rotated = scale * at::bmm(R, zd.unsqueeze(2)).squeeze(2);    // value ≈ q·‖z‖²/‖q‖²
  return (rotated + (qd - rotated).detach()).to(z.scalar_type());
}

class InvertedScaleRotationVectorQuantizerImpl : public QuantizerBase {
 public:
  explicit InvertedScaleRotationVectorQuantizerImpl(const QuantizerOptions& options)
      : QuantizerBase("InvertedScaleRotationVectorQuantizer", options) {}

 protected:
  at::Tensor estimate(const at::Tensor& z, const at::Tensor& q) const override {
    return inverted_scale_rotation_trick(z, q);
  }
};
TORCH_MODULE(InvertedScaleRotationVectorQuantizer);

}  // namespace vqvae::mutants
