// Codebook and quantization metrics of the baseline (src/evaluation/), and the Shannon bound of
// the latents a codebook quantizes.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace vqvae {

/// Usage of each codeword in a batch of assignments.
struct CodebookUsage {
  at::Tensor usage;      ///< (n) fraction of samples assigned to each codeword, sums to 1
  double entropy = 0;    ///< −Σ p log p, nats (0 log 0 = 0)
  double perplexity = 0; ///< exp(entropy): the effective number of codewords in use
  int64_t dead_codes = 0;///< codewords with usage < 1e-4
  double min_usage = 0; ///< over the codewords in use (usage > 0), as the baseline defines it
  double max_usage = 0;
  double std_usage = 0;  ///< unbiased standard deviation of usage over the n codewords
};

/// indices (B) int64 in [0, n) -> usage statistics. Throws for B = 0, n < 1 or an index out of range.
CodebookUsage codebook_usage(const at::Tensor& indices, int64_t codebook_size);

/// mean over all elements of (z − z_q)², z and z_q (B, k).
double quantization_error(const at::Tensor& z, const at::Tensor& z_q);

struct CodebookGeometry {
  double mean_norm = 0;               ///< mean ‖c_j‖
  double std_norm = 0;                ///< unbiased std of ‖c_j‖ (0 for n = 1)
  double mean_pairwise_distance = 0;  ///< mean ‖c_i − c_j‖ over i < j (0 for n = 1)
};

/// codebook (n, k) -> norms and spread. Up to kPairwiseDirectMax codewords the pairwise distances
/// are at::pdist's n(n−1)/2 values at once; above, blocks of rows against the codewords after
/// them (about kPairwiseBlockElements distances at a time), so that memory stays bounded (65536
/// codewords: about 80 MiB, not the 16 GiB of all 2^31 pairs). cdist computes the distances with a
/// matrix product, pdist with a scalar loop, which dominated a rate sweep's large-codebook runs
/// (docs/bench.md, "Measurements behind the code"), hence the low crossover.
CodebookGeometry codebook_geometry(const at::Tensor& codebook);
inline constexpr int64_t kPairwiseDirectMax = 512;
inline constexpr int64_t kPairwiseBlockElements = int64_t{1} << 22;
/// The peak bytes codebook_geometry allocates for n codewords of dimension k (float64 copies,
/// norms, and the pairwise distances at once or per block): for the memory estimate.
double codebook_geometry_bytes(int64_t n, int64_t k);

/// The latent source a codebook of n codewords quantizes, and its Shannon bound.
struct LatentBound {
  std::vector<double> eigenvalues;  ///< (k) of the unbiased covariance of z, descending
  double latent_variance = 0;       ///< Σ eigenvalues = total variance of z
  double rate_bits = 0;             ///< R = log2(n) bits per vector
  double distortion_rate = 0;       ///< D(R) by reverse water-filling (gaussian_distortion_rate)
};

/// z (N, k), N >= 2 -> the eigenvalues of its covariance and D(log2 n) (float64 throughout).
LatentBound latent_distortion_rate(const at::Tensor& z, int64_t codebook_size);

/// 10 log10(distortion / bound) dB; +inf when bound is 0 and distortion is not.
double gap_db(double distortion, double bound);

}  // namespace vqvae
