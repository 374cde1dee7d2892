#include <vqvae/validate/validate.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/evaluation/metrics.h>
#include <vqvae/goldens/pca_suite.h>
#include <vqvae/harness/detail/references.h>
#include <vqvae/models/legacy.h>
#include <vqvae/study/factory.h>
#include <vqvae/preflight/memory_estimate.h>
#include <vqvae/training/losses.h>
#include <vqvae/training/trainer.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace vqvae {
namespace {

using Status = Check::Status;

std::string fmt(double value) { return format_significant(value, 4); }


// What one check needs: the configuration, the data, the model under test and a batch.
struct Context {
  const RunConfig& config;
  const GaussianDataset& dataset;
  VQVAE model;
  at::Tensor x;  // (B, d)
  const ValidationOptions& options;
};

Check check_shapes(Context& c) {
  Check r;
  const int64_t B = c.x.size(0), d = c.config.d, k = c.config.k;
  const VQVAEOutput out = c.model(c.x);
  std::ostringstream bad;
  const auto expect = [&](const char* name, const at::Tensor& t, std::vector<int64_t> sizes) {
    if (!t.defined() || t.sizes() != at::IntArrayRef(sizes))
      bad << name << " " << shape_string(t) << " (expected " << shape_string(at::empty(sizes)) << ") ";
  };
  expect("x_recon", out.x_recon, {B, d});
  expect("z", out.z, {B, k});
  expect("z_q", out.z_q, {B, k});
  expect("z_q_hard", out.z_q_hard, {B, k});
  expect("indices", out.indices, {B});
  if (out.indices.defined() && out.indices.scalar_type() != at::kLong) bad << "indices not int64 ";
  r.status = bad.str().empty() ? Status::passed : Status::failed;
  r.detail = bad.str().empty() ? "x_recon (" + std::to_string(B) + ", " + std::to_string(d) +
                                     "), z, z_q, z_q_hard (" + std::to_string(B) + ", " +
                                     std::to_string(k) + "), indices (" + std::to_string(B) + ") int64"
                               : bad.str();
  return r;
}

Check check_hard_quantization(Context& c) {
  Check r;
  const VQVAEOutput out = c.model(c.x);
  if (!out.z_q_hard.defined()) {
    r.status = Status::failed;
    r.detail = "z_q_hard missing from the model's outputs";
    return r;
  }
  const at::Tensor codebook = c.model->quantizer()->codebook;
  const double hard_error = max_abs(out.z_q_hard - codebook.index_select(0, out.indices));
  // z_q = z + (q − z) rounds once or twice: allow a few ulps of the latents' scale.
  const double scale = std::max(1.0, max_abs(out.z));
  const double value_error = max_abs(out.z_q - out.z_q_hard);
  const bool carries_grad = out.z_q_hard.requires_grad() || !codebook.requires_grad();
  r.numbers = {{"max_abs_z_q_hard_minus_codebook_indices", hard_error},
               {"max_abs_z_q_minus_z_q_hard", value_error}};
  r.status = hard_error == 0 && value_error <= 1e-5 * scale && carries_grad ? Status::passed : Status::failed;
  r.detail = "max|z_q_hard − codebook[idx]| = " + fmt(hard_error) + " (expected 0), max|z_q − z_q_hard| = " +
             fmt(value_error) + " (≤ " + fmt(1e-5 * scale) + ")" +
             (carries_grad ? "" : ", z_q_hard carries no gradient to the codebook");
  return r;
}

Check check_nearest_codeword(Context& c) {
  Check r;
  const VQVAEOutput out = c.model(c.x);
  const at::Tensor z = out.z.detach();
  const at::Tensor codebook = c.model->quantizer()->codebook.detach();
  // Float32 search vs float64 reference: equal up to rounding of the squared distances.
  const at::Tensor excess = excess_squared_distance(z, codebook, out.indices);
  const at::Tensor nearest = std::get<0>(squared_distances_reference(z, codebook).min(1));
  const double tolerance = 1e-5 * std::max(1.0, nearest.max().item<double>());
  const int64_t wrong = (excess > tolerance).sum().item<int64_t>();
  r.numbers = {{"rows_not_nearest", static_cast<double>(wrong)}, {"max_excess_distance", max_abs(excess)}};
  r.status = wrong == 0 ? Status::passed : Status::failed;
  r.detail = std::to_string(wrong) + " of " + std::to_string(z.size(0)) +
             " rows not at the nearest codeword (float64 reference; expected 0)";
  return r;
}

Check check_codebook_gradient(Context& c) {
  Check r;
  c.model->zero_grad();
  const VQVAEOutput out = c.model(c.x);
  const LossOutput loss = vqvae_loss(c.x, out.x_recon, out.z, out.z_q, out.z_q_hard, c.config.beta);
  loss.total.backward();
  const at::Tensor codebook = c.model->quantizer()->codebook;
  at::Tensor grad = codebook.grad();
  if (!grad.defined()) grad = at::zeros_like(codebook);
  // ∂L/∂c_j = Σ_{i: idx_i = j} 2(c_j − z_i)/(B·k): only the codebook term reaches the codebook.
  const at::Tensor expected = codebook_loss_gradient(out.z, codebook, out.indices);
  const double error = max_abs(grad.to(at::kDouble) - expected);
  const double tolerance = 1e-4 * std::max(max_abs(expected), 1e-6);
  r.numbers = {{"max_abs_error", error}, {"max_abs_expected", max_abs(expected)}};
  r.status = error <= tolerance ? Status::passed : Status::failed;
  r.detail = "max|grad − 2(c_j − z)/(B·k)| = " + fmt(error) + " (≤ " + fmt(tolerance) + ")";
  c.model->zero_grad();
  return r;
}

// The codebook's and the decoder's gradients from the full loss, with z given as is.
std::vector<at::Tensor> gradients_through_quantizer(Context& c, const at::Tensor& z) {
  c.model->zero_grad();
  const QuantizerOutput q = c.model->quantize(z);
  const at::Tensor x_recon = c.model->decode(q.z_q);
  vqvae_loss(c.x, x_recon, z, q.z_q, q.z_q_hard, c.config.beta).total.backward();
  std::vector<at::Tensor> grads;
  for (const auto& p : c.model->quantizer()->parameters())
    grads.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
  for (const auto& p : c.model->decoder()->parameters())
    grads.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
  c.model->zero_grad();
  return grads;
}

Check check_ste_consistency(Context& c) {
  Check r;
  const at::Tensor z = c.model->encode(c.x).detach();
  const at::Tensor z_grad = z.clone().requires_grad_();
  const double value_diff = max_abs(c.model->quantize(z).z_q - c.model->quantize(z_grad).z_q);
  const auto without = gradients_through_quantizer(c, z);
  const auto with = gradients_through_quantizer(c, z_grad);
  double grad_diff = 0;
  for (size_t i = 0; i < with.size(); ++i) grad_diff = std::max(grad_diff, max_abs(with[i] - without[i]));
  r.numbers = {{"max_abs_z_q_difference", value_diff}, {"max_abs_gradient_difference", grad_diff}};
  r.status = value_diff == 0 && grad_diff <= 1e-7 ? Status::passed : Status::failed;
  r.detail = "z with and without requires_grad: max|Δz_q| = " + fmt(value_diff) +
             ", max|Δ grad codebook, decoder| = " + fmt(grad_diff) + " (expected 0)";
  return r;
}

bool any_gradient(const std::vector<at::Tensor>& parameters) {
  for (const auto& p : parameters)
    if (p.grad().defined() && p.grad().abs().sum().item<double>() > 0) return true;
  return false;
}

bool has_trainable(const std::vector<at::Tensor>& parameters) {
  for (const auto& p : parameters)
    if (p.requires_grad()) return true;
  return false;
}

Check check_gradient_routing(Context& c) {
  Check r;
  const auto encoder = c.model->encoder()->parameters();
  const auto codebook = c.model->quantizer()->parameters();
  const auto decoder = c.model->decoder()->parameters();
  const bool encoder_trains = has_trainable(encoder), decoder_trains = has_trainable(decoder);
  // docs/design.md's routing table: term -> the parameter groups it must reach (and no others).
  const std::vector<std::pair<std::string, std::set<std::string>>> table = {
      {"recon", [&] { std::set<std::string> s; if (encoder_trains) s.insert("encoder"); if (decoder_trains) s.insert("decoder"); return s; }()},
      {"codebook", has_trainable(codebook) ? std::set<std::string>{"codebook"} : std::set<std::string>{}},
      {"commitment", encoder_trains ? std::set<std::string>{"encoder"} : std::set<std::string>{}},
  };
  // Each term exactly as vqvae_loss builds it, backpropagated alone: a loss that builds a term
  // from the wrong tensor (fix #1's z_q for z_q_hard) shows here as a wrong set.
  c.model->zero_grad();
  const VQVAEOutput out = c.model(c.x);
  const LossOutput loss = vqvae_loss(c.x, out.x_recon, out.z, out.z_q, out.z_q_hard, c.config.beta);
  const std::map<std::string, at::Tensor> terms = {
      {"recon", loss.recon_term}, {"codebook", loss.codebook_term}, {"commitment", loss.commitment_term}};
  std::ostringstream measured, wrong;
  for (const auto& [term, expected] : table) {
    c.model->zero_grad();
    const at::Tensor& value = terms.at(term);
    if (value.requires_grad()) value.backward({}, /*retain_graph=*/true);
    std::set<std::string> reached;
    if (any_gradient(encoder)) reached.insert("encoder");
    if (any_gradient(codebook)) reached.insert("codebook");
    if (any_gradient(decoder)) reached.insert("decoder");
    const auto list = [](const std::set<std::string>& s) {
      std::string out = "{";
      for (const auto& e : s) out += (out.size() > 1 ? "," : "") + e;
      return out + "}";
    };
    measured << term << "→" << list(reached) << " ";
    if (reached != expected) wrong << term << " reached " << list(reached) << ", expected " << list(expected) << "; ";
  }
  c.model->zero_grad();
  r.status = wrong.str().empty() ? Status::passed : Status::failed;
  r.detail = wrong.str().empty() ? measured.str() + "(as docs/design.md's table)" : wrong.str();
  return r;
}

Check check_pca_projection(Context& c) {
  Check r;
  if (c.config.encoder.kind != ModuleKind::pca && c.config.decoder.kind != ModuleKind::pca) {
    r.status = Status::skipped;
    r.detail = "no PCA encoder or decoder";
    return r;
  }
  const at::Tensor U = c.dataset.U_k.to(at::kDouble);  // (d, k)
  const double orthonormality = max_abs(U.t().matmul(U) - at::eye(c.config.k, at::kDouble));
  r.numbers = {{"max_abs_UtU_minus_I", orthonormality}};
  bool ok = orthonormality <= 1e-5;
  std::string detail = "max|U_kᵀU_k − I| = " + fmt(orthonormality) + " (≤ 1e-05)";
  if (c.config.encoder.kind == ModuleKind::pca && c.config.decoder.kind == ModuleKind::pca) {
    at::NoGradGuard no_grad;
    const at::Tensor x = c.x.to(at::kDouble);
    const at::Tensor projected = x.matmul(U).matmul(U.t());  // P x, P = U Uᵀ
    const at::Tensor round_trip = c.model->decode(c.model->encode(c.x)).to(at::kDouble);
    const double error = max_abs(round_trip - projected);
    const double residual = max_abs((x - round_trip).matmul(U));  // x − Px ⟂ span(U_k)
    const double tolerance = 1e-5 * std::max(1.0, max_abs(x));
    r.numbers.push_back({"max_abs_decode_encode_minus_projection", error});
    r.numbers.push_back({"max_abs_residual_along_U", residual});
    ok = ok && error <= tolerance && residual <= tolerance;
    detail += ", max|decode(encode(x)) − U Uᵀx| = " + fmt(error) + ", max|U_kᵀ(x − x̂)| = " +
              fmt(residual) + " (≤ " + fmt(tolerance) + ")";
  }
  r.status = ok ? Status::passed : Status::failed;
  r.detail = detail;
  return r;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
Check check_legacy_agreement(Context& c) {
  Check r;
  if (c.config.encoder.kind != ModuleKind::pca || c.config.decoder.kind != ModuleKind::pca || c.config.quantizer != QuantizerKind::vq) {
    r.status = Status::skipped;
    r.detail = "only for PCA encoder + vq + PCA decoder";
    return r;
  }
  silence_legacy_deprecation_warning();  // validation uses it on purpose, as a reference
  LinearGaussianVQVAE legacy(c.config.d, c.config.k, c.config.codebook_size, c.dataset.U_k,
                             LegacyInitMethod::uniform, at::Tensor(), c.config.seed);
  {
    at::NoGradGuard no_grad;
    legacy->quantizer->codebook.copy_(c.model->quantizer()->codebook);
  }
  const VQVAEOutput a = c.model(c.x), b = legacy(c.x);
  const bool same_indices = at::equal(a.indices, b.indices);
  const double error = std::max(max_abs(a.x_recon - b.x_recon), max_abs(a.z - b.z));
  r.numbers = {{"max_abs_difference", error}};
  r.status = same_indices && error <= 1e-5 ? Status::passed : Status::failed;
  r.detail = std::string("LinearGaussianVQVAE vs VQVAE, same codebook: indices ") +
             (same_indices ? "equal" : "DIFFER") + ", max|Δ z, x_recon| = " + fmt(error) + " (≤ 1e-05)";
  return r;
}
#pragma GCC diagnostic pop

Check check_golden_fixtures(Context& c) {
  const ValidationOptions& options = c.options;
  Check r;
  if (options.fixtures_file.empty()) {
    r.status = Status::skipped;
    r.detail = "no golden file given (--fixtures-file)";
    return r;
  }
  const GoldenReport report = compare_goldens(options.fixtures_file);
  const int64_t datasets = report.datasets_compared(), bad = report.datasets_differing();
  const double worst = report.max_abs_error();
  r.numbers = {{"datasets", static_cast<double>(datasets)}, {"datasets_differing", static_cast<double>(bad)},
               {"missing_cases", static_cast<double>(report.missing.size())}, {"max_abs_error", worst}};
  r.status = report.ok() ? Status::passed : Status::failed;
  r.detail = std::to_string(report.cases.size()) + " cases, " + std::to_string(datasets) + " datasets: " +
             std::to_string(bad) + " differ, " + std::to_string(report.missing.size()) +
             " cases missing, max abs error " + fmt(worst) + " (tolerance 1e-05 + 1e-05·|golden|)" +
             (report.ok() ? "" : "; details: vqvae goldens check");
  return r;
}

Check check_training_run(Context& c) {
  const RunConfig& config = c.config;
  const GaussianDataset& dataset = c.dataset;
  const ValidationOptions& options = c.options;
  Check r;
  VQVAE model = options.factory(config, dataset);
  Trainer trainer(model, TrainerOptions().optimizer(config.optimizer).lr(config.lr));
  at::Generator gen = make_generator(config.seed + 3);
  std::vector<double> losses;
  for (int64_t step = 0; step < options.training_steps; ++step) {
    const at::Tensor rows = at::randperm(dataset.size(), gen, at::kLong).slice(0, 0, config.batch_size);
    losses.push_back(trainer.train_step(dataset.X.index_select(0, rows), config.beta).total_value);
  }
  bool finite = true;
  for (double l : losses) finite = finite && std::isfinite(l);
  const size_t window = std::min<size_t>(5, losses.size());
  double first = 0, last = 0;
  for (size_t i = 0; i < window; ++i) {
    first += losses[i] / window;
    last += losses[losses.size() - 1 - i] / window;
  }
  at::NoGradGuard no_grad;
  const VQVAEOutput out = model(dataset.X);
  const CodebookUsage usage = codebook_usage(out.indices, config.codebook_size);
  r.numbers = {{"first_loss", first}, {"last_loss", last}, {"perplexity", usage.perplexity},
               {"dead_codes", static_cast<double>(usage.dead_codes)},
               {"quantization_error", quantization_error(out.z, out.z_q_hard)}};
  r.status = finite && last < first ? Status::passed : Status::failed;
  r.detail = std::to_string(options.training_steps) + " steps: loss " + fmt(first) + " → " + fmt(last) + (finite ? "" : " (NON-FINITE)") +
             (last < first ? "" : " (did not decrease)") + "; codes used " +
             std::to_string(config.codebook_size - usage.dead_codes) + "/" +
             std::to_string(config.codebook_size) + ", perplexity " + fmt(usage.perplexity);
  return r;
}

// More codewords than samples: legal, but at least codebook_size − n codewords can never be any
// sample's nearest, so they are dead whatever the training does.
Check check_codewords_vs_samples(Context& c) {
  Check r;
  const int64_t codewords = c.config.codebook_size, samples = c.config.n;
  const int64_t dead = dead_by_construction(c.config);
  r.numbers = {{"codebook_size", static_cast<double>(codewords)}, {"samples", static_cast<double>(samples)},
               {"dead_by_construction", static_cast<double>(dead)}};
  r.status = dead == 0 ? Status::passed : Status::failed;
  r.detail = dead == 0 ? std::to_string(codewords) + " codewords ≤ " + std::to_string(samples) + " samples"
                       : std::to_string(codewords) + " codewords > " + std::to_string(samples) + " samples: at least " +
                             std::to_string(codewords) + " − " + std::to_string(samples) + " = " + std::to_string(dead) +
                             " codewords are dead by construction (each sample has one nearest codeword)";
  return r;
}

// The checks, in report order: each name is written here once.
struct CheckDefinition {
  const char* name;
  Check (*run)(Context&);
};
constexpr CheckDefinition kChecks[] = {
    {"codewords vs samples", check_codewords_vs_samples},
    {"output shapes", check_shapes},
    {"z_q_hard = codebook[indices]", check_hard_quantization},
    {"nearest codeword", check_nearest_codeword},
    {"codebook gradient = analytic", check_codebook_gradient},
    {"STE consistency", check_ste_consistency},
    {"gradient routing", check_gradient_routing},
    {"PCA orthonormal projection", check_pca_projection},
    {"legacy model agreement", check_legacy_agreement},
    {"golden fixtures", check_golden_fixtures},
    {"training run", check_training_run},
};

// Runs one check, timed; a check that throws is a failure with the exception's first line.
Check run_check(const CheckDefinition& check, Context& c) {
  const auto start = std::chrono::steady_clock::now();
  Check r;
  try {
    r = check.run(c);
  } catch (const std::exception& e) {
    r = Check();
    r.status = Status::failed;
    std::string message = e.what();
    r.detail = "threw: " + message.substr(0, message.find('\n'));
  }
  r.name = check.name;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

ValidationReport run_validation(const RunConfig& config, const ValidationOptions& options_in) {
  check_config(config);
  const auto start = std::chrono::steady_clock::now();
  ValidationOptions options = options_in;
  if (!options.factory) options.factory = build_model;
  ValidationReport report;
  report.config = config;
  const GaussianDataset dataset = make_dataset(config);
  Context c{config, dataset, options.factory(config, dataset),
            dataset.X.slice(0, 0, config.batch_size), options};
  for (const CheckDefinition& check : kChecks) report.checks.push_back(run_check(check, c));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string format_report_table(const ValidationReport& report, bool colour) {
  CheckTableStyle style;
  style.colour = colour;
  style.seconds_column = true;
  return format_check_rows(report.checks, style) + format_verdict("validate", report.checks, colour) + " in " +
         format_fixed(report.seconds, 1) + " s\n";
}

std::string format_report_json(const ValidationReport& report) {
  nlohmann::ordered_json j;
  j["config"] = nlohmann::ordered_json::parse(config_to_json(report.config));
  j["checks"] = nlohmann::ordered_json::parse(format_checks_json(report.checks));
  j["passed"] = report.count(Status::passed);
  j["failed"] = report.count(Status::failed);
  j["skipped"] = report.count(Status::skipped);
  j["seconds"] = report.seconds;
  j["ok"] = report.passed();
  return j.dump(2);
}

int run_validate_command(const RunConfig& config, const ValidationOptions& options, bool json,
                         bool colour, std::ostream& out) {
  const ValidationReport report = run_validation(config, options);
  out << (json ? format_report_json(report) + "\n" : format_report_table(report, colour)) << std::flush;
  return report.passed() ? 0 : 1;
}

}  // namespace vqvae
