// Area quantizer: the three quantizer classes on the `quantizer` and `ste` cases — nearest
// codeword, z_q_hard (fixes #1 and #5), the forward value, the straight-through behaviour with z
// frozen (fix #2), the codebook loss's path (fix #5), and the gradient estimator each class
// computes against the one its name promises.
#include <vqvae/harness/conform_referee.h>

#include <vqvae/core/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/core/runtime.h>
#include <vqvae/harness/references.h>
#include <vqvae/quantizers/projection_vq.h>
#include <vqvae/quantizers/rotation_vq.h>

#include <ATen/ATen.h>

#include <functional>
#include <limits>

namespace vqvae::conform {
namespace {

constexpr const char* kVectorQuantizer = "VectorQuantizer";
constexpr const char* kRotationVectorQuantizer = "RotationVectorQuantizer";
constexpr const char* kProjectionVectorQuantizer = "ProjectionVectorQuantizer";

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

// What each class's name promises: VectorQuantizer the straight-through estimator,
// RotationVectorQuantizer the rotation trick (the baseline's earlier projection estimator is
// accepted there and reported as such), ProjectionVectorQuantizer the projection estimator.
std::vector<std::string> promised(const std::string& cls) {
  if (cls == kVectorQuantizer) return {kStraightThrough};
  if (cls == kRotationVectorQuantizer) return {kRotationTrick, kProjection};
  return {kProjection};
}

// codebook (n, k) gradient of Σ_i rows_i · codebook[idx_i] : Σ_{i: idx_i = j} rows_i.
at::Tensor scattered(const at::Tensor& rows, const at::Tensor& indices, int64_t n) {
  return at::zeros({n, rows.size(1)}, at::kDouble).index_add_(0, indices.to(at::kLong), f64(rows));
}

int64_t codebook_size(const Judged& j) { return j.request->dataset("codebook").size(0); }

std::string indices_problem(const Judged& j) {
  return bad_indices(output(*j.response, "indices"), j.request->dataset("z").size(0), codebook_size(j));
}

Check nearest(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::quantizer)) {
    if (const std::string why = indices_problem(j); !why.empty()) { t.fail(j.request->name + ": " + why); continue; }
    const at::Tensor& z = j.request->dataset("z");
    const at::Tensor& c = j.request->dataset("codebook");
    const at::Tensor excess = excess_squared_distance(z, c, *output(*j.response, "indices"));
    const double scale = std::max(1.0, max_abs(squared_distances_reference(z, c)));
    const int64_t wrong = (excess > 1e-5 * scale).sum().item<int64_t>();
    const at::Tensor* stored = j.expected.count("indices") ? &j.expected.at("indices") : nullptr;
    if (wrong > 0)
      t.fail(j.request->name + ": " + std::to_string(wrong) + " of " + std::to_string(z.size(0)) +
             " rows not at the nearest codeword (up to " + format_significant(max_abs(excess), 3) + " farther in squared distance)");
    else if (stored && !at::equal(output(*j.response, "indices")->to(at::kLong), stored->to(at::kLong)))
      t.fail(j.request->name + ": indices differ from the stored expectation");
    else
      t.pass();
  }
  return t.result("quantizers pick the nearest codeword (float64 reference)", std::nullopt, "every row nearest");
}

Check hard_quantization(const Cases& cases, const char* cls, std::optional<int> fix) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::quantizer, cls)) {
    const at::Tensor* hard = output(*j.response, "z_q_hard");
    if (!hard) {
      const std::string missing = text_attribute(*j.response, "missing");
      t.fail(j.request->name + ": no z_q_hard among the outputs" + (missing.empty() ? "" : " (missing: " + missing + ")"));
      continue;
    }
    if (const std::string why = indices_problem(j); !why.empty()) { t.fail(j.request->name + ": " + why); continue; }
    const at::Tensor c = f64(j.request->dataset("codebook"));
    double error = 0;
    if (!close(*hard, c.index_select(0, output(*j.response, "indices")->to(at::kLong)), 0, 0, error))
      t.fail(j.request->name + ": max|z_q_hard − codebook[indices]| = " + format_significant(error, 3) + " (expected 0)");
    else if (j.expected.count("z_q_hard") && !close(*hard, j.expected.at("z_q_hard"), 0, 0, error))
      t.fail(j.request->name + ": z_q_hard differs from the stored expectation by " + format_significant(error, 3));
    else
      t.pass();
  }
  return t.result(std::string(cls) + " returns z_q_hard = codebook[indices]", fix, "z_q_hard = codebook[indices] exactly");
}

// The forward value: every class returns q = codebook[indices], so z_q equals it up to the rounding
// of z + (q − z).
Check forward_value(const Cases& cases) {
  Tally t;
  double worst = 0;
  for (const Judged& j : cases.answered(t, ConformCaseKind::quantizer)) {
    const at::Tensor* z_q = output(*j.response, "z_q");
    if (!z_q) { t.fail(j.request->name + ": no z_q"); continue; }
    if (const std::string why = indices_problem(j); !why.empty()) { t.fail(j.request->name + ": " + why); continue; }
    const at::Tensor q = f64(j.request->dataset("codebook")).index_select(0, output(*j.response, "indices")->to(at::kLong));
    double error = 0;
    const double allowed = 1e-6 * std::max(1.0, max_abs(j.request->dataset("z")));
    if (!close(*z_q, q, allowed, 0, error))
      t.fail(j.request->name + " (" + text_attribute(*j.request, "class") + "): forward value z_q differs from codebook[indices] by up to " +
             format_significant(error, 3) + " (allowed " + format_significant(allowed, 2) + ")");
    else { t.pass(); worst = std::max(worst, error); }
  }
  t.measured = "max |z_q − codebook[indices]| " + format_significant(worst, 3);
  return t.result("every quantizer's forward value z_q is codebook[indices]", std::nullopt, "z_q = q");
}

// The rotation and projection classes also return distances ‖z − q‖ (B) and the commitment loss
// mean ‖z − q‖² (VectorQuantizer's info holds z_q_hard only: judged when present).
Check distances_and_commitment(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::quantizer)) {
    const std::string cls = text_attribute(*j.request, "class");
    const bool required = cls != kVectorQuantizer;
    if (!required && !output(*j.response, "distances") && !output(*j.response, "commitment_loss")) continue;
    if (const std::string why = indices_problem(j); !why.empty()) { t.fail(j.request->name + ": " + why); continue; }
    const at::Tensor q = f64(j.request->dataset("codebook")).index_select(0, output(*j.response, "indices")->to(at::kLong));
    const at::Tensor distances = (f64(j.request->dataset("z")) - q).norm(2, 1);
    const at::Tensor commitment = distances.pow(2).mean().reshape({1});
    std::string wrong = differs(*j.response, "distances", distances, "‖z − q‖ per row", 1e-6, 1e-5);
    if (wrong.empty()) {
      const at::Tensor* c = output(*j.response, "commitment_loss");
      wrong = c && c->numel() == 1 ? differs(*j.response, "commitment_loss", commitment.reshape(c->sizes()), "mean ‖z − q‖²", 1e-7, 1e-5)
                                   : "no commitment_loss (one number)";
    }
    if (!wrong.empty()) t.fail(j.request->name + " (" + cls + "): " + wrong);
    else t.pass();
  }
  return t.result("rotation and projection quantizers return distances ‖z − q‖ and commitment loss mean ‖z − q‖²",
                  std::nullopt, "info's distances and commitment_loss");
}

// Rows where the rotation trick is undefined — z = 0, q = 0, z = −q — must still give finite
// gradients (which finite values is a convention: this library's is in rotation_vq.h; conform
// requires finiteness only).
Check degenerate_rows_finite(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::quantizer)) {
    if (int_attribute(*j.request, "degenerate", 0) == 0) continue;
    if (status_of(*j.response) == "missing") { t.skip("no " + text_attribute(*j.request, "class") + " in this implementation"); continue; }
    if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
    std::string wrong;
    for (const char* name : {"z_q", "grad_z", "codebook_grad_from_z_q", "codebook_grad_from_z_q_hard"}) {
      const at::Tensor* got = output(*j.response, name);
      if (!got && std::string(name).rfind("codebook_grad", 0) == 0) continue;  // without z_q_hard: fix #5's checks say so
      if (!got) { wrong = std::string("no ") + name; break; }
      if (!at::isfinite(f64(*got)).all().item<bool>()) { wrong = std::string(name) + " is not finite (NaN or Inf) on a degenerate row"; break; }
    }
    if (!wrong.empty()) t.fail(j.request->name + ": " + wrong);
    else t.pass();
  }
  return t.result("RotationVectorQuantizer: rows with z = 0, q = 0 or z = −q give finite gradients", std::nullopt,
                  "finite values, never NaN");
}

Check frozen_z_q_has_no_codebook_gradient(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::quantizer, kVectorQuantizer)) {
    if (int_attribute(*j.request, "z_requires_grad", 1) != 0) continue;
    if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
    const at::Tensor* grad = output(*j.response, "codebook_grad_from_z_q");
    if (!has_attribute(*j.response, "z_q_requires_grad") || !grad) {
      t.fail(j.request->name + ": the response lacks " +
             std::string(!grad ? "codebook_grad_from_z_q" : "the attribute z_q_requires_grad") + ": nothing to judge");
      continue;
    }
    const double size = max_abs(*grad);
    if (int_attribute(*j.response, "z_q_requires_grad", 0) != 0 && size > 0)
      t.fail(j.request->name + ": with z not requiring grad, z_q carries a codebook gradient (max " + format_significant(size, 3) + ")");
    else t.pass();
  }
  return t.result("VectorQuantizer: z_q carries no codebook gradient when z requires none", 2, "z_q has no path to the codebook");
}

Check ste_consistency(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::ste, kVectorQuantizer)) {
    const at::Tensor* frozen = output(*j.response, "codebook_grad_z_frozen");
    const at::Tensor* trainable = output(*j.response, "codebook_grad_z_trainable");
    double error = 0;
    if (!frozen || !trainable) t.fail(j.request->name + ": codebook gradients missing");
    else if (!close(*frozen, *trainable, 1e-9, 1e-6, error))
      t.fail(j.request->name + ": codebook gradient differs by " + format_significant(error, 3) + " with z frozen vs requiring grad");
    else t.pass();
  }
  return t.result("VectorQuantizer: codebook gradient the same whether or not z requires grad", 2, "identical gradients");
}

Check codebook_loss_reaches_codebook(const Cases& cases, const char* cls, std::optional<int> fix) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::quantizer, cls)) {
    const at::Tensor* grad = output(*j.response, "codebook_grad_from_z_q_hard");
    if (!output(*j.response, "z_q_hard") || !grad) {
      t.fail(j.request->name + ": no z_q_hard, so the codebook loss cannot reach the codebook");
      continue;
    }
    if (const std::string why = indices_problem(j); !why.empty()) { t.fail(j.request->name + ": " + why); continue; }
    const at::Tensor expected = scattered(j.request->dataset("h"), *output(*j.response, "indices"), codebook_size(j));
    double error = 0;
    if (!close(*grad, expected, 1e-6, 1e-5, error))
      t.fail(j.request->name + ": codebook gradient through z_q_hard off by " + format_significant(error, 3));
    else if (j.expected.count("codebook_grad_from_z_q_hard") && !close(*grad, j.expected.at("codebook_grad_from_z_q_hard"), 1e-6, 1e-5, error))
      t.fail(j.request->name + ": codebook gradient through z_q_hard differs from the stored expectation by " + format_significant(error, 3));
    else t.pass();
  }
  return t.result(std::string(cls) + ": the codebook loss reaches the codebook through z_q_hard", fix,
                  "∂/∂codebook of z_q_hard·h = Σ h per codeword");
}

Check estimator(const Cases& cases, const char* cls, std::map<std::string, std::string>& identities) {
  Tally t;
  const auto estimators = known_estimators();
  const std::vector<std::string> promise = promised(cls);
  for (const Judged& j : cases.of(ConformCaseKind::quantizer, cls)) {
    if (int_attribute(*j.request, "z_requires_grad", 0) == 0) continue;
    if (status_of(*j.response) == "missing") { t.skip(std::string("no ") + cls + " in this implementation"); continue; }
    if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
    const at::Tensor* grad = output(*j.response, "grad_z");
    if (!grad) { t.fail(j.request->name + ": no grad_z"); continue; }
    if (const std::string why = indices_problem(j); !why.empty()) { t.fail(j.request->name + ": " + why); continue; }
    at::Tensor z = f64(j.request->dataset("z")), g = f64(j.request->dataset("g"));
    at::Tensor q = f64(j.request->dataset("codebook")).index_select(0, output(*j.response, "indices")->to(at::kLong));
    at::Tensor got = f64(*grad);
    if (int_attribute(*j.request, "degenerate", 0) != 0) {
      // Only the rows where the rotation trick is defined (degenerate_rows_finite judges the others):
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
      if (close(got, e.gradient(z, q, g), 1e-6, 1e-4, error)) {
        match = e.name;
        defective = e.defective;
        break;
      }
      if (error < closest_error) { closest_error = error; closest = e.name; }
    }
    if (match.empty()) {
      t.fail(j.request->name + ": grad_z matches no known estimator (closest: " + closest + ", off by " +
             format_significant(closest_error, 3) + ")");
      identities[cls] = "unknown";
    } else if (defective) {
      t.fail(j.request->name + ": grad_z matches the defective " + match);
      identities[cls] = match;
    } else if (std::find(promise.begin(), promise.end(), match) == promise.end()) {
      t.fail(j.request->name + ": " + cls + " computes the " + match + ", not the " + promise.front() + " its name promises");
      identities[cls] = match;
    } else {
      identities[cls] = match;
      t.pass();
    }
  }
  return t.result(std::string("estimator of ") + cls, std::nullopt,
                  identities.count(cls) ? identities[cls] : std::string("?"));
}

GoldenRecord quantizer_case(const std::string& name, const std::string& cls, const at::Tensor& codebook, const at::Tensor& z,
                            at::Generator& gen, bool degenerate) {
  std::vector<Attribute> attributes{{"kind", std::string("quantizer")}, {"class", cls}, {"z_requires_grad", int64_t{1}}};
  if (degenerate) attributes.emplace_back("degenerate", int64_t{1});
  return make_record("builtin_quantizer_" + name + "_" + cls, std::move(attributes),
                     {{"codebook", codebook.contiguous()}, {"z", z.contiguous()},
                      {"g", at::randn(z.sizes(), gen, at::kFloat)}, {"h", at::randn(z.sizes(), gen, at::kFloat)}});
}

}  // namespace

// Small latents (‖z‖, ‖q‖ and ‖q − z‖ below 1: a clamp or a missing normalisation shows there,
// not on unit-scale rows) for every class, and the rotation trick's degenerate rows.
std::vector<GoldenRecord> quantizer_cases() {
  at::Generator gen = make_generator(71);
  const at::Tensor small_codebook = 0.2 * at::randn({8, 4}, gen, at::kFloat);
  const at::Tensor small_z = small_codebook.index_select(0, at::arange(8, at::kLong).remainder(8)) +
                             0.03 * at::randn({8, 4}, gen, at::kFloat);
  std::vector<GoldenRecord> out;
  for (const char* cls : kQuantizerClasses) out.push_back(quantizer_case("small", cls, small_codebook, small_z, gen, false));
  // z = 0 (nearest codeword (1,0,0,0)), z = −q (the row (−1,0,0,0) is nearer (1,0,0,0) than the
  // others), and q = 0 (the second case's codebook holds the zero codeword).
  const auto rows = [](std::vector<float> values) {
    return at::tensor(values, at::kFloat).view({-1, 4});
  };
  const at::Tensor far = rows({1, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, -9});
  out.push_back(quantizer_case("degenerate_z", kRotationVectorQuantizer, far, rows({0, 0, 0, 0, -1, 0, 0, 0, 0.5f, 0.1f, 0, 0}),
                               gen, true));
  out.push_back(quantizer_case("degenerate_q", kRotationVectorQuantizer, rows({0, 0, 0, 0, 0, 0, 9, 0}),
                               rows({0.1f, -0.2f, 0, 0.05f, 0, 0.3f, 8, 0}), gen, true));
  return out;
}

void judge_quantizer(const Cases& cases, Verdicts& out) {
  out.checks.push_back(nearest(cases));
  out.checks.push_back(forward_value(cases));
  out.checks.push_back(distances_and_commitment(cases));
  out.checks.push_back(degenerate_rows_finite(cases));
  out.checks.push_back(hard_quantization(cases, kVectorQuantizer, 1));
  out.checks.push_back(codebook_loss_reaches_codebook(cases, kVectorQuantizer, 1));
  out.checks.push_back(frozen_z_q_has_no_codebook_gradient(cases));
  out.checks.push_back(ste_consistency(cases));
  out.checks.push_back(hard_quantization(cases, kRotationVectorQuantizer, 5));
  out.checks.push_back(codebook_loss_reaches_codebook(cases, kRotationVectorQuantizer, 5));
  out.checks.push_back(hard_quantization(cases, kProjectionVectorQuantizer, std::nullopt));
  for (const char* cls : kQuantizerClasses) out.checks.push_back(estimator(cases, cls, out.estimators));
}

}  // namespace vqvae::conform
