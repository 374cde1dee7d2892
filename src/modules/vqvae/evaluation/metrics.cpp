#include <vqvae/evaluation/metrics.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/math/rate_distortion.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace vqvae {

CodebookUsage codebook_usage(const at::Tensor& indices, int64_t codebook_size) {
  const char* where = "codebook_usage";
  check_at_least(codebook_size, 1, where, "codebook_size n");
  if (!indices.defined() || indices.dim() != 1 || indices.scalar_type() != at::kLong)
    throw_invalid_argument(where, "indices must be a rank-1 int64 tensor (B), got " +
                                      shape_string(indices));
  check_at_least(indices.numel(), 1, where, "indices size B");
  const int64_t lo = indices.min().item<int64_t>(), hi = indices.max().item<int64_t>();
  if (lo < 0 || hi >= codebook_size)
    throw_invalid_argument(where, "indices must lie in [0, " + std::to_string(codebook_size) +
                                      "), got range [" + std::to_string(lo) + ", " +
                                      std::to_string(hi) + "]");
  c10::NoGradGuard no_grad;
  CodebookUsage out;
  out.usage = at::bincount(indices.cpu(), {}, codebook_size).to(at::kDouble) /
              static_cast<double>(indices.numel());
  const at::Tensor p = out.usage;
  out.entropy = -at::where(p > 0, p * p.log(), at::zeros_like(p)).sum().item<double>();
  out.perplexity = std::exp(out.entropy);
  out.dead_codes = (p < 1e-4).sum().item<int64_t>();
  out.min_usage = p.masked_select(p > 0).min().item<double>();  // over the codewords in use, as the baseline
  out.max_usage = p.max().item<double>();
  out.std_usage = codebook_size > 1 ? p.std().item<double>() : 0.0;
  return out;
}

double quantization_error(const at::Tensor& z, const at::Tensor& z_q) {
  check_shape(z, "quantization_error", "z", {-1, -1}, "(B, k)");
  check_shape(z_q, "quantization_error", "z_q", {z.size(0), z.size(1)}, "(B, k)");
  check_at_least(z.size(0), 1, "quantization_error", "batch size B");
  c10::NoGradGuard no_grad;
  return (z.detach() - z_q.detach()).pow(2).mean().item<double>();
}

CodebookGeometry codebook_geometry(const at::Tensor& codebook) {
  check_shape(codebook, "codebook_geometry", "codebook", {-1, -1}, "(n, k)");
  check_at_least(codebook.size(0), 1, "codebook_geometry", "codebook size n");
  c10::NoGradGuard no_grad;
  const at::Tensor c = codebook.detach().to(at::kDouble);
  const at::Tensor norms = c.norm(2, 1);
  CodebookGeometry out;
  out.mean_norm = norms.mean().item<double>();
  const int64_t n = c.size(0);
  if (n > 1) {
    out.std_norm = norms.std().item<double>();
    if (n <= kPairwiseDirectMax) {
      const at::Tensor distances = at::pdist(c);  // n(n−1)/2 pairs i < j
      out.mean_pairwise_distance = distances.mean().item<double>();
    } else {
      // Rows [a, a + b) against codewords [a, n): the pairs j > i are the upper triangle above
      // the block's diagonal.
      const int64_t block = std::max<int64_t>(1, kPairwiseBlockElements / n);
      double sum = 0;
      for (int64_t a = 0; a < n; a += block) {
        const int64_t b = std::min(block, n - a);
        const at::Tensor distances = at::cdist(c.slice(0, a, a + b), c.slice(0, a, n));
        sum += distances.triu(1).sum().item<double>();
      }
      out.mean_pairwise_distance = sum / (0.5 * static_cast<double>(n) * static_cast<double>(n - 1));
    }
  }
  return out;
}

double codebook_geometry_bytes(int64_t n, int64_t k) {
  const double nd = static_cast<double>(std::max<int64_t>(n, 0)), kd = static_cast<double>(std::max<int64_t>(k, 0));
  const double copies = nd * kd * 8 + 2 * nd * 8;  // float64 codebook, norms
  if (n <= kPairwiseDirectMax) return copies + 0.5 * nd * (nd - 1) * 8;
  const double block = static_cast<double>(std::max<int64_t>(1, kPairwiseBlockElements / n));
  // cdist's result and its upper triangle, and cdist's padded float64 copies of the operands.
  return copies + 2 * block * nd * 8 + 2 * nd * (kd + 3) * 8;
}

LatentBound latent_distortion_rate(const at::Tensor& z, int64_t codebook_size) {
  const char* where = "latent_distortion_rate";
  check_shape(z, where, "z", {-1, -1}, "(N, k)");
  check_at_least(z.size(0), 2, where, "samples N");
  check_at_least(codebook_size, 1, where, "codebook_size n");
  c10::NoGradGuard no_grad;
  const at::Tensor zd = z.detach().to(at::kDouble);
  const at::Tensor centred = zd - zd.mean(0, true);
  const at::Tensor covariance = centred.t().matmul(centred) / static_cast<double>(z.size(0) - 1);
  const at::Tensor ascending = at::linalg_eigvalsh(covariance).contiguous();
  LatentBound out;
  for (int64_t i = ascending.numel() - 1; i >= 0; --i)
    out.eigenvalues.push_back(std::max(0.0, ascending[i].item<double>()));  // rounding below 0
  for (double lambda : out.eigenvalues) out.latent_variance += lambda;
  out.rate_bits = std::log2(static_cast<double>(codebook_size));
  out.distortion_rate = gaussian_distortion_rate(out.eigenvalues, out.rate_bits);
  return out;
}

double gap_db(double distortion, double bound) {
  if (bound <= 0) return distortion > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  return 10.0 * std::log10(distortion / bound);
}

}  // namespace vqvae
