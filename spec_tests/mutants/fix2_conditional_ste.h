// Reproduction of bug #2 (seed BASELINE_FIXES.md, "CRITICAL BUG #2: Inconsistent STE Application",
// src/quantizers/vq.py lines 63-71) for spec_tests/fix2_consistent_ste_test.cpp.
// Test tree only: never part of src/.
//
// The baseline's "Current code":
//   if z.requires_grad:
//       z_q = z + (z_q_hard - z).detach()
//   else:
//       z_q = z_q_hard  # ❌ Inconsistent behavior
// where z_q_hard = self.codebook[indices] carries the codebook's gradient.
#pragma once

#include <vqvae/quantizers/base.h>
#include <vqvae/search/nearest_codeword.h>

#include <ATen/ATen.h>
#include <torch/nn/pimpl.h>

namespace vqvae::mutants {

/// A VectorQuantizer whose straight-through estimator is applied only when z requires grad.
class ConditionalSteVectorQuantizerImpl : public QuantizerBase {
 public:
  explicit ConditionalSteVectorQuantizerImpl(const QuantizerOptions& options)
      : QuantizerBase("ConditionalSteVectorQuantizer", options) {}

 protected:
  at::Tensor estimate(const at::Tensor& z, const at::Tensor& q) const override {
    if (z.requires_grad()) return z + (q - z).detach();
    // else: z_q = z_q_hard. QuantizerBase hands estimate() a detached copy of z_q_hard; the
    // baseline used the codebook rows themselves, so they are looked up again, with their graph.
    const at::Tensor codebook_rows = codebook.to(z.scalar_type());
    return codebook_rows.index_select(0, nearest_codeword(z, codebook_rows));
  }
};
TORCH_MODULE(ConditionalSteVectorQuantizer);

}  // namespace vqvae::mutants
