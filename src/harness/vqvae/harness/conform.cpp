#include <vqvae/harness/conform.h>

#include <vqvae/core/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/core/runtime.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/quantizers/nearest_codeword.h>
#include <vqvae/quantizers/projection_vq.h>
#include <vqvae/quantizers/rotation_vq.h>
#include <vqvae/study/factory.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace vqvae {
namespace {

namespace fs = std::filesystem;
using Status = ConformCheck::Status;
using Clock = std::chrono::steady_clock;

constexpr const char* kVectorQuantizer = "VectorQuantizer";
constexpr const char* kRotationVectorQuantizer = "RotationVectorQuantizer";

const char* class_of(QuantizerKind kind) {
  for (size_t i = 0; i < std::size(kQuantizerClasses); ++i)
    if (kQuantizerNames[i].value == kind) return kQuantizerClasses[i];
  return "?";
}

// ---------------------------------------------------------------- building cases
// The inputs of every case kind from one dataset, `B` rows, a codebook (n, k) and seeded noise.
struct CaseInputs {
  std::string prefix;     // "golden" or "config"
  at::Tensor U_k;         // (d, k)
  at::Tensor x;           // (B, d)
  at::Tensor z;           // (B, k) latents of other rows than x's, for decode
  at::Tensor latents;     // (B, k) = x U_k
  at::Tensor codebook;    // (n, k)
  at::Tensor g, h;        // (B, k) upstream gradients
  at::Tensor x_recon;     // (B, d)
  double beta = 0.25;
};

// float64 (the golden suite's reference): each input the float64 value of its formula applied to
// the stored values it depends on, rounded once to float32; the draws (g, h, the noise) are float32.
CaseInputs make_inputs(const std::string& prefix, const GaussianDataset& data, int64_t B, const at::Tensor& codebook,
                       uint64_t seed, double beta, GoldenPrecision precision = GoldenPrecision::float32) {
  c10::NoGradGuard no_grad;
  at::Generator gen = make_generator(seed);
  const auto stored = [&](const at::Tensor& t) { return stored_value(t.contiguous(), precision); };
  const auto draw = [&](at::IntArrayRef sizes) { return in_precision(at::randn(sizes, gen, at::kFloat), precision); };
  CaseInputs in;
  in.prefix = prefix;
  in.U_k = stored(data.U_k);
  in.x = stored(data.X.slice(0, 0, B));
  in.latents = stored(in.x.matmul(in.U_k));
  in.z = stored(stored(data.X.slice(0, B, 2 * B)).matmul(in.U_k));
  in.codebook = stored(in_precision(codebook, precision));
  in.g = draw({B, in.U_k.size(1)});
  in.h = draw({B, in.U_k.size(1)});
  in.x_recon = stored(in.x + 0.1 * draw(in.x.sizes()));
  in.beta = beta;
  for (at::Tensor* t : {&in.U_k, &in.x, &in.latents, &in.z, &in.codebook, &in.g, &in.h, &in.x_recon}) *t = as_stored(*t);
  return in;
}

GoldenRecord record(std::string name, std::vector<std::pair<std::string, GoldenValue>> attributes,
                    std::vector<std::pair<std::string, at::Tensor>> datasets) {
  GoldenRecord r;
  r.name = std::move(name);
  r.attributes = std::move(attributes);
  r.datasets = std::move(datasets);
  return r;
}

using Attr = std::pair<std::string, GoldenValue>;

std::vector<GoldenRecord> cases_from(const CaseInputs& in, const GaussianDatasetOptions& dataset,
                                     const std::vector<const char*>& classes) {
  const std::string& p = in.prefix;
  std::vector<GoldenRecord> cases;
  cases.push_back(record(p + "_dataset",
                         {Attr{"kind", std::string("dataset")}, Attr{"d", dataset.d()}, Attr{"k", dataset.k()},
                          Attr{"n", dataset.n_samples()}, Attr{"sigma_noise", dataset.sigma_noise()},
                          Attr{"seed", static_cast<int64_t>(dataset.seed())}},
                         {}));
  cases.push_back(record(p + "_pca", {Attr{"kind", std::string("pca")}},
                         {{"U_k", in.U_k}, {"x", in.x}, {"z", in.z}}));
  cases.push_back(record(p + "_legacy", {Attr{"kind", std::string("legacy")}, Attr{"codebook_size", in.codebook.size(0)}},
                         {{"U_k", in.U_k}, {"x", in.x}, {"z", in.z}}));
  for (const char* cls : classes)
    for (const int64_t z_requires_grad : {int64_t{1}, int64_t{0}})
      cases.push_back(record(p + "_quantizer_" + cls + (z_requires_grad ? "_z_requires_grad" : "_z_frozen"),
                             {Attr{"kind", std::string("quantizer")}, Attr{"class", std::string(cls)},
                              Attr{"z_requires_grad", z_requires_grad}},
                             {{"codebook", in.codebook}, {"z", in.latents}, {"g", in.g}, {"h", in.h}}));
  {
    c10::NoGradGuard no_grad;
    const at::Tensor z_q_hard = in.codebook.index_select(0, nearest_codeword(in.latents, in.codebook)).contiguous();
    cases.push_back(record(p + "_loss", {Attr{"kind", std::string("loss")}, Attr{"beta", in.beta}},
                           {{"x", in.x}, {"x_recon", in.x_recon}, {"z", in.latents}, {"z_q", z_q_hard.clone()},
                            {"z_q_hard", z_q_hard}}));
  }
  // The model and STE cases run the classes whose fixes they guard (#1, #2: VectorQuantizer;
  // #5: RotationVectorQuantizer) among those asked for.
  for (const char* cls : classes) {
    const std::string name = cls;
    cases.push_back(record(p + "_model_" + name,
                           {Attr{"kind", std::string("model")}, Attr{"class", name}, Attr{"beta", in.beta}},
                           {{"U_k", in.U_k}, {"codebook", in.codebook}, {"x", in.x}}));
    cases.push_back(record(p + "_ste_" + name, {Attr{"kind", std::string("ste")}, Attr{"class", name}, Attr{"beta", in.beta}},
                           {{"U_k", in.U_k}, {"codebook", in.codebook}, {"z", in.latents}, {"x", in.x}}));
  }
  return cases;
}

// The expectations stored with a golden case: what the library returns for it.
const std::vector<std::pair<ConformCaseKind, std::vector<const char*>>>& stored_outputs() {
  static const std::vector<std::pair<ConformCaseKind, std::vector<const char*>>> outputs{
      {ConformCaseKind::dataset, {"X", "U_k"}},
      {ConformCaseKind::pca, {"encoded", "decoded"}},
      {ConformCaseKind::legacy, {"encoded", "decoded"}},
      {ConformCaseKind::quantizer, {"indices", "z_q_hard", "codebook_grad_from_z_q_hard"}},
      {ConformCaseKind::loss, {"losses", "grad_z_q_hard"}},
      {ConformCaseKind::model, {"codebook_grad"}},
      {ConformCaseKind::ste, {"codebook_grad_z_frozen"}}};
  return outputs;
}

bool is_expectation(const std::string& dataset) { return dataset.rfind("expected_", 0) == 0; }

// What the library returns for `request` in `precision`, restricted to the outputs the suite
// stores for its kind.
std::map<std::string, at::Tensor> library_expectations(const GoldenRecord& request,
                                                       GoldenPrecision precision = GoldenPrecision::float32) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [kind, names] : stored_outputs())
    if (kind == case_kind(request)) {
      const GoldenRecord response = execute_with_library(request, precision);
      for (const char* name : names) out[name] = response.dataset(name);
    }
  return out;
}

// ---------------------------------------------------------------- running the driver
std::string tail_of(const std::string& path, size_t lines_wanted) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > lines_wanted ? lines.size() - lines_wanted : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : " | ") + lines[i];
  if (out.size() > 400) out = "..." + out.substr(out.size() - 400);
  return out.empty() ? "(nothing on stderr)" : out;
}

// Runs `command REQUEST RESPONSE` through /bin/sh in its own process group, stderr to a file;
// kills the group past `timeout`. Returns seconds taken; throws DriverError.
double run_driver(const std::string& command, const std::string& request, const std::string& response,
                  const std::string& stderr_path, double timeout) {
  const auto start = Clock::now();
  const std::string script = command + " \"$1\" \"$2\"";
  const pid_t pid = fork();
  if (pid < 0) throw DriverError("driver '" + command + "': cannot start a process");
  if (pid == 0) {
    setpgid(0, 0);
    const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) dup2(err, 2);
    const int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    execl("/bin/sh", "sh", "-c", script.c_str(), "sh", request.c_str(), response.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::duration<double>(Clock::now() - start).count() > timeout) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      throw DriverError("driver '" + command + "' timed out after " + format_significant(timeout, 4) +
                        " s (--timeout); stderr: " + tail_of(stderr_path, 3));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (WIFSIGNALED(status))
    throw DriverError("driver '" + command + "' was killed by signal " + std::to_string(WTERMSIG(status)) +
                      "; stderr: " + tail_of(stderr_path, 3));
  if (WEXITSTATUS(status) != 0)
    throw DriverError("driver '" + command + "' exited with status " + std::to_string(WEXITSTATUS(status)) +
                      (WEXITSTATUS(status) == 127 ? " (command not found?)" : "") + "; stderr: " + tail_of(stderr_path, 3));
  return seconds;
}

// ---------------------------------------------------------------- judging
struct Judged {
  const GoldenRecord* request;
  const GoldenRecord* response;
  std::map<std::string, at::Tensor> expected;  // stored (golden) or computed now (config)
};

std::string status_of(const GoldenRecord& response) { return std::get<std::string>(response.attribute("status")); }

std::string text_attribute(const GoldenRecord& r, const std::string& name, const std::string& otherwise = "") {
  for (const auto& [key, value] : r.attributes)
    if (key == name)
      if (const auto* text = std::get_if<std::string>(&value)) return *text;
  return otherwise;
}

int64_t int_attribute(const GoldenRecord& r, const std::string& name, int64_t otherwise) {
  for (const auto& [key, value] : r.attributes)
    if (key == name)
      if (const auto* i = std::get_if<int64_t>(&value)) return *i;
  return otherwise;
}

const at::Tensor* output(const GoldenRecord& response, const std::string& name) {
  for (const auto& entry : response.datasets)
    if (entry.first == name) return &entry.second;
  return nullptr;
}

at::Tensor f64(const at::Tensor& t) { return t.detach().to(at::kDouble); }
double max_abs(const at::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; }

// |a − b| <= atol + rtol |b| everywhere (and the same shape); the max error into `error`.
bool close(const at::Tensor& a, const at::Tensor& b, double atol, double rtol, double& error) {
  if (a.sizes() != b.sizes()) {
    error = std::numeric_limits<double>::infinity();
    return false;
  }
  const at::Tensor diff = (f64(a) - f64(b)).abs();
  error = max_abs(diff);
  return (diff <= atol + rtol * f64(b).abs()).all().item<bool>();
}

// Why a case gave nothing to judge, or "" when its response is ok.
std::string unusable(const Judged& j) {
  const std::string status = status_of(*j.response);
  if (status == "ok") return "";
  const std::string detail = text_attribute(*j.response, "detail");
  return "case " + j.request->name + ": driver reported " + status + (detail.empty() ? "" : " (" + detail + ")");
}

std::string shape_of(const at::Tensor* t) { return t ? shape_string(*t) : "absent"; }

// One check over several cases: each case either passes, fails (with why) or is skipped.
struct Tally {
  std::vector<std::string> failures, skips;
  int passed = 0;
  std::string measured;  // a number or two for the detail
  void fail(const std::string& why) { failures.push_back(why); }
  void skip(const std::string& why) { skips.push_back(why); }
  void pass() { ++passed; }
  ConformCheck result(std::string name, std::optional<int> fix, const std::string& what) const {
    ConformCheck c;
    c.name = std::move(name);
    c.fix = fix;
    if (!failures.empty()) {
      c.status = Status::failed;
      c.detail = failures.front() + (failures.size() > 1 ? " (and " + std::to_string(failures.size() - 1) + " more)" : "");
    } else if (passed == 0) {
      c.status = Status::skipped;
      c.detail = skips.empty() ? "no case" : skips.front();
    } else {
      c.status = Status::passed;
      c.detail = what + " in " + std::to_string(passed) + (passed == 1 ? " case" : " cases") +
                 (measured.empty() ? "" : ": " + measured);
    }
    return c;
  }
};

// The gradient estimators the harness knows, on rows z, q (= z_q_hard), upstream g, float64.
struct Estimator {
  std::string name;
  bool defective;
  std::function<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&)> gradient;
};

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
      {"straight-through estimator", false, [](const at::Tensor&, const at::Tensor&, const at::Tensor& g) { return f64(g); }},
      {"rotation trick (λ = ‖q‖/‖z‖)", false,
       [=](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) { return rotate(z, q, g, true, 1); }},
      {"projection estimator", false,
       [](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) { return projection_gradient(f64(z), f64(q), f64(g)); }},
      {"rotation trick with λ inverted (‖z‖/‖q‖)", true,
       [=](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) { return rotate(z, q, g, true, -1); }},
      {"rotation trick without λ", true,
       [=](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) { return rotate(z, q, g, true, 0); }},
      {"rotation trick with R for Rᵀ", true,
       [=](const at::Tensor& z, const at::Tensor& q, const at::Tensor& g) { return rotate(z, q, g, false, 1); }},
  };
}

// codebook (n, k) gradient of Σ_i rows_i · codebook[idx_i] : Σ_{i: idx_i = j} rows_i.
at::Tensor scattered(const at::Tensor& rows, const at::Tensor& indices, int64_t n) {
  return at::zeros({n, rows.size(1)}, at::kDouble).index_add_(0, indices, f64(rows));
}

class Referee {
 public:
  explicit Referee(std::vector<Judged> cases) : cases_(std::move(cases)) {}

  std::vector<Judged> of(ConformCaseKind kind, const char* cls = nullptr) const {
    std::vector<Judged> out;
    for (const Judged& j : cases_)
      if (case_kind(*j.request) == kind && (!cls || text_attribute(*j.request, "class") == cls)) out.push_back(j);
    return out;
  }

  /// The cases of `kind` (and class) the driver answered; each one it could not answer fails
  /// `tally`, saying what the driver reported.
  std::vector<Judged> answered(Tally& tally, ConformCaseKind kind, const char* cls = nullptr) const {
    std::vector<Judged> out;
    for (const Judged& j : of(kind, cls)) {
      if (const std::string why = unusable(j); !why.empty()) tally.fail(why);
      else out.push_back(j);
    }
    return out;
  }

  ConformReport judge() {
    ConformReport report;
    report.checks.push_back(dataset());
    report.checks.push_back(pca_storage());
    report.checks.push_back(pca_values());
    report.checks.push_back(legacy());
    report.checks.push_back(nearest());
    report.checks.push_back(hard_quantization(kVectorQuantizer, 1));
    report.checks.push_back(loss_takes_z_q_hard());
    report.checks.push_back(model_outputs(kVectorQuantizer, 1));
    report.checks.push_back(model_codebook_gradient(kVectorQuantizer, 1));
    report.checks.push_back(frozen_z_q_has_no_codebook_gradient());
    report.checks.push_back(ste_consistency());
    report.checks.push_back(hard_quantization(kRotationVectorQuantizer, 5));
    report.checks.push_back(codebook_loss_reaches_codebook(kRotationVectorQuantizer, 5));
    report.checks.push_back(model_codebook_gradient(kRotationVectorQuantizer, 5));
    for (const char* cls : kQuantizerClasses) report.checks.push_back(estimator(cls, report.estimators));
    return report;
  }

 private:
  ConformCheck dataset() {
    Tally t;
    double worst = 0;
    for (const Judged& j : answered(t, ConformCaseKind::dataset)) {
      bool ok = true;
      for (const char* name : {"X", "U_k"}) {
        const at::Tensor* got = output(*j.response, name);
        double error = 0;
        if (!got || !close(*got, j.expected.at(name), 1e-5, 1e-5, error)) {
          t.fail(j.request->name + ": " + name + " " + shape_of(got) + " differs from GaussianDataset's " +
                 shape_string(j.expected.at(name)) + " by up to " + format_significant(error, 3));
          ok = false;
          break;
        }
        worst = std::max(worst, error);
      }
      if (ok) t.pass();
    }
    t.measured = "max |Δ| " + format_significant(worst, 3) + " (≤ 1e-05 + 1e-05·|ours|)";
    return t.result("dataset: GaussianDataset gives our X and U_k", std::nullopt, "X and U_k equal ours");
  }

  ConformCheck pca_storage() {
    Tally t;
    for (const Judged& j : answered(t, ConformCaseKind::pca)) {
      const at::Tensor& U = j.request->dataset("U_k");
      const at::Tensor* e = output(*j.response, "encoder_weight");
      const at::Tensor* d = output(*j.response, "decoder_weight");
      double error = 0;
      if (!e || e->sizes() != U.sizes() || !close(*e, U, 0, 0, error))
        t.fail(j.request->name + ": PCAEncoder.encoder_weight is " + shape_of(e) + ", expected U_k " + shape_string(U));
      else if (!d || d->sizes() != U.sizes() || !close(*d, U, 0, 0, error))
        t.fail(j.request->name + ": PCADecoder.decoder_weight is " + shape_of(d) + ", expected U_k " + shape_string(U));
      else
        t.pass();
    }
    return t.result("PCAEncoder/PCADecoder store U_k as (d, k)", 4, "encoder_weight = decoder_weight = U_k (d, k)");
  }

  ConformCheck pca_values() { return encode_decode(ConformCaseKind::pca, "PCA encode/decode as the goldens say", 4); }
  ConformCheck legacy() {
    Tally t;
    for (const Judged& j : of(ConformCaseKind::legacy)) {
      if (status_of(*j.response) == "missing") {
        t.skip("no LinearGaussianVQVAE in this implementation (" + text_attribute(*j.response, "detail") + ")");
        continue;
      }
      if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
      const at::Tensor& U = j.request->dataset("U_k");
      const at::Tensor* e = output(*j.response, "encoder_weight");
      const at::Tensor* d = output(*j.response, "decoder_weight");
      const std::string wrong = encode_decode_error(j);
      if (!e || e->sizes() != U.sizes())
        t.fail(j.request->name + ": encoder_weight is " + shape_of(e) + ", expected (d, k) = " + shape_string(U));
      else if (!d || d->sizes() != U.t().sizes())
        t.fail(j.request->name + ": decoder_weight is " + shape_of(d) + ", expected (k, d) = " + shape_string(U.t()));
      else if (!wrong.empty())
        t.fail(j.request->name + ": " + wrong);
      else
        t.pass();
    }
    return t.result("legacy model: encoder_weight (d, k) encodes, decoder_weight (k, d) decodes", 3,
                    "encode = x·U_k, decode = z·U_kᵀ with weights of the named shapes");
  }

  std::string encode_decode_error(const Judged& j) {
    const at::Tensor& U = j.request->dataset("U_k");
    const at::Tensor encoded = f64(j.request->dataset("x")).matmul(f64(U));
    const at::Tensor decoded = f64(j.request->dataset("z")).matmul(f64(U).t());
    double error = 0;
    const at::Tensor* e = output(*j.response, "encoded");
    if (!e || !close(*e, encoded, 1e-5, 1e-5, error))
      return "encode(x) " + shape_of(e) + " differs from x·U_k " + shape_string(encoded) + " by " + format_significant(error, 3);
    const at::Tensor* d = output(*j.response, "decoded");
    if (!d || !close(*d, decoded, 1e-5, 1e-5, error))
      return "decode(z) " + shape_of(d) + " differs from z·U_kᵀ " + shape_string(decoded) + " by " + format_significant(error, 3);
    for (const char* name : {"encoded", "decoded"})
      if (j.expected.count(name) && !close(*output(*j.response, name), j.expected.at(name), 1e-5, 1e-5, error))
        return std::string(name) + " differs from the stored expectation by " + format_significant(error, 3);
    return "";
  }

  ConformCheck encode_decode(ConformCaseKind kind, const std::string& name, int fix) {
    Tally t;
    for (const Judged& j : answered(t, kind)) {
      if (const std::string wrong = encode_decode_error(j); !wrong.empty()) t.fail(j.request->name + ": " + wrong);
      else t.pass();
    }
    return t.result(name, fix, "encode = x·U_k, decode = z·U_kᵀ (within 1e-05 + 1e-05·|expected|)");
  }

  ConformCheck nearest() {
    Tally t;
    for (const Judged& j : of(ConformCaseKind::quantizer)) {
      if (status_of(*j.response) == "missing") { t.skip(j.request->name + ": class missing"); continue; }
      if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
      const at::Tensor* indices = output(*j.response, "indices");
      const at::Tensor z = f64(j.request->dataset("z")), c = f64(j.request->dataset("codebook"));
      if (!indices || indices->sizes() != at::IntArrayRef({z.size(0)})) {
        t.fail(j.request->name + ": indices " + shape_of(indices) + ", expected (B) = (" + std::to_string(z.size(0)) + ")");
        continue;
      }
      const at::Tensor distances = (z.unsqueeze(1) - c.unsqueeze(0)).pow(2).sum(2);  // (B, n)
      const at::Tensor idx = indices->to(at::kLong).clamp(0, c.size(0) - 1);
      const at::Tensor excess = distances.gather(1, idx.unsqueeze(1)).squeeze(1) - std::get<0>(distances.min(1));
      const int64_t wrong = (excess > 1e-5 * std::max(1.0, max_abs(distances))).sum().item<int64_t>();
      if (wrong > 0) t.fail(j.request->name + ": " + std::to_string(wrong) + " of " + std::to_string(z.size(0)) + " rows not at the nearest codeword");
      else t.pass();
    }
    return t.result("quantizers pick the nearest codeword (float64 reference)", std::nullopt, "every row nearest");
  }

  ConformCheck hard_quantization(const char* cls, int fix) {
    Tally t;
    for (const Judged& j : answered(t, ConformCaseKind::quantizer, cls)) {
      const at::Tensor* hard = output(*j.response, "z_q_hard");
      const at::Tensor* indices = output(*j.response, "indices");
      if (!hard) { t.fail(j.request->name + ": no z_q_hard among the outputs (" + text_attribute(*j.response, "missing") + " missing)"); continue; }
      if (!indices) { t.fail(j.request->name + ": no indices"); continue; }
      const at::Tensor c = f64(j.request->dataset("codebook"));
      double error = 0;
      if (!close(*hard, c.index_select(0, indices->to(at::kLong).clamp(0, c.size(0) - 1)), 0, 0, error))
        t.fail(j.request->name + ": max|z_q_hard − codebook[indices]| = " + format_significant(error, 3) + " (expected 0)");
      else
        t.pass();
    }
    return t.result(std::string(cls) + " returns z_q_hard = codebook[indices]", fix, "z_q_hard = codebook[indices] exactly");
  }

  ConformCheck loss_takes_z_q_hard() {
    Tally t;
    for (const Judged& j : answered(t, ConformCaseKind::loss)) {
      const at::Tensor x = f64(j.request->dataset("x")), x_recon = f64(j.request->dataset("x_recon"));
      const at::Tensor z = f64(j.request->dataset("z")), hard = f64(j.request->dataset("z_q_hard"));
      const double beta = std::get<double>(j.request->attribute("beta"));
      const double Bd = static_cast<double>(x.numel()), Bk = static_cast<double>(z.numel());
      // DESIGN.md's loss: codebook = mse(sg z, z_q_hard), commitment = mse(z, sg z_q_hard).
      const std::vector<std::pair<const char*, at::Tensor>> expected{
          {"grad_x_recon", 2 * (x_recon - x) / Bd},
          {"grad_z", beta * 2 * (z - hard) / Bk},
          {"grad_z_q_hard", 2 * (hard - z) / Bk},
          {"grad_z_q", at::zeros_like(z)}};
      std::string wrong;
      for (const auto& [name, value] : expected) {
        const at::Tensor* got = output(*j.response, name);
        double error = 0;
        if (!got) { wrong = std::string("no ") + name + " (" + text_attribute(*j.response, "missing") + " missing)"; break; }
        if (!close(*got, value, 1e-7, 1e-4, error)) {
          wrong = std::string(name) + " off by " + format_significant(error, 3) +
                  (std::string(name) == "grad_z_q" ? ": the codebook or commitment term uses z_q" : "");
          break;
        }
      }
      if (!wrong.empty()) t.fail(j.request->name + ": " + wrong);
      else t.pass();
    }
    return t.result("vqvae_loss takes z_q_hard: its codebook term reaches z_q_hard, not z_q", 1,
                    "the four gradients of DESIGN.md's loss");
  }

  ConformCheck model_outputs(const char* cls, int fix) {
    Tally t;
    for (const Judged& j : answered(t, ConformCaseKind::model, cls)) {
      const std::string keys = text_attribute(*j.response, "output_keys");
      if (!output(*j.response, "z_q_hard"))
        t.fail(j.request->name + ": forward returned " + (keys.empty() ? "no z_q_hard" : "{" + keys + "}") + ", no z_q_hard");
      else t.pass();
    }
    return t.result(std::string("VQVAE(…, ") + cls + ", …) outputs carry z_q_hard", fix, "z_q_hard among the outputs");
  }

  ConformCheck model_codebook_gradient(const char* cls, int fix) {
    Tally t;
    double worst = 0;
    for (const Judged& j : answered(t, ConformCaseKind::model, cls)) {
      const at::Tensor c = f64(j.request->dataset("codebook"));
      const at::Tensor z = f64(j.request->dataset("x")).matmul(f64(j.request->dataset("U_k")));
      const at::Tensor idx = nearest_codeword(z, c);
      const at::Tensor rows = 2 * (c.index_select(0, idx) - z) / static_cast<double>(z.numel());
      const at::Tensor expected = scattered(rows, idx, c.size(0));
      const at::Tensor* got = output(*j.response, "codebook_grad");
      double error = 0;
      if (!got || !close(*got, expected, 1e-7, 1e-4, error))
        t.fail(j.request->name + ": max|grad − 2(c_j − z)/(B·k)| = " + format_significant(error, 3) +
               " (|expected| up to " + format_significant(max_abs(expected), 3) + ")");
      else { t.pass(); worst = std::max(worst, error); }
    }
    t.measured = "max error " + format_significant(worst, 3);
    return t.result(std::string("codebook gradient through ") + cls + " = 2(c_j − z)/(B·k)", fix,
                    "the loss's codebook gradient is the closed form");
  }

  ConformCheck frozen_z_q_has_no_codebook_gradient() {
    Tally t;
    for (const Judged& j : of(ConformCaseKind::quantizer, kVectorQuantizer)) {
      if (int_attribute(*j.request, "z_requires_grad", 1) != 0) continue;
      if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
      const at::Tensor* grad = output(*j.response, "codebook_grad_from_z_q");
      const double size = grad ? max_abs(f64(*grad)) : 0.0;
      if (int_attribute(*j.response, "z_q_requires_grad", 0) != 0 && size > 0)
        t.fail(j.request->name + ": with z not requiring grad, z_q carries a codebook gradient (max " + format_significant(size, 3) + ")");
      else t.pass();
    }
    return t.result("VectorQuantizer: z_q carries no codebook gradient when z requires none", 2, "z_q has no path to the codebook");
  }

  ConformCheck ste_consistency() {
    Tally t;
    for (const Judged& j : answered(t, ConformCaseKind::ste, kVectorQuantizer)) {
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

  ConformCheck codebook_loss_reaches_codebook(const char* cls, int fix) {
    Tally t;
    for (const Judged& j : answered(t, ConformCaseKind::quantizer, cls)) {
      const at::Tensor* indices = output(*j.response, "indices");
      const at::Tensor* grad = output(*j.response, "codebook_grad_from_z_q_hard");
      if (!output(*j.response, "z_q_hard") || !grad || !indices) {
        t.fail(j.request->name + ": no z_q_hard, so the codebook loss cannot reach the codebook");
        continue;
      }
      const at::Tensor expected = scattered(j.request->dataset("h"), indices->to(at::kLong), j.request->dataset("codebook").size(0));
      double error = 0;
      if (!close(*grad, expected, 1e-6, 1e-5, error)) t.fail(j.request->name + ": codebook gradient through z_q_hard off by " + format_significant(error, 3));
      else t.pass();
    }
    return t.result(std::string(cls) + ": the codebook loss reaches the codebook through z_q_hard", fix,
                    "∂/∂codebook of z_q_hard·h = Σ h per codeword");
  }

  ConformCheck estimator(const char* cls, std::map<std::string, std::string>& identities) {
    Tally t;
    const auto estimators = known_estimators();
    std::vector<std::string> identity_of_case;
    for (const Judged& j : of(ConformCaseKind::quantizer, cls)) {
      if (int_attribute(*j.request, "z_requires_grad", 0) == 0) continue;
      if (status_of(*j.response) == "missing") { t.skip(std::string("no ") + cls + " in this implementation"); continue; }
      if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
      const at::Tensor* grad = output(*j.response, "grad_z");
      const at::Tensor* indices = output(*j.response, "indices");
      if (!grad || !indices) { t.fail(j.request->name + ": no grad_z"); continue; }
      const at::Tensor z = f64(j.request->dataset("z")), g = f64(j.request->dataset("g"));
      const at::Tensor q = f64(j.request->dataset("codebook")).index_select(0, indices->to(at::kLong));
      std::string match, closest;
      double closest_error = std::numeric_limits<double>::infinity();
      bool defective = false;
      for (const Estimator& e : estimators) {
        const at::Tensor expected = e.gradient(z, q, g);
        double error = 0;
        if (close(*grad, expected, 1e-6, 1e-4, error)) {
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
      } else {
        identities[cls] = match;
        t.pass();
      }
    }
    return t.result(std::string("estimator of ") + cls, std::nullopt,
                    identities.count(cls) ? identities[cls] : std::string("?"));
  }

  std::vector<Judged> cases_;
};

}  // namespace

// ---------------------------------------------------------------- the golden suite
const GoldenSchema& conform_golden_schema() {
  using T = GoldenValueType;
  const auto when = [](std::vector<const char*> kinds) { return GoldenCondition{"kind", std::move(kinds)}; };
  static const GoldenSchema schema{
      {{"kind", T::text, {"dataset", "pca", "legacy", "quantizer", "loss", "model", "ste"}},
       {"d", T::integer, {}, when({"dataset"})},
       {"k", T::integer, {}, when({"dataset"})},
       {"n", T::integer, {}, when({"dataset"})},
       {"sigma_noise", T::real, {}, when({"dataset"})},
       {"seed", T::integer, {}, when({"dataset"})},
       {"codebook_size", T::integer, {}, when({"legacy"})},
       {"class", T::text, {"VectorQuantizer", "RotationVectorQuantizer", "ProjectionVectorQuantizer"},
        when({"quantizer", "model", "ste"})},
       {"z_requires_grad", T::integer, {}, when({"quantizer"})},
       {"beta", T::real, {}, when({"loss", "model", "ste"})}},
      {{"U_k", {"d", "k"}, when({"pca", "legacy", "model", "ste"})},
       {"x", {"B", "d"}, when({"pca", "legacy", "loss", "model", "ste"})},
       {"z", {"B", "k"}, when({"pca", "legacy", "quantizer", "loss", "ste"})},
       {"codebook", {"c", "k"}, when({"quantizer", "model", "ste"})},
       {"g", {"B", "k"}, when({"quantizer"})},
       {"h", {"B", "k"}, when({"quantizer"})},
       {"x_recon", {"B", "d"}, when({"loss"})},
       {"z_q", {"B", "k"}, when({"loss"})},
       {"z_q_hard", {"B", "k"}, when({"loss"})},
       {"expected_X", {"n", "d"}, when({"dataset"})},
       {"expected_U_k", {"d", "k"}, when({"dataset"})},
       {"expected_encoded", {"B", "k"}, when({"pca", "legacy"})},
       {"expected_decoded", {"B", "d"}, when({"pca", "legacy"})},
       {"expected_indices", {"B"}, when({"quantizer"}), true},
       {"expected_z_q_hard", {"B", "k"}, when({"quantizer"})},
       {"expected_codebook_grad_from_z_q_hard", {"c", "k"}, when({"quantizer"})},
       {"expected_losses", {"L"}, when({"loss"})},
       {"expected_grad_z_q_hard", {"B", "k"}, when({"loss"})},
       {"expected_codebook_grad", {"c", "k"}, when({"model"})},
       {"expected_codebook_grad_z_frozen", {"c", "k"}, when({"ste"})}}};
  return schema;
}

namespace {

// Adds to each case the library's outputs that the suite stores, as expected_<output>.
std::vector<GoldenRecord> with_expectations(std::vector<GoldenRecord> cases, GoldenPrecision precision) {
  for (GoldenRecord& c : cases)
    for (const auto& [name, tensor] : library_expectations(c, precision))
      c.datasets.emplace_back("expected_" + name, tensor);
  return cases;
}

}  // namespace

std::vector<GoldenRecord> conform_golden_records(GoldenPrecision precision) {
  // Seed 2: its top eigenvalues (12.8, 3.96, 1.97, 0.72; noise 0.014) are well apart, so the
  // float32 U_k of any BLAS kernel lies within ~1e-6 of the exact one. (Seed 7's 2.22 and 2.15 made
  // float32 eigenvectors differ by 6e-6 between kernels and the latents by 3.7e-5, beyond the
  // 1e-5 tolerance of `goldens check` and of the referee's dataset check.)
  const GaussianDatasetOptions options = GaussianDatasetOptions().d(16).k(4).n_samples(200).sigma_noise(0.1).seed(2);
  const GaussianDataset data = golden_dataset(options, precision);
  // A codebook of 8 latents of the dataset, moved off them: every row has one nearest codeword.
  at::Generator gen = make_generator(11);
  const at::Tensor latents = stored_value(data.X, precision).matmul(stored_value(data.U_k, precision));
  // Two draws, sequenced: the 8 rows first, then the noise (the operands of one `+` would be drawn
  // in whichever order the compiler picks).
  const at::Tensor rows = at::randperm(200, gen, at::kLong).slice(0, 0, 8);
  const at::Tensor noise = in_precision(at::randn({8, 4}, gen, at::kFloat), precision);
  const at::Tensor codebook = latents.index_select(0, rows) + 0.3 * noise;
  const CaseInputs in = make_inputs("golden", data, 8, codebook, 13, 0.25, precision);
  const std::vector<const char*> classes(std::begin(kQuantizerClasses), std::end(kQuantizerClasses));
  std::vector<GoldenRecord> cases = cases_from(in, options, classes);
  // The model and STE cases guard fixes #1, #2 (VectorQuantizer) and #5 (RotationVectorQuantizer).
  cases.erase(std::remove_if(cases.begin(), cases.end(),
                             [](const GoldenRecord& c) {
                               const ConformCaseKind kind = case_kind(c);
                               const std::string cls = text_attribute(c, "class");
                               return (kind == ConformCaseKind::model && cls == "ProjectionVectorQuantizer") ||
                                      (kind == ConformCaseKind::ste && cls != kVectorQuantizer);
                             }),
              cases.end());
  return with_expectations(std::move(cases), precision);
}

std::vector<GoldenRecord> conform_config_cases(const RunConfig& config) {
  const GaussianDataset data = make_dataset(config);
  const at::Tensor codebook = make_codebook(config, data);
  const int64_t B = std::min<int64_t>(std::min<int64_t>(config.batch_size, 64), config.n / 2);
  const CaseInputs in = make_inputs("config", data, std::max<int64_t>(B, 1), codebook, config.seed + 17, config.beta);
  return cases_from(in, data.options(), {class_of(config.quantizer)});
}

// ---------------------------------------------------------------- the referee
int ConformReport::count(ConformCheck::Status status) const {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(), [&](const ConformCheck& c) { return c.status == status; }));
}

ConformReport run_conform(const RunConfig& config, const ConformOptions& options) {
  const auto start = Clock::now();
  check_config(config);
  if (options.driver.empty()) throw_invalid_argument(param("driver"), "must name a command, got ''");
  if (!(options.timeout_seconds > 0)) throw_invalid_argument(param("timeout"), "must be > 0, got " + format_significant(options.timeout_seconds));

  // Cases: the golden suite's (inputs and stored expectations) and the configuration's.
  std::vector<GoldenRecord> requests;
  std::map<std::string, std::map<std::string, at::Tensor>> expected;
  if (!options.goldens_file.empty()) {
    for (const std::string& name : list_golden_records(options.goldens_file)) {
      GoldenRecord golden = read_golden_record(options.goldens_file, conform_golden_schema(), name);
      GoldenRecord request = golden;
      request.datasets.clear();
      for (const auto& [dataset, tensor] : golden.datasets) {
        if (is_expectation(dataset)) expected[name][dataset.substr(9)] = tensor;
        else request.datasets.emplace_back(dataset, tensor);
      }
      requests.push_back(std::move(request));
    }
  }
  for (GoldenRecord& c : conform_config_cases(config)) {
    expected[c.name] = library_expectations(c);
    requests.push_back(std::move(c));
  }

  // The driver, on the request; its response.
  const bool keep = !options.keep_folder.empty();
  std::string folder = options.keep_folder;
  if (keep) {
    std::error_code ignored;
    fs::create_directories(folder, ignored);
  } else {
    char pattern[] = "/tmp/vqvae-conform-XXXXXX";
    if (!mkdtemp(pattern)) throw DriverError("cannot create a temporary folder for the request");
    folder = pattern;
  }
  struct Cleanup {
    std::string folder;
    bool keep;
    ~Cleanup() {
      if (!keep) {
        std::error_code ignored;
        fs::remove_all(folder, ignored);
      }
    }
  } cleanup{folder, keep};
  const std::string request_path = folder + "/request.h5", response_path = folder + "/response.h5";
  const std::string stderr_path = folder + "/driver_stderr.log";
  std::error_code ignored;
  fs::remove(response_path, ignored);
  write_conform_request(request_path, requests, options.command);

  ConformReport report;
  report.driver_command = options.driver;
  report.cases = requests.size();
  report.driver_seconds = run_driver(options.driver, request_path, response_path, stderr_path, options.timeout_seconds);
  std::map<std::string, GoldenRecord> responses;
  try {
    if (!fs::exists(response_path)) throw ConformProtocolError("it wrote no response file");
    responses = read_conform_response(response_path, report.driver_name);
  } catch (const ConformProtocolError& e) {
    throw DriverError("driver '" + options.driver + "' wrote a malformed response: " + e.what() +
                      "; stderr: " + tail_of(stderr_path, 3));
  }
  std::vector<Judged> judged;
  for (const GoldenRecord& r : requests) {
    const auto found = responses.find(r.name);
    if (found == responses.end())
      throw DriverError("driver '" + options.driver + "' wrote a malformed response: no case '" + r.name +
                        "'; stderr: " + tail_of(stderr_path, 3));
    judged.push_back({&r, &found->second, expected[r.name]});
  }
  ConformReport judged_report = Referee(std::move(judged)).judge();
  report.checks = std::move(judged_report.checks);
  report.estimators = std::move(judged_report.estimators);
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

std::string format_conform_table(const ConformReport& report, bool colour) {
  const char* green = colour ? "\033[32m" : "";
  const char* red = colour ? "\033[31m" : "";
  const char* dim = colour ? "\033[2m" : "";
  const char* reset = colour ? "\033[0m" : "";
  // Names hold multi-byte symbols ("…", "−"): align on characters, not bytes.
  const auto characters = [](const std::string& text) {
    size_t n = 0;
    for (unsigned char ch : text) n += (ch & 0xC0) != 0x80;
    return n;
  };
  size_t width = 0;
  for (const auto& c : report.checks) width = std::max(width, characters(c.name));
  std::ostringstream out;
  out << "conform: " << report.cases << " cases run by " << report.driver_name << " (" << report.driver_command << ")\n";
  for (const auto& c : report.checks) {
    const char* mark = c.status == Status::passed ? "\u2713" : c.status == Status::failed ? "\u2717" : "-";
    const char* tint = c.status == Status::passed ? green : c.status == Status::failed ? red : dim;
    const std::string fix = c.fix ? "fix #" + std::to_string(*c.fix) : "      ";
    out << tint << mark << reset << " " << fix << "  " << c.name << std::string(width - characters(c.name) + 2, ' ')
        << c.detail << "\n";
  }
  out << "estimators:";
  for (const auto& [cls, identity] : report.estimators) out << " " << cls << " = " << identity << ";";
  out << "\n"
      << (report.passed() ? green : red) << (report.passed() ? "conform: OK" : "conform: FAILED") << reset << " — "
      << report.count(Status::passed) << " passed, " << report.count(Status::failed) << " failed, "
      << report.count(Status::skipped) << " skipped in " << format_fixed(report.seconds, 1) << " s (driver "
      << format_fixed(report.driver_seconds, 1) << " s)\n";
  return out.str();
}

std::string format_conform_json(const ConformReport& report) {
  nlohmann::ordered_json j;
  j["driver"] = report.driver_command;
  j["driver_name"] = report.driver_name;
  j["cases"] = report.cases;
  j["checks"] = nlohmann::ordered_json::array();
  for (const auto& c : report.checks) {
    nlohmann::ordered_json check;
    check["name"] = c.name;
    check["fix"] = c.fix ? nlohmann::ordered_json(*c.fix) : nlohmann::ordered_json(nullptr);
    check["status"] = c.status == Status::passed ? "pass" : c.status == Status::failed ? "fail" : "skip";
    check["detail"] = c.detail;
    j["checks"].push_back(check);
  }
  j["estimators"] = nlohmann::ordered_json::object();
  for (const auto& [cls, identity] : report.estimators) j["estimators"][cls] = identity;
  j["passed"] = report.count(Status::passed);
  j["failed"] = report.count(Status::failed);
  j["skipped"] = report.count(Status::skipped);
  j["driver_seconds"] = report.driver_seconds;
  j["seconds"] = report.seconds;
  j["ok"] = report.passed();
  return j.dump(2);
}

}  // namespace vqvae
