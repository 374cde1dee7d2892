#include <vqvae/harness/detail/references.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

namespace vqvae {
namespace {

at::Tensor f64(const at::Tensor& t) { return t.detach().to(at::kDouble); }

}  // namespace

at::Tensor squared_distances_reference(const at::Tensor& z, const at::Tensor& codebook) {
  c10::NoGradGuard no_grad;
  // One dimension at a time, (B, n) each: the (B, n, k) differences at once cost B·n·k doubles of
  // memory (160 MB for 10,000 rows and 256 codewords of 8 dimensions).
  const at::Tensor zd = f64(z), cd = f64(codebook).t();  // (B, k), (k, n)
  at::Tensor out = at::zeros({zd.size(0), cd.size(1)}, at::kDouble);
  for (int64_t t = 0; t < zd.size(1); ++t) out.add_((zd.select(1, t).unsqueeze(1) - cd.select(0, t).unsqueeze(0)).pow_(2));
  return out;
}

at::Tensor nearest_codeword_reference(const at::Tensor& z, const at::Tensor& codebook) {
  // argmin returns the first minimum: ties go to the lowest index.
  return squared_distances_reference(z, codebook).argmin(1);
}

at::Tensor excess_squared_distance(const at::Tensor& z, const at::Tensor& codebook, const at::Tensor& indices) {
  const at::Tensor distances = squared_distances_reference(z, codebook);
  return distances.gather(1, indices.to(at::kLong).unsqueeze(1)).squeeze(1) - std::get<0>(distances.min(1));
}

at::Tensor codebook_loss_gradient(const at::Tensor& z, const at::Tensor& codebook, const at::Tensor& indices) {
  c10::NoGradGuard no_grad;
  const at::Tensor idx = indices.to(at::kLong);
  const at::Tensor c = f64(codebook);
  const at::Tensor rows = 2.0 * (c.index_select(0, idx) - f64(z)) / static_cast<double>(z.numel());
  return at::zeros_like(c).index_add_(0, idx, rows);
}

void utilization_reference(const at::Tensor& indices, int64_t codebook_size, MetricsReference& out) {
  c10::NoGradGuard no_grad;
  const at::Tensor usage =
      at::bincount(indices.to(at::kLong), {}, codebook_size).to(at::kDouble) / static_cast<double>(indices.numel());
  out.usage_entropy = -(usage * (usage + 1e-10).log()).sum().item<double>();
  out.perplexity = std::exp(out.usage_entropy);
  out.dead_codes = static_cast<double>((usage < 1e-4).sum().item<int64_t>());
  out.min_usage = usage.masked_select(usage > 0).min().item<double>();
  out.max_usage = usage.max().item<double>();
  out.usage_std = codebook_size > 1 ? usage.std().item<double>() : 0.0;
}

void distortion_reference(const at::Tensor& z, const at::Tensor& z_q, MetricsReference& out) {
  c10::NoGradGuard no_grad;
  const at::Tensor squared = (f64(z) - f64(z_q)).pow(2);
  out.quantization_error = squared.mean().item<double>();
  out.quant_error_per_dim = squared.mean(0).mean().item<double>();
}

void codebook_stats_reference(const at::Tensor& codebook, MetricsReference& out) {
  c10::NoGradGuard no_grad;
  const at::Tensor c = f64(codebook);
  const at::Tensor norms = c.norm(2, 1);
  out.codebook_mean_norm = norms.mean().item<double>();
  const int64_t n = c.size(0);
  out.codebook_std_norm = n > 1 ? norms.std().item<double>() : 0.0;
  // Every pair i < j, by brute force: (c, c) distances, the strict upper triangle.
  out.codebook_mean_distance =
      n > 1 ? (c.unsqueeze(1) - c.unsqueeze(0)).pow(2).sum(2).sqrt().triu(1).sum().item<double>() /
                  (0.5 * static_cast<double>(n) * static_cast<double>(n - 1))
            : 0.0;
}

}  // namespace vqvae
