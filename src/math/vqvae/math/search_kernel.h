// The fused nearest-codeword kernel behind nearest_codeword(): float32, no LibTorch, no gradient
// graph. Distances never leave registers: tiles of z rows x 16 codewords, a running minimum per
// row, and only (B) indices (and optionally the (B) best distances) are written.
#pragma once

#include <cstdint>
#include <vector>

namespace vqvae::kernels {

/// The codebook (n, k), repacked once per search into panels of `kLanes` codewords stored
/// dimension-major: panel p holds codewords [p*kLanes, p*kLanes + kLanes) as k rows of kLanes
/// floats. Padding lanes past n hold NaN, which never compares below a distance.
struct PackedCodebook {
  static constexpr int64_t kLanes = 16;
  int64_t n = 0;
  int64_t k = 0;
  std::vector<float> panels;  // (ceil(n / kLanes), k, kLanes)
};

/// The instruction sets search_nearest has a version for; all give bit-identical results (the
/// same operations in the same order), only the width differs.
enum class SearchIsa { scalar, avx2, avx512 };

/// The widest SearchIsa this CPU supports (checked once).
SearchIsa best_search_isa();

/// "scalar", "avx2" or "avx512".
const char* to_string(SearchIsa isa);

/// Throws InvalidArgument when `requested` is wider than `supported`: "search_nearest: isa
/// 'avx512' is not supported by this CPU (the widest it supports is 'avx2')".
void check_search_isa(SearchIsa requested, SearchIsa supported);

/// Repacks codebook (n, k), row-major, into `packed`, reusing its storage (no allocation when the
/// shape is unchanged, as in a training loop).
void pack_codebook(const float* codebook, int64_t n, int64_t k, PackedCodebook& packed);

/// For rows [0, rows) of z (rows, k), row-major: indices[i] = argmin_j ‖z_i − c_j‖², with the
/// squared distance summed from the differences (z − c) in float32 (fused multiply-add), ties to
/// the lowest j. Writes best_distances[i] (that minimum) when the pointer is not null. A row whose
/// distance to every codeword is NaN or Inf gets index -1; returns the first such row, or -1.
///
/// Accuracy: each computed distance is within a relative (k + 2)·2⁻²⁴ of the exact one, so the
/// index agrees with an exact search unless the two best distances are within that of each
/// other. Equal codewords give bit-equal distances, so duplicates resolve to the lowest index.
///
/// `isa` defaults to best_search_isa(); one wider than the CPU supports is refused
/// (InvalidArgument, check_search_isa), never silently narrowed: a caller that asked for a kernel
/// must not believe it ran.
int64_t search_nearest(const PackedCodebook& codebook, const float* z, int64_t rows,
                       int64_t* indices, float* best_distances = nullptr);
int64_t search_nearest(const PackedCodebook& codebook, const float* z, int64_t rows,
                       int64_t* indices, float* best_distances, SearchIsa isa);

/// search_nearest with the rows split over `threads` OpenMP threads (contiguous blocks; the
/// answer does not depend on the count). Returns the first row with no finite distance, or -1.
/// LibTorch's at::parallel_for cannot do this here: it is inline code that runs serially unless
/// the caller is compiled with -fopenmp, which would not match the precompiled LibTorch header.
int64_t search_nearest_parallel(const PackedCodebook& codebook, const float* z, int64_t rows,
                                int64_t* indices, int threads);

}  // namespace vqvae::kernels
