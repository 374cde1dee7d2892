#include <vqvae/quantizers/rotation_vq.h>

#include <vqvae/tensor/checks.h>

#include <ATen/ATen.h>
#include <torch/autograd.h>

namespace vqvae {
namespace {

constexpr double kZeroNormRelative = 1e-12;  // ‖z‖ below this · max(1, ‖q‖) counts as z = 0
constexpr double kAntiparallel = 1e-8;       // ‖ê + q̂‖ below this counts as ê = −q̂

struct RotationTrickFunction : public torch::autograd::Function<RotationTrickFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& z,
                            const at::Tensor& q) {
    ctx->save_for_backward({z, q});
    return q.clone();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    at::Tensor grad_z = rotation_trick_gradient(saved[0], saved[1], grad_outputs[0]);
    return {grad_z, at::Tensor()};  // nothing to q through this path
  }
};

}  // namespace

RotationFrame rotation_frame(const at::Tensor& z_in, const at::Tensor& q_in) {
  check_shape(z_in, "rotation_frame", "z", {-1, -1}, "(B, k)");
  check_shape(q_in, "rotation_frame", "q", {z_in.size(0), z_in.size(1)}, "(B, k)");
  const at::Tensor z = z_in.detach().to(at::kDouble);
  const at::Tensor q = q_in.detach().to(at::kDouble);
  const at::Tensor z_norm = z.norm(2, 1, /*keepdim=*/true);  // (B, 1)
  const at::Tensor q_norm = q.norm(2, 1, /*keepdim=*/true);  // (B, 1)
  const at::Tensor z_is_zero = z_norm <= kZeroNormRelative * q_norm.clamp_min(1.0);
  const at::Tensor q_is_zero = q_norm == 0;

  RotationFrame frame;
  frame.e = at::where(z_is_zero, at::zeros_like(z), z / z_norm.clamp_min(1e-300));
  frame.q_hat = at::where(z_is_zero | q_is_zero, at::zeros_like(q), q / q_norm.clamp_min(1e-300));
  const at::Tensor sum = frame.e + frame.q_hat;
  const at::Tensor sum_norm = sum.norm(2, 1, true);
  // Antiparallel fallback: the axis least aligned with ê, made orthogonal to ê.
  const at::Tensor axis = at::one_hot(frame.e.abs().argmin(1), z.size(1)).to(at::kDouble);
  const at::Tensor ortho = axis - frame.e * (frame.e * axis).sum(1, true);
  const at::Tensor ortho_norm = ortho.norm(2, 1, true);
  const at::Tensor fallback =
      at::where(ortho_norm > 1e-6, ortho / ortho_norm.clamp_min(1e-300), at::zeros_like(ortho));
  const at::Tensor antiparallel = (sum_norm <= kAntiparallel) & ~z_is_zero & ~q_is_zero;
  frame.r = at::where(antiparallel, fallback, sum / sum_norm.clamp_min(1e-300));
  frame.r = at::where(z_is_zero, at::zeros_like(frame.r), frame.r);
  frame.lambda = at::where(z_is_zero, at::ones_like(z_norm), q_norm / z_norm.clamp_min(1e-300))
                     .squeeze(1);
  return frame;
}

at::Tensor rotation_matrices(const at::Tensor& z, const at::Tensor& q) {
  const RotationFrame f = rotation_frame(z, q);
  const int64_t k = z.size(1);
  const at::Tensor eye = at::eye(k, at::kDouble).expand({z.size(0), k, k});
  return eye - 2 * f.r.unsqueeze(2) * f.r.unsqueeze(1) + 2 * f.q_hat.unsqueeze(2) * f.e.unsqueeze(1);
}

at::Tensor rotation_trick_gradient(const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) {
  check_shape(g, "rotation_trick_gradient", "g", {z.size(0), z.size(1)}, "(B, k)");
  const RotationFrame f = rotation_frame(z, q);
  const at::Tensor gd = g.to(at::kDouble);
  // Rᵀ g = g − 2 r (r·g) + 2 ê (q̂·g), row by row.
  const at::Tensor rotated =
      gd - 2 * f.r * (f.r * gd).sum(1, true) + 2 * f.e * (f.q_hat * gd).sum(1, true);
  return (f.lambda.unsqueeze(1) * rotated).to(g.scalar_type());
}

at::Tensor rotation_trick(const at::Tensor& z, const at::Tensor& q) {
  return RotationTrickFunction::apply(z, q.detach());
}

RotationVectorQuantizerImpl::RotationVectorQuantizerImpl(const QuantizerOptions& options)
    : QuantizerBase("RotationVectorQuantizer", options) {}

at::Tensor RotationVectorQuantizerImpl::estimate(const at::Tensor& z, const at::Tensor& q) const {
  return rotation_trick(z, q);
}

}  // namespace vqvae
