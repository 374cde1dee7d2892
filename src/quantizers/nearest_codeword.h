// Nearest-codeword search shared by every quantizer: no gradient graph, exact ties.
#pragma once

#include <ATen/core/Tensor.h>

namespace vqvae {

/// indices[i] = argmin_j ‖z_i − c_j‖², ties to the lowest j.
///
/// @param z         (B, k) float32 or float64
/// @param codebook  (n, k) same dtype and device as z
/// @return indices  (B) int64
///
/// On the CPU the squared distances are summed from the differences (z − c), never through the
/// ‖z‖² − 2 z·c + ‖c‖² expansion, so that equal distances compare equal (duplicate codewords,
/// exact ties) and translating both sides does not change the answer. Rows whose distance to
/// every codeword is NaN or Inf (non-finite z or codebook) throw InvalidArgument rather than
/// silently returning index 0. Other devices use cdist + argmin.
at::Tensor nearest_codeword(const at::Tensor& z, const at::Tensor& codebook);

}  // namespace vqvae
