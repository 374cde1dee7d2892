#include <vqvae/quantizers/projection_vq.h>

#include <vqvae/tensor/checks.h>

#include <ATen/ATen.h>
#include <torch/autograd.h>

namespace vqvae {
namespace {

struct ProjectionFunction : public torch::autograd::Function<ProjectionFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& z,
                            const at::Tensor& q) {
    ctx->save_for_backward({z, q});
    return q.clone();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    return {projection_gradient(saved[0], saved[1], grad_outputs[0]), at::Tensor()};
  }
};

}  // namespace

at::Tensor projection_gradient(const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) {
  check_shape(q, "projection_gradient", "q", {z.size(0), z.size(1)}, "(B, k)");
  check_shape(g, "projection_gradient", "g", {z.size(0), z.size(1)}, "(B, k)");
  const at::Tensor diff = (q - z).detach();                          // (B, k)
  const at::Tensor u = diff / diff.norm(2, 1, true).clamp_min(1e-8);  // (B, k)
  return (g * u).sum(1, true) * u;
}

at::Tensor projection_estimator(const at::Tensor& z, const at::Tensor& q) {
  return ProjectionFunction::apply(z, q.detach());
}

ProjectionVectorQuantizerImpl::ProjectionVectorQuantizerImpl(const QuantizerOptions& options)
    : QuantizerBase("ProjectionVectorQuantizer", options) {}

at::Tensor ProjectionVectorQuantizerImpl::estimate(const at::Tensor& z, const at::Tensor& q) const {
  return projection_estimator(z, q);
}

}  // namespace vqvae
