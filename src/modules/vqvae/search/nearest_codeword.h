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
/// exact ties) and translating both sides does not change the answer. float32 runs the fused
/// kernel of search_kernel.h (distances never stored; each within a relative (k + 2)·2⁻²⁴ of
/// exact, so indices match an exact search unless the two best distances are that close);
/// float64 a plain loop. Rows are split over LibTorch's intra-op threads; the answer does not
/// depend on their number. Rows whose distance to every codeword is NaN or Inf (non-finite z or
/// codebook) throw InvalidArgument rather than silently returning index 0. Other devices use
/// cdist + argmin.
at::Tensor nearest_codeword(const at::Tensor& z, const at::Tensor& codebook);

}  // namespace vqvae
