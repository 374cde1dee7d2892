// A VQ-VAE case small enough to compute by hand, shared by the fix #1, #2 and #5 spec tests.
//
// d = 3, k = 2, n = 4, B = 4, all float64. U_k = the first two columns of I_3, so z = x·U_k is
// exactly the first two coordinates of x; the third coordinate is what a PCADecoder(U_k) cannot
// reconstruct (so the reconstruction term is not zero). Nearest codewords of the four latents:
// 0, 1, 0, 2 (c3 = (5,5) is never used).
#pragma once

#include <ATen/ATen.h>

namespace vqvae::testing::hand_vq {

/// (3, 2) float64: the first two columns of I_3
inline at::Tensor U_k() { return at::tensor({1., 0., 0., 1., 0., 0.}, at::kDouble).view({3, 2}); }

/// x (4, 3) float64; z = x[:, :2]
inline at::Tensor batch() {
  return at::tensor({0.1, 0.2, 0.5,    //
                     0.9, -0.1, -0.5,  //
                     0.2, 0.3, 1.0,    //
                     -0.1, 1.2, 0.0},
                    at::kDouble)
      .view({4, 3});
}

/// (4, 2) float64: c0 = (0,0), c1 = (1,0), c2 = (0,1), c3 = (5,5)
inline at::Tensor initial_codebook() {
  return at::tensor({0., 0., 1., 0., 0., 1., 5., 5.}, at::kDouble).view({4, 2});
}

}  // namespace vqvae::testing::hand_vq
