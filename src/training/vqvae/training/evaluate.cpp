#include <vqvae/training/evaluate.h>

#include <vqvae/evaluation/metrics.h>
#include <vqvae/training/losses.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

namespace vqvae {

EvalRecord evaluate_model(VQVAE& model, const at::Tensor& x, double beta) {
  c10::NoGradGuard no_grad;
  const VQVAEOutput out = model->forward(x);
  const LossOutput loss = vqvae_loss(x, out.x_recon, out.z, out.z_q, out.z_q_hard, beta);
  EvalRecord r;
  r.loss_total = loss.total_value;
  r.loss_recon = loss.recon;
  r.loss_codebook = loss.codebook;
  r.loss_commitment = loss.commitment;
  const at::Tensor difference = (out.z - out.z_q_hard).to(at::kDouble);
  r.distortion = difference.pow(2).sum(1).mean().item<double>();
  r.quantization_error = quantization_error(out.z, out.z_q);
  const int64_t n = model->quantizer()->codebook_size();
  const CodebookUsage usage = codebook_usage(out.indices, n);
  r.perplexity = usage.perplexity;
  r.entropy = usage.entropy;
  r.rate_bits = usage.entropy / std::log(2.0);
  r.dead_codes = usage.dead_codes;
  r.codes_used = (usage.usage > 0).sum().item<int64_t>();
  r.min_usage = usage.min_usage;
  r.max_usage = usage.max_usage;
  r.std_usage = usage.std_usage;
  const CodebookGeometry geometry = codebook_geometry(model->quantizer()->codebook);
  r.codebook_mean_norm = geometry.mean_norm;
  r.codebook_std_norm = geometry.std_norm;
  r.codebook_mean_pairwise_distance = geometry.mean_pairwise_distance;
  return r;
}

HeldOutEvaluation evaluate_held_out(VQVAE& model, const at::Tensor& x_test) {
  c10::NoGradGuard no_grad;
  const VQVAEOutput out = model->forward(x_test);
  const at::Tensor per_sample = (out.z - out.z_q_hard).to(at::kDouble).pow(2).sum(1);  // (N_test)
  HeldOutEvaluation e;
  e.distortion = per_sample.mean().item<double>();
  const int64_t N = per_sample.numel();
  e.distortion_se = N > 1 ? per_sample.std().item<double>() / std::sqrt(static_cast<double>(N)) : 0.0;
  const CodebookUsage usage = codebook_usage(out.indices, model->quantizer()->codebook_size());
  e.perplexity = usage.perplexity;
  e.dead_codes = usage.dead_codes;
  e.codes_used = (usage.usage > 0).sum().item<int64_t>();
  return e;
}

}  // namespace vqvae
