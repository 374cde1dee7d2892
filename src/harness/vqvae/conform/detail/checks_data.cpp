// Area data: GaussianDataset and its pipeline on the `dataset` cases — X, Y and U_k as ours (with
// explicit arguments and with the baseline's defaults), each derived quantity the study reports,
// get_initialization_batch, the data loader's epoch, and the loader across epochs.
#include <vqvae/conform/detail/referee.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>

namespace vqvae::conform {
namespace {


constexpr ConformCaseKind kDataset = ConformCaseKind::dataset;

// One tensor of GaussianDataset (explicit arguments) equal to ours, and to the golden file's
// stored expectation where it has one.
Check same_tensor_as_ours(const Cases& cases, const std::string& name) {
  Tally t;
  double worst = 0;
  for (const Judged& j : cases.of(kDataset)) {
    if (is_defaults_call(j)) continue;
    if (!usable(j, t)) continue;
    const at::Tensor& mine = *output(cases.ours(j), name);
    double error = 0;  // against ours (the stored expectation's comparison leaves it alone)
    Failure wrong = differs(*j.response, name, mine, "GaussianDataset's " + name + " (ours)", 1e-5, 1e-5, &error);
    if (wrong.empty() && j.expected.count(name))
      wrong = differs(*j.response, name, j.expected.at(name), "the stored expectation", 1e-5, 1e-5);
    if (!wrong.empty()) { t.fail(j, wrong); continue; }
    worst = std::max(worst, error);
    t.pass();
  }
  t.measured = "max |Δ| " + format_significant(worst, 3) + " (≤ 1e-05 + 1e-05·|ours|)";
  return t.result(name + " equals ours");
}

Check defaults_same_as_ours(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.of(kDataset)) {
    if (!is_defaults_call(j)) continue;
    if (!usable(j, t)) continue;
    Failure wrong;
    for (const char* name : {"X", "Y", "U_k"})
      if (wrong = differs(*j.response, name, *output(cases.ours(j), name), std::string("GaussianDataset's ") + name, 1e-5, 1e-5);
          !wrong.empty())
        break;
    if (!wrong.empty()) t.fail(j, wrong + " (GaussianDataset() with its defaults)");
    else t.pass();
  }
  return t.result("d = 64, k = 8, σ = 0.1, n = 10000, seed = 42: X, Y and U_k equal ours");
}

// Sigma_X = Xcᵀ Xc / (N − 1); eigenvalues_k its k largest, descending; Sigma_z = U_kᵀ Sigma_X U_k;
// sigma_z_squared = mean diag Sigma_z — each from the response's own X and U_k.
Check derived(const Cases& cases, const std::string& name) {
  Tally t;
  for (const Judged& j : cases.answered(t, kDataset)) {
    const at::Tensor* X = output(*j.response, "X");
    const at::Tensor* U = output(*j.response, "U_k");
    if (!X || !U) { t.fail(j, "no X or U_k"); continue; }
    const at::Tensor x = f64(*X), u = f64(*U);
    const at::Tensor xc = x - x.mean(0, true);
    const at::Tensor sigma = xc.t().matmul(xc) / static_cast<double>(x.size(0) - 1);
    at::Tensor value;
    std::string definition;
    if (name == "Sigma_X") {
      value = sigma;
      definition = "Xcᵀ Xc / (N − 1)";
    } else if (name == "eigenvalues_k") {
      value = std::get<0>(at::linalg_eigh(sigma)).flip(0).slice(0, 0, u.size(1));
      definition = "the k largest eigenvalues of Sigma_X, descending";
    } else if (name == "Sigma_z") {
      value = u.t().matmul(sigma).matmul(u);
      definition = "U_kᵀ Sigma_X U_k";
    } else {
      value = at::diag(u.t().matmul(sigma).matmul(u)).mean().reshape({1});
      definition = "mean diag Sigma_z";
    }
    const at::Tensor* got = output(*j.response, name);
    const Failure wrong = differs(*j.response, name, got && got->numel() == value.numel() ? value.reshape(got->sizes()) : value,
                                      definition, 1e-5 * max_abs(sigma), 1e-4);
    if (!wrong.empty()) t.fail(j, wrong);
    else t.pass();
  }
  return t.result(name + " as defined, from the response's X and U_k");
}

// signal_variance = mean diag(A Σ_y Aᵀ) as ours; noise_variance = σ²; snr = signal / (σ² + 1e-10).
Check signal_or_noise(const Cases& cases, const std::string& name) {
  Tally t;
  for (const Judged& j : cases.answered(t, kDataset)) {
    const double sigma = is_defaults_call(j) ? 0.1 : real_attribute(*j.request, "sigma_noise", 0);
    const double got = scalar_output(*j.response, name);
    double want = 0;
    std::string definition;
    // signal_variance goes through float32 sums (1e-5); σ² and the snr from the response's own
    // signal_variance are float64 arithmetic of the same numbers (1e-12).
    double tolerance = 1e-12;
    if (name == "signal_variance") {
      want = scalar_output(cases.ours(j), name);
      definition = "mean diag(A Σ_y Aᵀ), as ours";
      tolerance = 1e-5;
    } else if (name == "noise_variance") {
      want = sigma * sigma;
      definition = "σ²";
    } else {
      want = scalar_output(*j.response, "signal_variance") / (sigma * sigma + 1e-10);
      definition = "signal_variance / (σ² + 1e-10), from the response's signal_variance";
    }
    if (const auto numbers = compare(got, want, tolerance * std::abs(want), name, definition))
      t.fail(j, {name + " = " + format_significant(got, 6) + ", expected " + definition + " = " + format_significant(want, 6),
                 *numbers});
    else t.pass();
  }
  return t.result(name + " as defined");
}

// get_initialization_batch(n) = X[:min(n, N)] · U_k, for the request's n (`default_n` false) or
// for the call without argument (n = 1000).
Check initialization_batch(const Cases& cases, bool default_n) {
  Tally t;
  for (const Judged& j : cases.answered(t, kDataset)) {
    if (!has_attribute(*j.request, "n_init")) continue;
    const at::Tensor* X = output(*j.response, "X");
    const at::Tensor* U = output(*j.response, "U_k");
    if (!X || !U) { t.fail(j, "no X or U_k"); continue; }
    const int64_t rows = default_n ? 1000 : int_attribute(*j.request, "n_init", 0);
    const at::Tensor expected = f64(*X).slice(0, 0, std::min(rows, X->size(0))).matmul(f64(*U));
    const char* name = default_n ? "init_batch_default" : "init_batch";
    if (const Failure wrong = differs(*j.response, name, expected,
                                          std::string("X[:min(") + std::to_string(rows) + ", N)] · U_k", 1e-5, 1e-5);
        !wrong.empty())
      t.fail(j, wrong + (default_n ? " (get_initialization_batch() with its default)" : ""));
    else t.pass();
  }
  return default_n ? t.result("get_initialization_batch() = X[:min(1000, N)] · U_k")
                   : t.result("n < N and n > N");
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
Failure epoch_problem(const at::Tensor& X, const at::Tensor& Y, const at::Tensor& lx, const at::Tensor* ly) {
  if (lx.dim() != 2 || lx.size(0) != X.size(0) || lx.size(1) != X.size(1))
    return {"loader_x " + shape_string(lx) + ", expected every row of X " + shape_string(X) + " once",
            shapes(&lx, X.sizes().vec(), "loader_x", "every row of X once")};
  if (ly && ly->sizes() != Y.sizes())
    return {"loader_y " + shape_string(*ly) + ", expected " + shape_string(Y), shapes(ly, Y.sizes().vec(), "loader_y", "Y's rows")};
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
  return {};
}

// The loader's outputs of a case, or null after failing `t`.
struct LoaderOutputs {
  const at::Tensor *X, *Y, *lx, *ly, *sizes;
};

std::optional<LoaderOutputs> loader_outputs(const Judged& j, Tally& t) {
  LoaderOutputs o{output(*j.response, "X"), output(*j.response, "Y"), output(*j.response, "loader_x"),
                  output(*j.response, "loader_y"), output(*j.response, "loader_batch_sizes")};
  if (!o.X || !o.Y || !o.lx || !o.ly || !o.sizes) {
    t.fail(j, "the loader's outputs are missing (" + text_attribute(*j.response, "missing", "?") + ")");
    return std::nullopt;
  }
  return o;
}

bool same_rows(const at::Tensor& a, const at::Tensor& b) { return a.sizes() == b.sizes() && at::equal(a.to(at::kFloat), b.to(at::kFloat)); }

// What one epoch of get_dataloader(batch_size, shuffle=True) must be: every (x, y) row once
// (`each_row_once`), not in X's order (`shuffled`), in batches of batch_size (`batch_sizes`).
enum class EpochProperty { each_row_once, shuffled, batch_sizes };

Check loader_epoch(const Cases& cases, EpochProperty property) {
  Tally t;
  for (const Judged& j : cases.answered(t, kDataset)) {
    if (!has_attribute(*j.request, "batch_size")) continue;
    const auto o = loader_outputs(j, t);
    if (!o) continue;
    const int64_t batch_size = int_attribute(*j.request, "batch_size", 64);
    if (property == EpochProperty::each_row_once) {
      if (const Failure why = epoch_problem(*o->X, *o->Y, *o->lx, o->ly); !why.empty()) t.fail(j, why);
      else t.pass();
    } else if (property == EpochProperty::shuffled) {
      if (o->X->size(0) <= 8) continue;  // a short set may come out in order by chance
      if (same_rows(*o->lx, *o->X))
        t.fail(j, "an epoch of get_dataloader(" + std::to_string(batch_size) +
               ", shuffle=True) visits the rows in X's order: not shuffled");
      else t.pass();
    } else {
      const std::vector<int64_t> expected = epoch_sizes(o->X->size(0), batch_size);
      if (const auto numbers = compare(o->sizes->reshape({-1}), at::tensor(expected, at::kLong), 0, 0, "loader_batch_sizes",
                                       "batches of batch_size, the last N mod batch_size"))
        t.fail(j, {"get_dataloader(" + std::to_string(batch_size) + ") gave batches of " +
                   sizes_text(as_vector(*o->sizes)) + ", expected " + sizes_text(expected), *numbers});
      else t.pass();
    }
  }
  switch (property) {
    case EpochProperty::each_row_once: return t.result("every (x, y) row of the set once per epoch");
    case EpochProperty::shuffled: return t.result("shuffle=True: not in X's order");
    case EpochProperty::batch_sizes: return t.result("batches of batch_size, the last N mod batch_size");
  }
  return t.result("");
}

// get_dataloader() with its defaults: batches of 64 and shuffled (what an epoch holds is
// each_row_once's question, asked of the explicit call).
Check loader_defaults(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, kDataset)) {
    if (!has_attribute(*j.request, "batch_size")) continue;
    const at::Tensor* X = output(*j.response, "X");
    const at::Tensor* default_x = output(*j.response, "default_loader_x");
    const at::Tensor* default_sizes = output(*j.response, "default_loader_batch_sizes");
    if (default_sizes && default_sizes->numel() == 0) continue;  // an empty epoch: each_row_once's failure
    if (!X || !default_x || !default_sizes) {
      t.fail(j, "get_dataloader()'s outputs are missing (" + text_attribute(*j.response, "missing", "?") + ")");
      continue;
    }
    const std::vector<int64_t> sizes = as_vector(*default_sizes);
    if (sizes.empty()) continue;  // an empty epoch: each_row_once's failure
    const bool batches_of_64 = !sizes.empty() && sizes.front() == std::min<int64_t>(64, X->size(0)) &&
                               std::all_of(sizes.begin(), sizes.end() - 1, [](int64_t size) { return size == 64; });
    if (!batches_of_64)
      t.fail(j, {"get_dataloader() gave batches of " + sizes_text(sizes) + ", expected batches of 64 (the default batch_size)",
                 compare(default_sizes->reshape({-1}), at::tensor(epoch_sizes(X->size(0), 64), at::kLong), 0, 0,
                         "default_loader_batch_sizes", "batches of 64, the last N mod 64")});
    else if (X->size(0) > 8 && default_x->sizes() == X->sizes() && same_rows(*default_x, *X))
      t.fail(j, "get_dataloader() visits the rows in X's order: shuffle=True is the default");
    else t.pass();
  }
  return t.result("batch_size 64 and shuffled by default");
}

// Across epochs (state across calls): the same loader's second epoch is another order of the same
// rows (`new_order`), and the first epoch is a function of torch's global generator: after the same
// torch.manual_seed a new loader gives it again (`from_global_generator`).
Check loader_across_epochs(const Cases& cases, bool new_order) {
  Tally t;
  for (const Judged& j : cases.answered(t, kDataset)) {
    if (!has_attribute(*j.request, "loader_seed")) continue;
    const auto o = loader_outputs(j, t);
    if (!o) continue;
    const char* name = new_order ? "loader_x_epoch2" : "loader_x_reseeded";
    const at::Tensor* other = output(*j.response, name);
    if (!other) { t.fail(j, std::string("no ") + name + raised(*j.response, name)); continue; }
    // Only the order across epochs: what one epoch holds is each_row_once's question.
    if (new_order) {
      if (o->X->size(0) <= 8) continue;
      if (same_rows(*other, *o->lx))
        t.fail(j, "the loader's second epoch repeats the first one's order (a shuffled loader draws a new "
                                 "order each epoch)");
      else t.pass();
    } else if (!same_rows(*other, *o->lx)) {
      t.fail(j, "after the same torch.manual_seed(" + std::to_string(int_attribute(*j.request, "loader_seed", 0)) +
             ") a new get_dataloader gives another first epoch: the order does not come from torch's global generator");
    } else t.pass();
  }
  return new_order ? t.result("epoch 2 in another order")
                   : t.result("the same seed, the same first epoch");
}

GoldenRecord dataset_case(const std::string& name, int64_t d, int64_t k, int64_t n, double sigma, int64_t seed,
                          const std::string& call, int64_t n_init, int64_t batch_size) {
  return make_record("builtin_dataset_" + name,
                     {{"kind", std::string("dataset")}, {"d", d}, {"k", k}, {"n", n}, {"sigma_noise", sigma}, {"seed", seed},
                      {"call", call}, {"n_init", n_init}, {"batch_size", batch_size}, {"loader_seed", seed + 1000}},
                     {});
}

}  // namespace

// GaussianDataset() as the baseline's snippet builds it, with every default; and the boundaries of its
// arguments, which an implementation must accept: k = d, k = 1, n = 2.
std::vector<GoldenRecord> data_cases() {
  return {dataset_case("defaults", 64, 8, 10000, 0.1, 42, "defaults", 1000, 64),
          dataset_case("k_equals_d", 4, 4, 50, 0.2, 9, "explicit", 10, 16),
          dataset_case("k1_n2", 4, 1, 2, 0.2, 9, "explicit", 1, 1)};
}


std::vector<CheckDefinition> data_checks() {
  const std::vector<ConformCaseKind> kinds{kDataset};
  const std::vector<std::string> dataset{"GaussianDataset"};
  const std::vector<std::string> batch{"GaussianDataset", "GaussianDataset.get_initialization_batch"};
  const std::vector<std::string> loader{"GaussianDataset", "GaussianDataset.get_dataloader"};
  std::vector<CheckDefinition> out;
  for (const char* name : {"X", "Y", "U_k"})
    out.push_back({std::string("data.dataset.") + name, std::string("GaussianDataset(d, k, sigma_noise, n, seed).") + name + " equals ours",
                   std::nullopt, kinds, dataset,
                   [name](const Cases& c, Findings&) { return same_tensor_as_ours(c, name); }});
  out.push_back({"data.dataset.defaults", "GaussianDataset() with the baseline's defaults gives our X, Y and U_k", std::nullopt,
                 kinds, dataset, [](const Cases& c, Findings&) { return defaults_same_as_ours(c); }});
  for (const char* name : {"Sigma_X", "eigenvalues_k", "Sigma_z", "sigma_z_squared"})
    out.push_back({std::string("data.dataset.") + name,
                   std::string(name) + " as defined (Xcᵀ Xc/(N − 1), its top-k eigenvalues, U_kᵀ Sigma_X U_k, mean diag Sigma_z)",
                   std::nullopt, kinds, dataset, [name](const Cases& c, Findings&) { return derived(c, name); }});
  for (const char* name : {"signal_variance", "noise_variance", "snr"})
    out.push_back({std::string("data.dataset.") + name,
                   std::string(name) + " as defined (mean diag(A Σ_y Aᵀ), σ², signal/(σ² + 1e-10))", std::nullopt, kinds,
                   dataset, [name](const Cases& c, Findings&) { return signal_or_noise(c, name); }});
  out.push_back({"data.init_batch.rows", "get_initialization_batch(n) = X[:min(n, N)] · U_k", std::nullopt, kinds, batch,
                 [](const Cases& c, Findings&) { return initialization_batch(c, false); }});
  out.push_back({"data.init_batch.default_n", "get_initialization_batch() uses n = 1000", std::nullopt, kinds, batch,
                 [](const Cases& c, Findings&) { return initialization_batch(c, true); }});
  out.push_back({"data.loader.each_row_once", "an epoch of get_dataloader holds every (x, y) row once", std::nullopt, kinds, loader,
                 [](const Cases& c, Findings&) { return loader_epoch(c, EpochProperty::each_row_once); }});
  out.push_back({"data.loader.shuffled", "get_dataloader(batch_size, shuffle=True) does not keep X's order", std::nullopt, kinds,
                 loader, [](const Cases& c, Findings&) { return loader_epoch(c, EpochProperty::shuffled); }});
  out.push_back({"data.loader.batch_sizes", "batches of batch_size, the last one N mod batch_size", std::nullopt, kinds, loader,
                 [](const Cases& c, Findings&) { return loader_epoch(c, EpochProperty::batch_sizes); }});
  out.push_back({"data.loader.defaults", "get_dataloader() with its defaults: batches of 64, shuffled", std::nullopt, kinds, loader,
                 [](const Cases& c, Findings&) { return loader_defaults(c); }});
  out.push_back({"data.loader.new_order_each_epoch", "a shuffled loader draws a new order each epoch", std::nullopt, kinds, loader,
                 [](const Cases& c, Findings&) { return loader_across_epochs(c, true); }});
  out.push_back({"data.loader.order_from_global_generator",
                 "the order comes from torch's global generator: the same seed gives the same epoch", std::nullopt, kinds,
                 loader, [](const Cases& c, Findings&) { return loader_across_epochs(c, false); }});
  return out;
}

}  // namespace vqvae::conform
