// Reproduction of bug #4 (seed BASELINE_FIXES.md, "MINOR FIX #4: Simplify PCA Encoder/Decoder",
// src/encoders/linear.py line 34) for spec_tests/fix4_pca_orientation_test.cpp.
// Test tree only: never part of src/.
//
// The baseline's "Current code" (encoder; the decoder it quotes is already the fixed one):
//   self.register_buffer('encoder_weight', U_k.T)  # (k, d)
//   z = x @ self.encoder_weight.T  # Transpose again: (B,d) @ (d,k)
// Same values as the fix; the stored orientation differs from the decoder's (d, k).
#pragma once

#include <vqvae/encoders/base.h>

#include <ATen/ATen.h>
#include <torch/nn/pimpl.h>

namespace vqvae::mutants {

class DoubleTransposePCAEncoderImpl : public EncoderBase {
 public:
  /// U_k (d, k).
  explicit DoubleTransposePCAEncoderImpl(const at::Tensor& U_k)
      : EncoderBase("DoubleTransposePCAEncoder", U_k.size(0), U_k.size(1)) {
    encoder_weight = register_buffer("encoder_weight", U_k.detach().clone().t());  // (k, d)
    set_trainable(false);
  }

  at::Tensor forward(const at::Tensor& x) override {
    check_input(x);
    return x.matmul(encoder_weight.t());  // transposed again
  }

  at::Tensor encoder_weight;  ///< (k, d)
};
TORCH_MODULE(DoubleTransposePCAEncoder);

}  // namespace vqvae::mutants
