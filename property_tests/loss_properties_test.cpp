// The VQ-VAE loss (src/training/losses.h, fix #1): values and gradients of
// total = mse(x_recon, x) + mse(sg z, z_q_hard) + β·mse(z, sg z_q_hard).
#include "generators.h"
#include "test_support.h"

#include <vqvae/training/losses.h>

#include <ATen/ATen.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstdint>

namespace vqvae::props {
namespace {

struct LossCase {
  at::Tensor x, x_recon, z, z_q_hard;
  double beta = 0;
};

/// B, d, k <= the bounds; β = j/8 in [0, 4] (exact in any float).
LossCase make_loss_case(int64_t max_B, int64_t max_d, at::ScalarType dtype) {
  const int64_t B = *gen_int(1, max_B), d = *gen_int(1, max_d), k = *gen_int(1, d);
  at::Generator gen = make_generator(*gen_seed());
  LossCase c;
  c.x = floats_from_integers(B, d, gen, -2, 2).to(dtype);
  c.x_recon = floats_from_integers(B, d, gen, -2, 2).to(dtype);
  c.z = floats_from_integers(B, k, gen, -2, 2).to(dtype);
  c.z_q_hard = floats_from_integers(B, k, gen, -2, 2).to(dtype);
  c.beta = static_cast<double>(*rc::gen::inRange(0, 33)) / 8.0;
  return c;
}

}  // namespace

// codebook = mse(sg z, q) and commitment = mse(z, sg q) are the same number: stop-gradient
// changes where the gradient goes, never the value.
RC_GTEST_PROP(LossProperty, CodebookAndCommitmentValuesAreEqual, ()) {
  const auto dtype = *rc::gen::element(at::kFloat, at::kDouble);
  const LossCase c = make_loss_case(256, 64, dtype);
  const LossOutput loss = vqvae_loss(c.x, c.x_recon, c.z, c.z, c.z_q_hard, c.beta);
  RC_ASSERT(loss.codebook == loss.commitment);
  RC_ASSERT(loss.codebook > 0.0);
}

// total = recon + codebook + β·commitment, up to the float roundings of the two additions and
// one product (all terms are >= 0, so the relative error is at most ~3u); total_value is total.
RC_GTEST_PROP(LossProperty, TotalIsReconPlusCodebookPlusBetaCommitment, ()) {
  const auto dtype = *rc::gen::element(at::kFloat, at::kDouble);
  const LossCase c = make_loss_case(256, 64, dtype);
  const LossOutput loss = vqvae_loss(c.x, c.x_recon, c.z, c.z, c.z_q_hard, c.beta);
  const double sum = loss.recon + loss.codebook + c.beta * loss.commitment;
  const double u = dtype == at::kFloat ? std::ldexp(1.0, -24) : std::ldexp(1.0, -53);
  RC_ASSERT(std::abs(loss.total_value - sum) <= 4 * u * sum);
  RC_ASSERT(loss.total.item<double>() == loss.total_value);
}

// Gradients of total against central finite differences in float64 (eps 1e-6, atol 1e-5,
// rtol 1e-3): ∂/∂x_recon of total; ∂/∂z of β·commitment only and ∂/∂z_q_hard of codebook only
// (the stop-gradients); z_q gets nothing (it only fixes shapes). Small sizes (B, d <= 8) keep
// the gradients, 2(a − b)/(B·d), well above atol, and the 2·(B·d + 2·B·k) evaluations cheap.
RC_GTEST_PROP(LossProperty, GradientsMatchCentralFiniteDifferences, ()) {
  const LossCase c = make_loss_case(8, 8, at::kDouble);
  const at::Tensor x_recon = c.x_recon.clone().requires_grad_();
  const at::Tensor z = c.z.clone().requires_grad_();
  const at::Tensor z_q = c.z.clone().requires_grad_();
  const at::Tensor q = c.z_q_hard.clone().requires_grad_();
  vqvae_loss(c.x, x_recon, z, z_q, q, c.beta).total.backward();

  const auto fd_x_recon = testing::finite_difference_gradient(
      [&](const at::Tensor& v) { return vqvae_loss(c.x, v, c.z, c.z, c.z_q_hard, c.beta).total_value; },
      c.x_recon);
  const auto fd_z = testing::finite_difference_gradient(
      [&](const at::Tensor& v) {
        return c.beta * vqvae_loss(c.x, c.x_recon, v, v, c.z_q_hard, c.beta).commitment;
      },
      c.z);
  const auto fd_q = testing::finite_difference_gradient(
      [&](const at::Tensor& v) { return vqvae_loss(c.x, c.x_recon, c.z, c.z, v, c.beta).codebook; },
      c.z_q_hard);

  for (const auto& [name, got, want] :
       {std::tuple{"x_recon", x_recon.grad(), fd_x_recon}, std::tuple{"z", z.grad(), fd_z},
        std::tuple{"z_q_hard", q.grad(), fd_q}}) {
    const bool want_zero = max_abs(want) == 0.0;  // β = 0: no gradient to z at all
    const at::Tensor actual = got.defined() ? got : at::zeros_like(want);
    const auto close = testing::tensors_close(actual, want, 1e-5, 1e-3);
    if (!close) RC_LOG() << name << ": " << close.message() << "\n";
    RC_ASSERT(static_cast<bool>(close));
    if (!want_zero) RC_ASSERT(got.defined());
  }
  RC_ASSERT(max_abs(z_q.grad()) == 0.0);
}

}  // namespace vqvae::props
