// Area data: GaussianDataset and its pipeline on the `dataset` cases — X, Y and U_k as ours (with
// explicit arguments and with the baseline's defaults), the derived quantities the study reports,
// get_initialization_batch, and the data loader's epoch.
#include <vqvae/harness/conform_referee.h>

#include <vqvae/core/checks.h>
#include <vqvae/core/format.h>

#include <ATen/ATen.h>

#include <cstring>
#include <unordered_map>

namespace vqvae::conform {
namespace {


Check same_as_ours(const Cases& cases, bool defaults) {
  Tally t;
  double worst = 0;
  for (const Judged& j : cases.of(ConformCaseKind::dataset)) {
    if (is_defaults_call(j) != defaults) continue;
    if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
    const GoldenRecord mine = ours(*j.request);
    std::string wrong;
    for (const char* name : {"X", "Y", "U_k"}) {
      if (wrong = differs(*j.response, name, *output(mine, name), std::string("GaussianDataset's ") + name, 1e-5, 1e-5);
          !wrong.empty())
        break;
      double error = 0;
      close(*output(*j.response, name), *output(mine, name), 0, 0, error);
      worst = std::max(worst, error);
    }
    if (wrong.empty()) wrong = stored_expectations_differ(j, 1e-5, 1e-5);
    if (!wrong.empty()) t.fail(j.request->name + ": " + wrong);
    else t.pass();
  }
  t.measured = "max |Δ| " + format_significant(worst, 3) + " (≤ 1e-05 + 1e-05·|ours|)";
  return defaults ? t.result("dataset: GaussianDataset() with the baseline's defaults gives ours", std::nullopt,
                             "d = 64, k = 8, σ = 0.1, n = 10000, seed = 42: X, Y and U_k equal ours")
                  : t.result("dataset: GaussianDataset gives our X, Y and U_k", std::nullopt, "X, Y and U_k equal ours");
}

// Sigma_X = Xcᵀ Xc / (N − 1); eigenvalues_k its k largest, descending; Sigma_z = U_kᵀ Sigma_X U_k;
// sigma_z_squared = mean diag Sigma_z — from the response's own X and U_k.
Check derived(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::dataset)) {
    const at::Tensor* X = output(*j.response, "X");
    const at::Tensor* U = output(*j.response, "U_k");
    if (!X || !U) { t.fail(j.request->name + ": no X or U_k"); continue; }
    const at::Tensor x = f64(*X), u = f64(*U);
    const at::Tensor xc = x - x.mean(0, true);
    const at::Tensor sigma = xc.t().matmul(xc) / static_cast<double>(x.size(0) - 1);
    const at::Tensor eigenvalues = std::get<0>(at::linalg_eigh(sigma)).flip(0).slice(0, 0, u.size(1));
    const at::Tensor sigma_z = u.t().matmul(sigma).matmul(u);
    const at::Tensor sigma_z_squared = at::diag(sigma_z).mean().reshape({1});
    const double scale = max_abs(sigma);
    std::string wrong;
    const std::vector<std::tuple<const char*, at::Tensor, const char*>> expected{
        {"Sigma_X", sigma, "Xcᵀ Xc / (N − 1)"},
        {"eigenvalues_k", eigenvalues, "the k largest eigenvalues of Sigma_X, descending"},
        {"Sigma_z", sigma_z, "U_kᵀ Sigma_X U_k"},
        {"sigma_z_squared", sigma_z_squared, "mean diag Sigma_z"}};
    for (const auto& [name, value, definition] : expected)
      if (wrong = differs(*j.response, name, value.reshape(output(*j.response, name) ? output(*j.response, name)->sizes()
                                                                                         : value.sizes()),
                          definition, 1e-5 * scale, 1e-4);
          !wrong.empty())
        break;
    if (!wrong.empty()) t.fail(j.request->name + ": " + wrong);
    else t.pass();
  }
  return t.result("dataset: Sigma_X, eigenvalues_k, Sigma_z, sigma_z_squared as defined", std::nullopt,
                  "Xcᵀ Xc/(N − 1), its top-k eigenvalues, U_kᵀ Sigma_X U_k, mean diag Sigma_z");
}

// signal_variance = mean diag(A Σ_y Aᵀ) as ours; noise_variance = σ²; snr = signal / (σ² + 1e-10).
Check signal_and_noise(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::dataset)) {
    const double sigma = text_attribute(*j.request, "call") == "defaults" ? 0.1 : real_attribute(*j.request, "sigma_noise", 0);
    const GoldenRecord mine = ours(*j.request);
    std::string wrong;
    const auto value = [&](const char* name) {
      const at::Tensor* got = output(*j.response, name);
      return got && got->numel() == 1 ? f64(*got).reshape({1})[0].item<double>() : std::nan("");
    };
    const double signal = value("signal_variance");
    const std::vector<std::tuple<const char*, double, std::string>> expected{
        {"signal_variance", f64(*output(mine, "signal_variance"))[0].item<double>(), "mean diag(A Σ_y Aᵀ), as ours"},
        {"noise_variance", sigma * sigma, "σ²"},
        {"snr", signal / (sigma * sigma + 1e-10), "signal_variance / (σ² + 1e-10)"}};
    for (const auto& [name, want, definition] : expected) {
      const double got = value(name);
      // signal_variance goes through float32 sums (1e-5); σ² and the snr from the response's own
      // signal_variance are float64 arithmetic of the same numbers (1e-12).
      const double tolerance = std::string(name) == "signal_variance" ? 1e-5 : 1e-12;
      if (!(std::abs(got - want) <= tolerance * std::abs(want))) {
        wrong = std::string(name) + " = " + format_significant(got, 6) + ", expected " + definition + " = " + format_significant(want, 6);
        break;
      }
    }
    if (!wrong.empty()) t.fail(j.request->name + ": " + wrong);
    else t.pass();
  }
  return t.result("dataset: signal_variance, noise_variance = σ², snr = signal/(σ² + 1e-10)", std::nullopt,
                  "the quantities the study reports about its source");
}

Check initialization_batch(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::dataset)) {
    if (!has_attribute(*j.request, "n_init")) continue;
    const at::Tensor* X = output(*j.response, "X");
    const at::Tensor* U = output(*j.response, "U_k");
    if (!X || !U) { t.fail(j.request->name + ": no X or U_k"); continue; }
    const int64_t N = X->size(0), n_init = int_attribute(*j.request, "n_init", 0);
    std::string wrong;
    for (const auto& [name, rows] : {std::pair<const char*, int64_t>{"init_batch", n_init}, {"init_batch_default", 1000}}) {
      const at::Tensor expected = f64(*X).slice(0, 0, std::min(rows, N)).matmul(f64(*U));
      if (wrong = differs(*j.response, name, expected,
                          std::string("X[:min(") + std::to_string(rows) + ", N)] · U_k", 1e-5, 1e-5);
          !wrong.empty())
        break;
    }
    if (!wrong.empty()) t.fail(j.request->name + ": " + wrong);
    else t.pass();
  }
  return t.result("dataset: get_initialization_batch(n) = X[:min(n, N)] · U_k (n = 1000 by default)", std::nullopt,
                  "n < N, n > N and the default");
}

std::string row_key(const at::Tensor& row) {
  const at::Tensor c = row.to(at::kFloat).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * sizeof(float));
}

// The batch sizes of one epoch: batch_size each, the last N mod batch_size when that is not 0.
std::vector<int64_t> epoch_sizes(int64_t N, int64_t batch_size) {
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < N; start += batch_size) sizes.push_back(std::min(batch_size, N - start));
  return sizes;
}

std::string sizes_text(const std::vector<int64_t>& sizes) {
  std::string out;
  for (size_t i = 0; i < sizes.size() && i < 4; ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  if (sizes.size() > 4) out += ", …, " + std::to_string(sizes.back()) + " (" + std::to_string(sizes.size()) + " batches)";
  return out;
}

std::vector<int64_t> as_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// "" when loader_x (and loader_y, when given) hold every (x, y) row of X, Y exactly once.
std::string epoch_problem(const at::Tensor& X, const at::Tensor& Y, const at::Tensor& lx, const at::Tensor* ly) {
  if (lx.dim() != 2 || lx.size(0) != X.size(0) || lx.size(1) != X.size(1))
    return "loader_x " + shape_string(lx) + ", expected every row of X " + shape_string(X) + " once";
  if (ly && ly->sizes() != Y.sizes()) return "loader_y " + shape_string(*ly) + ", expected " + shape_string(Y);
  std::unordered_map<std::string, int64_t> index;
  for (int64_t i = 0; i < X.size(0); ++i) index.emplace(row_key(X[i]), i);
  std::vector<int> seen(static_cast<size_t>(X.size(0)), 0);
  for (int64_t i = 0; i < lx.size(0); ++i) {
    const auto found = index.find(row_key(lx[i]));
    if (found == index.end()) return "loader row " + std::to_string(i) + " is no row of X";
    if (seen[static_cast<size_t>(found->second)]++) return "row " + std::to_string(found->second) + " of X comes twice in one epoch";
    if (ly && !at::equal((*ly)[i].to(at::kFloat), Y[found->second].to(at::kFloat)))
      return "loader row " + std::to_string(i) + " pairs X row " + std::to_string(found->second) + " with another y than Y's";
  }
  return "";
}

Check loader(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::dataset)) {
    if (!has_attribute(*j.request, "batch_size")) continue;
    const at::Tensor* X = output(*j.response, "X");
    const at::Tensor* Y = output(*j.response, "Y");
    const at::Tensor* lx = output(*j.response, "loader_x");
    const at::Tensor* ly = output(*j.response, "loader_y");
    const at::Tensor* sizes = output(*j.response, "loader_batch_sizes");
    const at::Tensor* default_sizes = output(*j.response, "default_loader_batch_sizes");
    const at::Tensor* default_x = output(*j.response, "default_loader_x");
    if (!X || !Y || !lx || !ly || !sizes || !default_sizes || !default_x) {
      t.fail(j.request->name + ": the loader's outputs are missing (" + text_attribute(*j.response, "missing", "?") + ")");
      continue;
    }
    const int64_t N = X->size(0);
    const std::vector<int64_t> expected = epoch_sizes(N, int_attribute(*j.request, "batch_size", 64));
    const std::vector<int64_t> expected_default = epoch_sizes(N, 64);
    if (const std::string why = epoch_problem(*X, *Y, *lx, ly); !why.empty()) t.fail(j.request->name + ": " + why);
    else if (const std::string why = epoch_problem(*X, *Y, *default_x, nullptr); !why.empty())
      t.fail(j.request->name + ": get_dataloader(): " + why);
    else if (N > 8 && (at::equal(lx->to(at::kFloat), X->to(at::kFloat)) || at::equal(default_x->to(at::kFloat), X->to(at::kFloat))))
      t.fail(j.request->name + ": an epoch of get_dataloader" + std::string(at::equal(lx->to(at::kFloat), X->to(at::kFloat)) ? "(batch_size, shuffle=True)" : "()") +
             " visits the rows in X's order: not shuffled (shuffle=True is the default)");
    else if (as_vector(*sizes) != expected)
      t.fail(j.request->name + ": get_dataloader(" + std::to_string(int_attribute(*j.request, "batch_size", 64)) + ") gave batches of " +
             sizes_text(as_vector(*sizes)) + ", expected " + sizes_text(expected));
    else if (as_vector(*default_sizes) != expected_default)
      t.fail(j.request->name + ": get_dataloader() gave batches of " + sizes_text(as_vector(*default_sizes)) + ", expected " +
             sizes_text(expected_default) + " (batch_size = 64 by default)");
    else t.pass();
  }
  return t.result("dataset: get_dataloader covers every (x, y) once per epoch, in batches of batch_size (64 by default)",
                  std::nullopt, "one shuffled epoch, every row once, the last batch N mod batch_size");
}


GoldenRecord dataset_case(const std::string& name, int64_t d, int64_t k, int64_t n, double sigma, int64_t seed,
                          const std::string& call, int64_t n_init, int64_t batch_size) {
  return make_record("builtin_dataset_" + name,
                     {{"kind", std::string("dataset")}, {"d", d}, {"k", k}, {"n", n}, {"sigma_noise", sigma}, {"seed", seed},
                      {"call", call}, {"n_init", n_init}, {"batch_size", batch_size}},
                     {});
}

}  // namespace

// GaussianDataset() as the seed's snippet builds it, with every default; and the boundaries of its
// arguments, which an implementation must accept: k = d, k = 1, n = 2.
std::vector<GoldenRecord> data_cases() {
  return {dataset_case("defaults", 64, 8, 10000, 0.1, 42, "defaults", 1000, 64),
          dataset_case("k_equals_d", 4, 4, 50, 0.2, 9, "explicit", 10, 16),
          dataset_case("k1_n2", 4, 1, 2, 0.2, 9, "explicit", 1, 1)};
}


void judge_data(const Cases& cases, Verdicts& out) {
  out.checks.push_back(same_as_ours(cases, false));
  out.checks.push_back(same_as_ours(cases, true));
  out.checks.push_back(derived(cases));
  out.checks.push_back(signal_and_noise(cases));
  out.checks.push_back(initialization_batch(cases));
  out.checks.push_back(loader(cases));
}

}  // namespace vqvae::conform
