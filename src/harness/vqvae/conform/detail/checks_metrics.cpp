// Area metrics: MetricsTracker's three methods on the `metrics` cases, each key against its
// definition computed here in float64 (harness/detail/references.h), on cases chosen to separate near-miss
// definitions; and the logging path every reported number passes through (`tracker` cases:
// update, get_final_metrics, save as CSV, load).
#include <vqvae/conform/detail/referee.h>

#include <vqvae/core/format.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/harness/detail/references.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace vqvae::conform {
namespace {

// Each key of the three MetricsTracker methods: the method that returns it, its id in the
// checks, its definition, and its value in the float64 reference.
struct MetricKey {
  const char* key;
  const char* method;
  const char* id;
  const char* definition;
  double MetricsReference::*reference;
};

const std::vector<MetricKey>& metric_keys() {
  using R = MetricsReference;
  static const std::vector<MetricKey> all{
      {"perplexity", "compute_utilization_metrics", "metrics.utilization.perplexity", "exp(entropy)", &R::perplexity},
      {"dead_codes", "compute_utilization_metrics", "metrics.utilization.dead_codes", "count of codes with usage < 1e-4",
       &R::dead_codes},
      {"min_usage", "compute_utilization_metrics", "metrics.utilization.min_usage", "min usage over the codes in use", &R::min_usage},
      {"max_usage", "compute_utilization_metrics", "metrics.utilization.max_usage", "max usage", &R::max_usage},
      {"usage_std", "compute_utilization_metrics", "metrics.utilization.usage_std", "unbiased std of the n usages", &R::usage_std},
      {"usage_entropy", "compute_utilization_metrics", "metrics.utilization.usage_entropy", "−Σ usage·ln(usage + 1e-10)",
       &R::usage_entropy},
      {"quantization_error", "compute_distortion_metrics", "metrics.distortion.quantization_error", "mean (z − z_q)²",
       &R::quantization_error},
      {"quant_error_per_dim", "compute_distortion_metrics", "metrics.distortion.quant_error_per_dim",
       "the per-dimension means of (z − z_q)², averaged", &R::quant_error_per_dim},
      {"codebook_mean_norm", "compute_codebook_stats", "metrics.codebook.mean_norm", "mean ‖c_j‖", &R::codebook_mean_norm},
      {"codebook_std_norm", "compute_codebook_stats", "metrics.codebook.std_norm", "unbiased std of ‖c_j‖", &R::codebook_std_norm},
      {"codebook_mean_distance", "compute_codebook_stats", "metrics.codebook.mean_distance",
       "mean ‖c_i − c_j‖ over all pairs i < j, duplicates included", &R::codebook_mean_distance},
  };
  return all;
}

// The reference of the one method that returns `key` (the other two are not needed for it).
MetricsReference method_reference(const Judged& j, const MetricKey& key) {
  MetricsReference r;
  const std::string method = key.method;
  if (method == "compute_utilization_metrics")
    utilization_reference(j.request->dataset("indices"), std::get<int64_t>(j.request->attribute("codebook_size")), r);
  else if (method == "compute_distortion_metrics")
    distortion_reference(j.request->dataset("z"), j.request->dataset("z_q"), r);
  else
    codebook_stats_reference(j.request->dataset("codebook"), r);
  return r;
}

// One key against the reference (1e-5 relative: the driver's arithmetic may be float32).
Check key_check(const Cases& cases, const MetricKey& key) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::metrics)) {
    const at::Tensor* got = output(*j.response, key.key);
    if (!got || got->numel() != 1) {
      t.fail(j, std::string("no ") + key.key + (got ? " (not one number)" : "") + " from MetricsTracker." + key.method);
      continue;
    }
    const double value = f64(*got).reshape({1})[0].item<double>(), want = method_reference(j, key).*key.reference;
    if (const auto numbers = compare(value, want, 1e-9 + 1e-5 * std::abs(want), key.key,
                                     std::string("the definition, ") + key.definition))
      t.fail(j, {std::string(key.key) + " = " + format_significant(value, 6) + ", the definition (" + key.definition + ") gives " +
                     format_significant(want, 6),
                 numbers});
    else t.pass();
  }
  return t.result("within 1e-5 relative of the float64 definition");
}

// ---------------------------------------------------------------- the logging path
// A `tracker` case's rows as defined: per key, the value logged at each update (NaN where not).
struct TrackerRows {
  std::vector<std::string> keys;
  at::Tensor steps;   // (R) int64
  at::Tensor values;  // (R, K) float64, NaN: not logged
};

TrackerRows tracker_rows(const Judged& j) {
  TrackerRows r;
  r.keys = split(text_attribute(*j.request, "keys"), ',');
  r.steps = j.request->dataset("steps").to(at::kLong);
  r.values = f64(j.request->dataset("values"));
  return r;
}

// "" when `got` (L) holds the column `expected` (R): the same length, NaN where NaN, the values
// within 1e-12 relative (what a float64 CSV round trip keeps).
// Numbers: NaN stands for "nothing" (not logged) on either side.
Failure column_problem(const at::Tensor* got, const at::Tensor& expected, const std::string& what,
                       const std::string& expected_is = "the values logged") {
  if (!got) return "no " + what;
  if (got->dim() != 1 || got->size(0) != expected.size(0))
    return {what + " has " + std::to_string(got->numel()) + " entries for " + std::to_string(expected.size(0)) +
                " updates (a key logged later, or only sometimes, is empty in the rows without it)",
            shapes(got, {expected.size(0)}, what, "one entry per update")};
  const at::Tensor g = f64(*got), e = f64(expected);
  for (int64_t i = 0; i < e.size(0); ++i) {
    const double a = g[i].item<double>(), b = e[i].item<double>();
    const double tolerance = 1e-12 * std::max(1.0, std::abs(b));
    if (std::isnan(b) != std::isnan(a) || (!std::isnan(b) && !(std::abs(a - b) <= tolerance)))
      return {what + " row " + std::to_string(i) + " holds " + (std::isnan(a) ? std::string("nothing") : format_significant(a, 8)) +
                  ", expected " + (std::isnan(b) ? std::string("nothing (not logged at that update)") : format_significant(b, 8)),
              one_number(what, expected_is, {i}, a, b, tolerance)};
  }
  return {};
}

// The rows a tracker keeps (prefix "rows_" or, after save and load, "loaded_rows_").
Failure rows_problem(const Judged& j, const TrackerRows& r, const std::string& prefix) {
  for (size_t key = 0; key < r.keys.size(); ++key)
    if (Failure why = column_problem(output(*j.response, prefix + r.keys[key]), r.values.select(1, static_cast<int64_t>(key)),
                                         prefix + r.keys[key]);
        !why.empty())
      return why;
  if (const at::Tensor* steps = output(*j.response, prefix + "step"))
    return column_problem(steps, r.steps.to(at::kDouble), prefix + "step", "the steps logged");
  return {};
}

// get_final_metrics as defined: each key's last logged value.
Failure final_problem(const Judged& j, const TrackerRows& r, const std::string& prefix) {
  const at::Tensor* final = output(*j.response, prefix + "final");
  const at::Tensor* has = output(*j.response, prefix + "final_has");
  if (!final || !has || final->numel() != static_cast<int64_t>(r.keys.size()) || has->numel() != final->numel())
    return "no " + prefix + "final (one value per key)";
  for (size_t key = 0; key < r.keys.size(); ++key) {
    const at::Tensor column = r.values.select(1, static_cast<int64_t>(key));
    double last = std::nan("");
    for (int64_t i = column.size(0) - 1; i >= 0 && std::isnan(last); --i) last = column[i].item<double>();
    const double got = f64(*final).reshape({-1})[static_cast<int64_t>(key)].item<double>();
    if (has->reshape({-1})[static_cast<int64_t>(key)].item<int64_t>() == 0)
      return "get_final_metrics() has no " + r.keys[key] + " (its last logged value is " + format_significant(last, 8) + ")";
    const double tolerance = 1e-12 * std::max(1.0, std::abs(last));
    if (std::isnan(got) || !(std::abs(got - last) <= tolerance))
      return {"get_final_metrics()['" + r.keys[key] + "'] = " + (std::isnan(got) ? std::string("None") : format_significant(got, 8)) +
                  ", its last logged value is " + format_significant(last, 8) + " (a key logged only sometimes keeps its last value)",
              one_number("get_final_metrics()['" + r.keys[key] + "']", "the last value logged", {}, got, last, tolerance)};
  }
  return {};
}

// The file save() wrote, parsed as CSV: "" when every key is a column with R lines holding the
// values as logged (empty where not logged).
Failure csv_problem(const Judged& j, const TrackerRows& r) {
  const at::Tensor* saved = output(*j.response, "saved");
  if (!saved) return "save() wrote nothing" + raised(*j.response, "saved");
  const at::Tensor bytes = saved->to(at::kLong).contiguous();
  std::string text;
  for (int64_t i = 0; i < bytes.numel(); ++i) text += static_cast<char>(bytes.data_ptr<int64_t>()[i]);
  const std::vector<std::vector<std::string>> lines = csv_rows(text);
  if (lines.empty()) return "the saved file is empty";
  const std::vector<std::string>& header = lines.front();
  // One column per key (and the step): a column that is neither, such as a written index, is not
  // what was logged.
  for (const std::string& column : header)
    if (column != "step" && std::find(r.keys.begin(), r.keys.end(), column) == r.keys.end())
      return "the saved file has a column '" + column + "' that is no logged key (header: " + text.substr(0, text.find('\n')) +
             "; an index written with the rows?)";
  if (static_cast<int64_t>(lines.size()) - 1 != r.steps.size(0))
    return {"the saved file has " + std::to_string(lines.size() - 1) + " rows under its header, expected one per update (" +
                std::to_string(r.steps.size(0)) + ")",
            one_number("rows under the saved file's header", "one per update", {}, static_cast<double>(lines.size() - 1),
                       static_cast<double>(r.steps.size(0)), 0)};
  for (size_t key = 0; key < r.keys.size() + 1; ++key) {
    const std::string name = key < r.keys.size() ? r.keys[key] : "step";
    const auto column = std::find(header.begin(), header.end(), name);
    if (column == header.end()) {
      if (name == "step") break;  // a step column is not required
      return "the saved file has no column " + name + " (header: " + text.substr(0, text.find('\n')) + ")";
    }
    const size_t at = static_cast<size_t>(column - header.begin());
    for (int64_t row = 0; row < r.steps.size(0); ++row) {
      const std::vector<std::string>& line = lines[static_cast<size_t>(row) + 1];
      const std::string cell = at < line.size() ? line[at] : "";
      const double want = name == "step" ? static_cast<double>(r.steps[row].item<int64_t>())
                                         : r.values[row][static_cast<int64_t>(key)].item<double>();
      double got = std::nan("");
      if (!cell.empty() && cell != "nan" && cell != "NaN" && cell != "None") {
        char* end = nullptr;
        got = std::strtod(cell.c_str(), &end);
        if (end == cell.c_str()) return "the saved file's " + name + " row " + std::to_string(row) + " is '" + cell + "', not a number";
      }
      const double tolerance = 1e-12 * std::max(1.0, std::abs(want));
      if (std::isnan(want) != std::isnan(got) || (!std::isnan(want) && !(std::abs(got - want) <= tolerance)))
        return {"the saved file's " + name + " row " + std::to_string(row) + " is '" + cell + "', expected " +
                    (std::isnan(want) ? std::string("empty (not logged)") : format_significant(want, 10)),
                one_number("the saved file's " + name, "the value logged", {row}, got, want, tolerance)};
    }
  }
  return {};
}

// After save and load: the same rows and the same final metrics as the tracker that saved them
// (whether those are right is rows' and final_metrics' question), or the definition where the
// saving tracker's are not in the response.
Failure round_trip_problem(const Judged& j, const TrackerRows& r) {
  for (size_t key = 0; key < r.keys.size() + 1; ++key) {
    const std::string name = key < r.keys.size() ? r.keys[key] : "step";
    const at::Tensor* before = output(*j.response, "rows_" + name);
    const at::Tensor* after = output(*j.response, "loaded_rows_" + name);
    if (name == "step" && !before) break;
    const at::Tensor expected = before ? f64(*before) : r.values.select(1, static_cast<int64_t>(key));
    if (Failure why = column_problem(after, expected, "loaded_rows_" + name, before ? "the saving tracker's rows" : "the values logged");
        !why.empty())
      return why + (before ? " (the saving tracker's rows)" : "");
  }
  const at::Tensor* final = output(*j.response, "final");
  const at::Tensor* has = output(*j.response, "final_has");
  if (!final || !has) return final_problem(j, r, "loaded_");
  const at::Tensor* loaded = output(*j.response, "loaded_final");
  const at::Tensor* loaded_has = output(*j.response, "loaded_final_has");
  if (!loaded || !loaded_has || loaded->numel() != final->numel()) return "no loaded_final (one value per key)" + raised(*j.response, "loaded");
  for (size_t key = 0; key < r.keys.size(); ++key) {
    const int64_t i = static_cast<int64_t>(key);
    const double a = f64(*final).reshape({-1})[i].item<double>(), b = f64(*loaded).reshape({-1})[i].item<double>();
    const bool same = (std::isnan(a) && std::isnan(b)) || a == b ||
                      (!std::isnan(a) && !std::isnan(b) && std::abs(a - b) <= 1e-12 * std::max(1.0, std::abs(a)));
    if (!same || has->reshape({-1})[i].item<int64_t>() != loaded_has->reshape({-1})[i].item<int64_t>())
      return {"after load, get_final_metrics()['" + r.keys[key] + "'] = " +
                  (std::isnan(b) ? std::string("None") : format_significant(b, 8)) + ", before save " +
                  (std::isnan(a) ? std::string("None") : format_significant(a, 8)),
              one_number("get_final_metrics()['" + r.keys[key] + "'] after load", "before save", {}, b, a,
                         1e-12 * std::max(1.0, std::abs(a)))};
  }
  return {};
}

enum class TrackerProperty { rows, final_metrics, save_csv, load_round_trip };

Check tracker_check(const Cases& cases, TrackerProperty property) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::tracker)) {
    const TrackerRows r = tracker_rows(j);
    Failure wrong;
    switch (property) {
      case TrackerProperty::rows:
        if (!output(*j.response, "rows_" + r.keys.front()) && !text_attribute(*j.response, "error_rows").empty())
          wrong = "update raised" + raised(*j.response, "rows");
        else wrong = rows_problem(j, r, "rows_");
        if (!wrong.empty() && !text_attribute(*j.response, "missing").empty())
          wrong = wrong + " (missing: " + text_attribute(*j.response, "missing") + ")";
        break;
      case TrackerProperty::final_metrics:
        wrong = output(*j.response, "final") ? final_problem(j, r, "") : Failure("get_final_metrics() gave nothing" + raised(*j.response, "final"));
        break;
      case TrackerProperty::save_csv:
        wrong = csv_problem(j, r);
        break;
      case TrackerProperty::load_round_trip:
        if (!output(*j.response, "saved") && !text_attribute(*j.response, "error_saved").empty()) {
          t.skip(j.request->name + ": save() raised, so nothing to load (save_csv reports it)");
          continue;
        }
        if (!output(*j.response, "loaded_final") && !text_attribute(*j.response, "error_loaded").empty())
          wrong = "load() of the saved file raised" + raised(*j.response, "loaded");
        else
          wrong = round_trip_problem(j, r);
        break;
    }
    if (!wrong.empty()) t.fail(j, wrong);
    else t.pass();
  }
  switch (property) {
    case TrackerProperty::rows: return t.result("one row per update; a key not logged is empty there");
    case TrackerProperty::final_metrics: return t.result("each key's last logged value");
    case TrackerProperty::save_csv: return t.result("CSV, one column per key, one line per update");
    case TrackerProperty::load_round_trip: return t.result("the same rows and final metrics after save and load");
  }
  return t.result("");
}

GoldenRecord tracker_case(const std::string& name, const std::vector<std::string>& keys, const std::vector<int64_t>& steps,
                          const std::vector<std::vector<double>>& values) {
  std::vector<double> flat;
  for (const auto& row : values) flat.insert(flat.end(), row.begin(), row.end());
  return make_record("builtin_tracker_" + name, {{"kind", std::string("tracker")}, {"codebook_size", int64_t{16}}, {"keys", joined(keys, ",")}},
                     {{"steps", at::tensor(steps, at::kLong)},
                      {"values", at::tensor(flat, at::kDouble).view({static_cast<int64_t>(values.size()), -1}).contiguous()}});
}

GoldenRecord metrics_case(const std::string& name, int64_t n, const at::Tensor& indices, const at::Tensor& codebook, at::Generator& gen) {
  const int64_t N = indices.size(0), k = codebook.size(1);
  const at::Tensor z = at::randn({N, k}, gen, at::kFloat);
  const at::Tensor z_q = z + 0.2 * at::randn({N, k}, gen, at::kFloat);
  return make_record("builtin_metrics_" + name, {{"kind", std::string("metrics")}, {"codebook_size", n}},
                     {{"indices", indices.contiguous()}, {"z", z}, {"z_q", z_q}, {"codebook", codebook.contiguous()}});
}

}  // namespace

// Cases that separate near-miss definitions: all assignments on one code; uniform usage; a code
// used once among 20,001 (usage 5e-5: dead by the 1e-4 threshold, though used); duplicated
// codewords (the baseline's "distance > 0" filter drops their pairs); 128 codewords (the baseline
// estimates the mean distance on 100 sampled ones).
std::vector<GoldenRecord> metrics_cases() {
  at::Generator gen = make_generator(41);
  const auto codebook = [&](int64_t n) { return at::randn({n, 4}, gen, at::kFloat); };
  std::vector<GoldenRecord> out;
  out.push_back(metrics_case("one_code", 8, at::full({100}, 3, at::kLong), codebook(8), gen));
  out.push_back(metrics_case("uniform_usage", 8, at::randperm(800, gen, at::kLong).remainder(8), codebook(8), gen));
  {
    at::Tensor indices = at::randint(1, 16, {20001}, gen, at::kLong);
    indices[12345] = 0;  // code 0: once among 20,001
    out.push_back(metrics_case("rare_code", 16, indices, codebook(16), gen));
  }
  {
    at::Tensor c = codebook(6);
    c[3] = c[0];  // two pairs of duplicated codewords
    c[5] = c[1];
    out.push_back(metrics_case("duplicated_codewords", 6, at::randint(0, 6, {300}, gen, at::kLong), c, gen));
  }
  {
    at::Tensor indices = at::randint(1, 8, {10000}, gen, at::kLong);
    indices[777] = 0;  // code 0: usage exactly 1e-4, at the threshold (dead is usage < 1e-4: not dead)
    out.push_back(metrics_case("code_at_threshold", 8, indices, codebook(8), gen));
  }
  out.push_back(metrics_case("codebook_of_128", 128, at::randint(0, 128, {1000}, gen, at::kLong), codebook(128), gen));
  // The logging path: every key at every step; and a key logged only sometimes (eval_D, not at the
  // last update) beside one first logged at a later step (late). Values with many digits: a CSV
  // that rounds them shows.
  const double nan = std::nan("");
  out.push_back(tracker_case("every_step", {"loss", "perplexity"}, {0, 10, 20},
                             {{4.123456789012345, 101.5}, {3.25, 120.0625}, {2.0000001, 131.75}}));
  out.push_back(tracker_case("late_and_sometimes", {"loss", "eval_D", "late"}, {0, 100, 200, 300},
                             {{4.5, 17.25, nan}, {3.75, nan, nan}, {3.5, 15.125, 0.3333333333333333}, {3.25, nan, 0.5}}));
  return out;
}

std::vector<CheckDefinition> metrics_checks() {
  std::vector<CheckDefinition> out;
  for (const MetricKey& key : metric_keys()) {
    const MetricKey* k = &key;
    out.push_back({key.id, std::string("MetricsTracker.") + key.method + "'s " + key.key + " = " + key.definition, std::nullopt,
                   {ConformCaseKind::metrics}, {"MetricsTracker", std::string("MetricsTracker.") + key.method},
                   [k](const Cases& c, Findings&) { return key_check(c, *k); }});
  }
  const std::vector<ConformCaseKind> tracker{ConformCaseKind::tracker};
  out.push_back({"metrics.tracker.rows", "MetricsTracker.update appends one row per call, empty where a key is not logged",
                 std::nullopt, tracker, {"MetricsTracker", "MetricsTracker.update"},
                 [](const Cases& c, Findings&) { return tracker_check(c, TrackerProperty::rows); }});
  out.push_back({"metrics.tracker.final_metrics", "get_final_metrics() gives each key's last logged value", std::nullopt, tracker,
                 {"MetricsTracker", "MetricsTracker.update", "MetricsTracker.get_final_metrics"},
                 [](const Cases& c, Findings&) { return tracker_check(c, TrackerProperty::final_metrics); }});
  out.push_back({"metrics.tracker.save_csv", "save(path) writes CSV, one column per key, one line per update", std::nullopt,
                 tracker, {"MetricsTracker", "MetricsTracker.update", "MetricsTracker.save"},
                 [](const Cases& c, Findings&) { return tracker_check(c, TrackerProperty::save_csv); }});
  out.push_back({"metrics.tracker.load_round_trip", "load(path) of a saved file gives the same rows and final metrics",
                 std::nullopt, tracker,
                 {"MetricsTracker", "MetricsTracker.update", "MetricsTracker.save", "MetricsTracker.load",
                  "MetricsTracker.get_final_metrics"},
                 [](const Cases& c, Findings&) { return tracker_check(c, TrackerProperty::load_round_trip); }});
  return out;
}

}  // namespace vqvae::conform
