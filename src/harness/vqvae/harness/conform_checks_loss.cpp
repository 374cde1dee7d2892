// Area loss: vqvae_loss (fix #1: its codebook term on z_q_hard; its values; β = 0.25 by default)
// on the `loss` cases, and the model's outputs and codebook gradient (fixes #1 and #5) on the
// `model` cases.
#include <vqvae/harness/conform_referee.h>

#include <vqvae/core/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/core/runtime.h>
#include <vqvae/harness/references.h>

#include <ATen/ATen.h>

namespace vqvae::conform {
namespace {

// β of a loss case: 0.25 (the baseline's default) when called with the defaults.
double beta_of(const GoldenRecord& request) {
  return text_attribute(request, "call") == "defaults" ? 0.25 : std::get<double>(request.attribute("beta"));
}

// The four values of the definition (total, recon, codebook, commitment), float64.
at::Tensor defined_losses(const GoldenRecord& request) {
  const at::Tensor x = f64(request.dataset("x")), x_recon = f64(request.dataset("x_recon"));
  const at::Tensor z = f64(request.dataset("z")), hard = f64(request.dataset("z_q_hard"));
  const double recon = (x_recon - x).pow(2).mean().item<double>();
  const double codebook = (z - hard).pow(2).mean().item<double>();
  return at::tensor({recon + codebook + beta_of(request) * codebook, recon, codebook, codebook}, at::kDouble);
}

Check takes_z_q_hard(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::loss)) {
    if (text_attribute(*j.request, "call") == "defaults") continue;  // default_beta's: its β is the question
    if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
    const at::Tensor x = f64(j.request->dataset("x")), x_recon = f64(j.request->dataset("x_recon"));
    const at::Tensor z = f64(j.request->dataset("z")), hard = f64(j.request->dataset("z_q_hard"));
    const double beta = beta_of(*j.request);
    const double Bd = static_cast<double>(x.numel()), Bk = static_cast<double>(z.numel());
    // codebook = mse(sg z, z_q_hard), commitment = mse(z, sg z_q_hard): each term's gradient.
    const std::vector<std::pair<const char*, at::Tensor>> expected{
        {"grad_x_recon", 2 * (x_recon - x) / Bd},
        {"grad_z", beta * 2 * (z - hard) / Bk},
        {"grad_z_q_hard", 2 * (hard - z) / Bk},
        {"grad_z_q", at::zeros_like(z)}};
    std::string wrong;
    for (const auto& [name, value] : expected)
      if (wrong = differs(*j.response, name, value, std::string("the definition's ∂total/∂") + (name + 5), 1e-7, 1e-4);
          !wrong.empty()) {
        if (std::string(name) == "grad_z_q") wrong += ": the codebook or commitment term uses z_q";
        break;
      }
    if (wrong.empty() && j.expected.count("grad_z_q_hard"))
      wrong = differs(*j.response, "grad_z_q_hard", j.expected.at("grad_z_q_hard"), "the stored expectation", 1e-7, 1e-4);
    if (!wrong.empty()) t.fail(j.request->name + ": " + wrong);
    else t.pass();
  }
  return t.result("vqvae_loss takes z_q_hard: its codebook term reaches z_q_hard, not z_q", 1,
                  "the four gradients of the loss's definition");
}

Check loss_values(const Cases& cases) {
  Tally t;
  double worst = 0;
  for (const Judged& j : cases.of(ConformCaseKind::loss)) {
    if (text_attribute(*j.request, "call") == "defaults") continue;  // default_beta's
    if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
    const at::Tensor expected = defined_losses(*j.request);
    const at::Tensor* got = output(*j.response, "losses");
    double error = 0;
    if (!got || got->numel() != 4) { t.fail(j.request->name + ": losses " + shape_of(got) + ", expected (4): total, recon, codebook, commitment"); continue; }
    if (!close(got->reshape({4}), expected, 1e-7, 1e-5, error)) {
      const at::Tensor diff = (f64(got->reshape({4})) - expected).abs();
      const int64_t worst_index = diff.argmax().item<int64_t>();
      const char* names[] = {"total", "recon", "codebook", "commitment"};
      t.fail(j.request->name + ": " + names[worst_index] + " = " + format_significant(f64(*got).reshape({4})[worst_index].item<double>(), 6) +
             ", the definition gives " + format_significant(expected[worst_index].item<double>(), 6) + " (β = " +
             format_significant(beta_of(*j.request), 3) + ")");
      continue;
    }
    if (j.expected.count("losses"))
      if (const std::string why = differs(*j.response, "losses", j.expected.at("losses"), "the stored expectation", 1e-6, 1e-5);
          !why.empty()) {
        t.fail(j.request->name + ": " + why);
        continue;
      }
    worst = std::max(worst, error);
    t.pass();
  }
  t.measured = "max error " + format_significant(worst, 3);
  return t.result("vqvae_loss returns total, recon, codebook and commitment as defined", std::nullopt,
                  "recon + codebook + β·commitment");
}

Check default_beta(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::loss)) {
    if (text_attribute(*j.request, "call") != "defaults") continue;
    if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
    const at::Tensor* got = output(*j.response, "losses");
    if (!got || got->numel() != 4) { t.fail(j.request->name + ": no losses"); continue; }
    const at::Tensor l = f64(*got).reshape({4});
    const double commitment = l[3].item<double>();
    const double beta = (l[0].item<double>() - l[1].item<double>() - l[2].item<double>()) / commitment;
    const at::Tensor expected = defined_losses(*j.request);  // with β = 0.25
    double error = 0;
    if (!(std::abs(beta - 0.25) <= 1e-4)) t.fail(j.request->name + ": called without beta, vqvae_loss used β = " + format_significant(beta, 4) + ", the baseline's default is 0.25");
    else if (!close(l, expected, 1e-7, 1e-5, error)) t.fail(j.request->name + ": the losses differ from the definition by " + format_significant(error, 3));
    else t.pass();
  }
  return t.result("vqvae_loss without beta uses the baseline's β = 0.25", std::nullopt, "β = 0.25 by default");
}

Check model_outputs(const Cases& cases, const char* cls, int fix) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::model, cls)) {
    const std::string keys = text_attribute(*j.response, "output_keys");
    if (!output(*j.response, "z_q_hard"))
      t.fail(j.request->name + ": forward returned " + (keys.empty() ? "no output keys" : "{" + keys + "}") + ", no z_q_hard");
    else t.pass();
  }
  return t.result(std::string("VQVAE(…, ") + cls + ", …) outputs carry z_q_hard", fix, "z_q_hard among the outputs");
}

// The codebook gradient of the whole loss through a model (`model` cases: z = x · U_k) and, for
// VectorQuantizer, through the quantizer and decoder with z frozen (`ste` cases): only the
// codebook term reaches the codebook, so it is the closed form.
Check model_codebook_gradient(const Cases& cases, const char* cls, int fix) {
  Tally t;
  double worst = 0;
  const auto judge = [&](const Judged& j, const at::Tensor& z, const char* name) {
    const at::Tensor c = f64(j.request->dataset("codebook"));
    const at::Tensor expected = codebook_loss_gradient(z, c, nearest_codeword_reference(z, c));
    const at::Tensor* got = output(*j.response, name);
    double error = 0;
    if (!got)
      t.fail(j.request->name + ": no " + name);
    else if (!close(*got, expected, 1e-7, 1e-4, error))
      t.fail(j.request->name + ": max|grad − 2(c_j − z)/(B·k)| = " + format_significant(error, 3) +
             " (|expected| up to " + format_significant(max_abs(expected), 3) + ")");
    else if (j.expected.count(name) && !close(*got, j.expected.at(name), 1e-7, 1e-4, error))
      t.fail(j.request->name + ": " + name + " differs from the stored expectation by " + format_significant(error, 3));
    else { t.pass(); worst = std::max(worst, error); }
  };
  for (const Judged& j : cases.answered(t, ConformCaseKind::model, cls))
    judge(j, f64(j.request->dataset("x")).matmul(f64(j.request->dataset("U_k"))), "codebook_grad");
  if (std::string(cls) == "VectorQuantizer")
    for (const Judged& j : cases.answered(t, ConformCaseKind::ste, cls))
      judge(j, f64(j.request->dataset("z")), "codebook_grad_z_frozen");
  t.measured = "max error " + format_significant(worst, 3);
  return t.result(std::string("codebook gradient through ") + cls + " = 2(c_j − z)/(B·k)", fix,
                  "the loss's codebook gradient is the closed form");
}

}  // namespace

// A loss case called the way the seed's snippet calls vqvae_loss, without beta, and one with an
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

void judge_loss(const Cases& cases, Verdicts& out) {
  out.checks.push_back(takes_z_q_hard(cases));
  out.checks.push_back(loss_values(cases));
  out.checks.push_back(default_beta(cases));
  out.checks.push_back(model_outputs(cases, "VectorQuantizer", 1));
  out.checks.push_back(model_codebook_gradient(cases, "VectorQuantizer", 1));
  out.checks.push_back(model_codebook_gradient(cases, "RotationVectorQuantizer", 5));
}

}  // namespace vqvae::conform
