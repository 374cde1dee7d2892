// Area quantizer, the gradient estimator (detail/checks_quantizer.h; the area's check list is in
// checks_quantizer.cpp): grad_z of each class's `quantizer` cases with z requiring grad, matched
// against the estimators the harness knows — straight-through, the rotation trick, the projection
// estimator, and defective variants of the rotation trick — in float64, on the rows where the
// rotation trick is defined.
#include <vqvae/conform/detail/checks_quantizer.h>

#include <vqvae/core/format.h>
#include <vqvae/harness/detail/references.h>
#include <vqvae/quantizers/projection_vq.h>
#include <vqvae/quantizers/rotation_vq.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <functional>
#include <limits>

namespace vqvae::conform {
namespace {

// The gradient estimators the harness knows, on rows z, q (= z_q_hard), upstream g, float64.
struct Estimator {
  std::string name;
  bool defective;
  std::function<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&)> gradient;
};

constexpr const char* kStraightThrough = "straight-through estimator";
constexpr const char* kRotationTrick = "rotation trick (λ = ‖q‖/‖z‖)";
constexpr const char* kProjection = "projection estimator";

std::vector<Estimator> known_estimators() {
  // λ Rᵀ g = λ (g − 2 r (r·g) + 2 ê (q̂·g)); R g = g − 2 r (r·g) + 2 q̂ (ê·g).
  const auto rotate = [](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g, bool transpose,
                         int lambda_power) {
    const RotationFrame f = rotation_frame(z, q);
    const at::Tensor gd = f64(g);
    const at::Tensor rg = (f.r * gd).sum(1, true);
    const at::Tensor turned = transpose ? gd - 2 * f.r * rg + 2 * f.e * (f.q_hat * gd).sum(1, true)
                                        : gd - 2 * f.r * rg + 2 * f.q_hat * (f.e * gd).sum(1, true);
    const at::Tensor lambda = f.lambda.unsqueeze(1);
    const at::Tensor scale = lambda_power == 0 ? at::ones_like(lambda)
                             : lambda_power > 0 ? lambda
                                                : 1.0 / lambda.clamp_min(1e-300);
    return (scale * turned).contiguous();
  };
  return {
      {kStraightThrough, false, [](const at::Tensor&, const at::Tensor&, const at::Tensor& g) { return f64(g); }},
      {kRotationTrick, false,
       [=](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) { return rotate(z, q, g, true, 1); }},
      {kProjection, false,
       [](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) { return projection_gradient(f64(z), f64(q), f64(g)); }},
      {"rotation trick with λ inverted (‖z‖/‖q‖)", true,
       [=](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) { return rotate(z, q, g, true, -1); }},
      {"rotation trick without λ", true,
       [=](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) { return rotate(z, q, g, true, 0); }},
      {"rotation trick with R for Rᵀ", true,
       [=](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) { return rotate(z, q, g, false, 1); }},
  };
}

}  // namespace

std::vector<std::string> promised(const std::string& cls) {
  if (cls == kVectorQuantizer) return {kStraightThrough};
  if (cls == kRotationVectorQuantizer) return {kRotationTrick, kProjection};
  return {kProjection};
}

Check estimator(const Cases& cases, const std::string& cls, std::map<std::string, std::string>& identities) {
  Tally t;
  const auto estimators = known_estimators();
  const std::vector<std::string> promise = promised(cls);
  for (const Judged& j : of_class(cases, t, cls)) {
    if (int_attribute(*j.request, "z_requires_grad", 0) == 0) continue;
    const at::Tensor* grad = output(*j.response, "grad_z");
    if (!grad) { t.fail(j, "no grad_z"); continue; }
    if (const Failure why = indices_problem(j); !why.empty()) { t.fail(j, why); continue; }
    at::Tensor z = f64(j.request->dataset("z")), g = f64(j.request->dataset("g"));
    at::Tensor q = f64(j.request->dataset("codebook")).index_select(0, output(*j.response, "indices")->to(at::kLong));
    at::Tensor got = f64(*grad);
    if (int_attribute(*j.request, "degenerate", 0) != 0) {
      // Only the rows where the rotation trick is defined (degenerate_rows judges the others):
      // z ≠ 0, q ≠ 0, z not a negative multiple of q.
      const at::Tensor zn = z.norm(2, 1), qn = q.norm(2, 1);
      const at::Tensor defined = (zn > 0) & (qn > 0) &
                                 ((z / zn.clamp_min(1e-300).unsqueeze(1) + q / qn.clamp_min(1e-300).unsqueeze(1)).norm(2, 1) > 1e-6);
      const at::Tensor rows = defined.nonzero().flatten();
      if (rows.numel() == 0) continue;
      z = z.index_select(0, rows);
      q = q.index_select(0, rows);
      g = g.index_select(0, rows);
      got = got.index_select(0, rows);
    }
    std::string match, closest;
    double closest_error = std::numeric_limits<double>::infinity();
    bool defective = false;
    for (const Estimator& e : estimators) {
      double error = 0;
      if (!compare(got, e.gradient(z, q, g), 1e-6, 1e-4, "grad_z", e.name, &error)) {
        match = e.name;
        defective = e.defective;
        break;
      }
      if (error < closest_error) { closest_error = error; closest = e.name; }
    }
    // A failure's numbers: grad_z against the estimator the class's name promises.
    const auto against_promise = [&] {
      for (const Estimator& e : estimators)
        if (e.name == promise.front()) return compare(got, e.gradient(z, q, g), 1e-6, 1e-4, "grad_z", "the " + e.name);
      return std::optional<Discrepancy>();
    };
    if (match.empty()) {
      t.fail(j, {"grad_z matches no known estimator (closest: " + closest + ", off by " + format_significant(closest_error, 3) + ")",
                 against_promise()});
      identities[cls] = "unknown";
    } else if (defective) {
      t.fail(j, {"grad_z matches the defective " + match, against_promise()});
      identities[cls] = match;
    } else if (std::find(promise.begin(), promise.end(), match) == promise.end()) {
      t.fail(j, {cls + " computes the " + match + ", not the " + promise.front() + " its name promises", against_promise()});
      identities[cls] = match;
    } else {
      identities[cls] = match;
      t.pass();
    }
  }
  return t.result(identities.count(cls) ? identities[cls] : std::string("?"));
}

}  // namespace vqvae::conform
