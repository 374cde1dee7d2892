// A PCA example small enough to compute by hand, shared by the fix #3 and fix #4 spec tests.
//
// d = 3, k = 2: u1 = (1, 2, 2)/3, u2 = (2, 1, −2)/3 (unit: 1+4+4 = 9; u1·u2 = (2 + 2 − 4)/9 = 0);
// u3 = u1 × u2 = (−2, 2, −1)/3 spans the orthogonal complement.
// x rows, z = x · U_k = (u1·x, u2·x) and the projection P x = U_k U_kᵀ x = x − (u3·x) u3
// (which is also decode(z) = z · U_kᵀ = z1·u1 + z2·u2):
//   (3, 0, 3):  z = (3, 0);      u3·x = (−6 + 0 − 3)/3 = −3; P x = (3,0,3) − (2,−2,1) = (1, 2, 2)
//   (1, 1, 1):  z = (5/3, 1/3);  u3·x = −1/3;  P x = (1,1,1) − (2,−2,1)/9 = (7/9, 11/9, 8/9)
//   (0, 3, −3): z = (0, 3);      u3·x = (0 + 6 + 3)/3 = 3;   P x = (0,3,−3) − (−2,2,−1) = (2, 1, −2)
#pragma once

#include <ATen/ATen.h>

namespace vqvae::testing::hand_pca {

/// (3, 2) float64
inline at::Tensor U_k() {
  return at::tensor({1., 2., 2., 1., 2., -2.}, at::kDouble).view({3, 2}) / 3.0;
}
/// (3, 3) float64, one sample per row
inline at::Tensor batch() {
  return at::tensor({3., 0., 3., 1., 1., 1., 0., 3., -3.}, at::kDouble).view({3, 3});
}
/// (3, 2) = batch() · U_k()
inline at::Tensor expected_z() {
  return at::tensor({3., 0., 5. / 3., 1. / 3., 0., 3.}, at::kDouble).view({3, 2});
}
/// (3, 3) = expected_z() · U_k()ᵀ, the orthogonal projection of batch() onto span(U_k)
inline at::Tensor expected_projection() {
  return at::tensor({1., 2., 2., 7. / 9., 11. / 9., 8. / 9., 2., 1., -2.}, at::kDouble).view({3, 3});
}

}  // namespace vqvae::testing::hand_pca
