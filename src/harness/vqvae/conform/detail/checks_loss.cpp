// Area loss: vqvae_loss on the `loss` cases — each term's gradient (fix #1: the codebook term on
// z_q_hard), each returned value, β = 0.25 by default — and the model's outputs and codebook
// gradient through each quantizer class (fixes #1 and #5) on the `model` and `ste` cases.
#include <vqvae/conform/detail/referee.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/harness/detail/references.h>

#include <ATen/ATen.h>

namespace vqvae::conform {
namespace {

// β of a loss case: 0.25 (the baseline's default) when called with the defaults.
double beta_of(const GoldenRecord& request) {
  return text_attribute(request, "call") == "defaults" ? 0.25 : real_attribute(request, "beta", 0.25);
}

// The four values of the definition (total, recon, codebook, commitment), float64.
at::Tensor defined_losses(const GoldenRecord& request) {
  const at::Tensor x = f64(request.dataset("x")), x_recon = f64(request.dataset("x_recon"));
  const at::Tensor z = f64(request.dataset("z")), hard = f64(request.dataset("z_q_hard"));
  const double recon = (x_recon - x).pow(2).mean().item<double>();
  const double codebook = (z - hard).pow(2).mean().item<double>();
  return at::tensor({recon + codebook + beta_of(request) * codebook, recon, codebook, codebook}, at::kDouble);
}

// The loss cases called with explicit β (default_beta judges the one called without).
std::vector<Judged> explicit_loss_cases(const Cases& cases, Tally& t) {
  std::vector<Judged> out;
  for (const Judged& j : cases.of(ConformCaseKind::loss)) {
    if (is_defaults_call(j)) continue;
    if (usable(j, t)) out.push_back(j);
  }
  return out;
}

// One term's gradient of total = recon + codebook + β·commitment, on leaves x_recon, z, z_q and
// z_q_hard: recon reaches x_recon; commitment = mse(z, sg z_q_hard) reaches z (β-weighted); the
// codebook term mse(sg z, z_q_hard) reaches z_q_hard and nothing reaches z_q (fix #1).
enum class Term { recon, codebook, commitment };

Check term_gradient(const Cases& cases, Term term) {
  Tally t;
  for (const Judged& j : explicit_loss_cases(cases, t)) {
    const at::Tensor x = f64(j.request->dataset("x")), x_recon = f64(j.request->dataset("x_recon"));
    const at::Tensor z = f64(j.request->dataset("z")), hard = f64(j.request->dataset("z_q_hard"));
    const double Bd = static_cast<double>(x.numel()), Bk = static_cast<double>(z.numel());
    Failure wrong;
    if (term == Term::recon) {
      wrong = differs(*j.response, "grad_x_recon", 2 * (x_recon - x) / Bd, "∂total/∂x_recon = 2(x_recon − x)/(B·d)", 1e-7, 1e-4);
    } else if (term == Term::commitment) {
      wrong = differs(*j.response, "grad_z", beta_of(*j.request) * 2 * (z - hard) / Bk, "∂total/∂z = β·2(z − z_q_hard)/(B·k)", 1e-7, 1e-4);
    } else {
      wrong = differs(*j.response, "grad_z_q_hard", 2 * (hard - z) / Bk, "∂total/∂z_q_hard = 2(z_q_hard − z)/(B·k)", 1e-7, 1e-4);
      if (wrong.empty() && j.expected.count("grad_z_q_hard"))
        wrong = differs(*j.response, "grad_z_q_hard", j.expected.at("grad_z_q_hard"), "the stored expectation", 1e-7, 1e-4);
      if (wrong.empty()) {
        wrong = differs(*j.response, "grad_z_q", at::zeros_like(z), "∂total/∂z_q = 0", 1e-7, 1e-4);
        if (!wrong.empty()) wrong = wrong + ": the codebook or commitment term uses z_q";
      }
    }
    if (!wrong.empty()) t.fail(j, wrong);
    else t.pass();
  }
  switch (term) {
    case Term::recon: return t.result("2(x_recon − x)/(B·d)");
    case Term::commitment: return t.result("β·2(z − z_q_hard)/(B·k), nothing through z_q");
    case Term::codebook: return t.result("2(z_q_hard − z)/(B·k) to z_q_hard, 0 to z_q");
  }
  return t.result("");
}


// One of the four returned values (index into total, recon, codebook, commitment) against the
// definition, and against the stored expectation where the golden file has one.
Check loss_value(const Cases& cases, int index) {
  Tally t;
  double worst = 0;
  for (const Judged& j : explicit_loss_cases(cases, t)) {
    const at::Tensor* got = output(*j.response, "losses");
    if (!got || got->numel() != 4) {
      t.fail(j, {"losses " + shape_of(got) + ", expected (4): total, recon, codebook, commitment",
                 shapes(got, {4}, "losses", "(total, recon, codebook, commitment)")});
      continue;
    }
    const double value = f64(*got).reshape({4})[index].item<double>();
    const double want = defined_losses(*j.request)[index].item<double>();
    if (const auto numbers = compare(value, want, 1e-7 + 1e-5 * std::abs(want), kLossNames[index], "the definition")) {
      t.fail(j, {std::string(kLossNames[index]) + " = " + format_significant(value, 6) + ", the definition gives " +
                     format_significant(want, 6) + " (β = " + format_significant(beta_of(*j.request), 3) + ")",
                 numbers});
      continue;
    }
    if (j.expected.count("losses")) {
      const double stored = f64(j.expected.at("losses")).reshape({4})[index].item<double>();
      if (const auto numbers = compare(value, stored, 1e-6 + 1e-5 * std::abs(stored), kLossNames[index], "the stored expectation")) {
        t.fail(j, {std::string(kLossNames[index]) + " = " + format_significant(value, 6) + ", the stored expectation is " +
                       format_significant(stored, 6),
                   numbers});
        continue;
      }
    }
    worst = std::max(worst, std::abs(value - want));
    t.pass();
  }
  t.measured = "max error " + format_significant(worst, 3);
  return t.result("as defined");
}

Check default_beta(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::loss)) {
    if (!is_defaults_call(j)) continue;
    if (!usable(j, t)) continue;
    const at::Tensor* got = output(*j.response, "losses");
    if (!got || got->numel() != 4) { t.fail(j, "no losses"); continue; }
    const at::Tensor l = f64(*got).reshape({4});
    const double commitment = l[3].item<double>();
    const double beta = (l[0].item<double>() - l[1].item<double>() - l[2].item<double>()) / commitment;
    if (const auto numbers = compare(beta, 0.25, 1e-4, "β (total − recon − codebook) / commitment", "the baseline's default"))
      t.fail(j, {"called without beta, vqvae_loss used β = " + format_significant(beta, 4) +
                     " (from total − recon − codebook = β·commitment), the baseline's default is 0.25",
                 numbers});
    else t.pass();
  }
  return t.result("β = 0.25 by default");
}

Check model_outputs(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::model, "VectorQuantizer")) {
    const std::string keys = text_attribute(*j.response, "output_keys");
    if (!output(*j.response, "z_q_hard"))
      t.fail(j, "forward returned " + (keys.empty() ? "no output keys" : "{" + keys + "}") + ", no z_q_hard");
    else t.pass();
  }
  return t.result("z_q_hard among the outputs");
}

// The codebook gradient of the whole loss through a model (`model` cases: z = x · U_k) and, for
// VectorQuantizer, through the quantizer and decoder with z frozen (`ste` cases): only the
// codebook term reaches the codebook, so it is the closed form.
Check model_codebook_gradient(const Cases& cases, const char* cls) {
  Tally t;
  double worst = 0;
  const auto judge = [&](const Judged& j, const at::Tensor& z, const char* name) {
    const at::Tensor c = f64(j.request->dataset("codebook"));
    const at::Tensor expected = codebook_loss_gradient(z, c, nearest_codeword_reference(z, c));
    const at::Tensor* got = output(*j.response, name);
    std::optional<Discrepancy> numbers;
    double error = 0;  // against the closed form
    if (!got)
      t.fail(j, std::string("no ") + name);
    else if ((numbers = compare(*got, expected, 1e-7, 1e-4, name, "2(c_j − z)/(B·k)", &error)))
      t.fail(j, {"max|grad − 2(c_j − z)/(B·k)| = " + format_significant(numbers->max_difference, 3) +
                     " (|expected| up to " + format_significant(max_abs(expected), 3) + ")",
                 numbers});
    else if (j.expected.count(name) &&
             (numbers = compare(*got, j.expected.at(name), 1e-7, 1e-4, name, "the stored expectation")))
      t.fail(j, {std::string(name) + " differs from the stored expectation by " + format_significant(numbers->max_difference, 3), numbers});
    else { t.pass(); worst = std::max(worst, error); }
  };
  for (const Judged& j : cases.answered(t, ConformCaseKind::model, cls))
    judge(j, f64(j.request->dataset("x")).matmul(f64(j.request->dataset("U_k"))), "codebook_grad");
  if (std::string(cls) == "VectorQuantizer")
    for (const Judged& j : cases.answered(t, ConformCaseKind::ste, cls))
      judge(j, f64(j.request->dataset("z")), "codebook_grad_z_frozen");
  t.measured = "max error " + format_significant(worst, 3);
  return t.result("the loss's codebook gradient is the closed form");
}

}  // namespace

// A loss case called the way the baseline's snippet calls vqvae_loss, without beta, and one with an
// explicit β other than the default (a loss that ignores its beta argument shows there).
std::vector<GoldenRecord> loss_cases() {
  at::Generator gen = make_generator(31);
  const int64_t B = 16, d = 8, k = 4;
  const at::Tensor x = at::randn({B, d}, gen, at::kFloat);
  const at::Tensor x_recon = x + 0.3 * at::randn({B, d}, gen, at::kFloat);
  const at::Tensor z = at::randn({B, k}, gen, at::kFloat);
  const at::Tensor hard = z + 0.5 * at::randn({B, k}, gen, at::kFloat);
  const std::vector<std::pair<std::string, at::Tensor>> inputs{
      {"x", x}, {"x_recon", x_recon}, {"z", z}, {"z_q", hard.clone()}, {"z_q_hard", hard}};
  return {make_record("builtin_loss_defaults", {{"kind", std::string("loss")}, {"beta", 0.25}, {"call", std::string("defaults")}},
                      inputs),
          make_record("builtin_loss_beta", {{"kind", std::string("loss")}, {"beta", 0.75}, {"call", std::string("explicit")}},
                      inputs)};
}

std::vector<CheckDefinition> loss_checks() {
  using K = ConformCaseKind;
  const std::vector<std::string> loss{"vqvae_loss"};
  const auto model = [](const char* cls) {
    return std::vector<std::string>{"VQVAE", "PCAEncoder", "PCADecoder", cls, "vqvae_loss"};
  };
  std::vector<CheckDefinition> out{
      {"loss.vqvae_loss.codebook_term_on_z_q_hard", "vqvae_loss takes z_q_hard: its codebook term reaches z_q_hard, not z_q", 1,
       {K::loss}, loss, [](const Cases& c, Findings&) { return term_gradient(c, Term::codebook); }},
      {"loss.vqvae_loss.recon_gradient", "vqvae_loss: the reconstruction term's gradient reaches x_recon", std::nullopt,
       {K::loss}, loss, [](const Cases& c, Findings&) { return term_gradient(c, Term::recon); }},
      {"loss.vqvae_loss.commitment_gradient", "vqvae_loss: the commitment term's gradient reaches z, weighted by β",
       std::nullopt, {K::loss}, loss, [](const Cases& c, Findings&) { return term_gradient(c, Term::commitment); }}};
  const char* definitions[] = {"recon + codebook + β·commitment", "mean (x_recon − x)²", "mean (sg z − z_q_hard)²",
                               "mean (z − sg z_q_hard)²"};
  for (int i = 0; i < 4; ++i)
    out.push_back({std::string("loss.vqvae_loss.") + kLossNames[i],
                   std::string("vqvae_loss returns ") + kLossNames[i] + " = " + definitions[i], std::nullopt, {K::loss}, loss,
                   [i](const Cases& c, Findings&) { return loss_value(c, i); }});
  out.push_back({"loss.vqvae_loss.default_beta", "vqvae_loss without beta uses the baseline's β = 0.25", std::nullopt,
                 {K::loss}, loss, [](const Cases& c, Findings&) { return default_beta(c); }});
  out.push_back({"loss.model.outputs_z_q_hard", "VQVAE(…, VectorQuantizer, …) outputs carry z_q_hard", 1, {K::model},
                 model("VectorQuantizer"), [](const Cases& c, Findings&) { return model_outputs(c); }});
  out.push_back({"loss.codebook_gradient.vq", "codebook gradient through VectorQuantizer = 2(c_j − z)/(B·k)", 1,
                 {K::model, K::ste}, model("VectorQuantizer"),
                 [](const Cases& c, Findings&) { return model_codebook_gradient(c, "VectorQuantizer"); }});
  out.push_back({"loss.codebook_gradient.rotation", "codebook gradient through RotationVectorQuantizer = 2(c_j − z)/(B·k)", 5,
                 {K::model}, model("RotationVectorQuantizer"),
                 [](const Cases& c, Findings&) { return model_codebook_gradient(c, "RotationVectorQuantizer"); }});
  return out;
}

}  // namespace vqvae::conform
