// Area metrics: MetricsTracker's three methods on the `metrics` cases, against their definitions
// computed here in float64 (references.h), on cases chosen to separate near-miss definitions.
#include <vqvae/harness/conform_referee.h>

#include <vqvae/core/format.h>
#include <vqvae/core/runtime.h>
#include <vqvae/harness/references.h>

#include <ATen/ATen.h>

namespace vqvae::conform {
namespace {

// The reference's value of each key of kMetricKeys, in that order.
std::vector<double> values_of(const MetricsReference& r) {
  return {r.perplexity,         r.dead_codes,          r.min_usage,          r.max_usage,
          r.usage_std,          r.usage_entropy,       r.quantization_error, r.quant_error_per_dim,
          r.codebook_mean_norm, r.codebook_std_norm,   r.codebook_mean_distance};
}

// The keys (of kMetricKeys) one check judges, each with the definition it states.
struct MetricGroup {
  const char* name;
  std::vector<std::pair<const char*, const char*>> keys;  // key, definition
};

const std::vector<MetricGroup>& groups() {
  static const std::vector<MetricGroup> all{
      {"utilization metrics as defined (perplexity, dead codes, min/max/std usage, entropy)",
       {{"perplexity", "exp(entropy)"},
        {"dead_codes", "count of codes with usage < 1e-4"},
        {"min_usage", "min usage over the codes in use"},
        {"max_usage", "max usage"},
        {"usage_std", "unbiased std of the n usages"},
        {"usage_entropy", "−Σ usage·ln(usage + 1e-10)"}}},
      {"distortion metrics as defined (quantization_error, quant_error_per_dim)",
       {{"quantization_error", "mean (z − z_q)²"}, {"quant_error_per_dim", "the per-dimension means of (z − z_q)², averaged"}}},
      {"codebook statistics as defined (mean/std norm, mean distance over every pair)",
       {{"codebook_mean_norm", "mean ‖c_j‖"},
        {"codebook_std_norm", "unbiased std of ‖c_j‖"},
        {"codebook_mean_distance", "mean ‖c_i − c_j‖ over all pairs i < j"}}},
  };
  return all;
}

double reference_value(const MetricsReference& r, const std::string& key) {
  const std::vector<double> values = values_of(r);
  for (size_t i = 0; i < std::size(kMetricKeys); ++i)
    if (key == kMetricKeys[i]) return values[i];
  return 0;
}

// "" or what differs: each key of the group against the reference (1e-6 relative: the driver's
// arithmetic is float32).
std::string group_problem(const Judged& j, const MetricGroup& group, const MetricsReference& expected) {
  for (const auto& [key, definition] : group.keys) {
    const at::Tensor* got = output(*j.response, key);
    if (!got || got->numel() != 1) return std::string("no ") + key + (got ? " (not one number)" : "");
    const double value = f64(*got).reshape({1})[0].item<double>(), want = reference_value(expected, key);
    if (!(std::abs(value - want) <= 1e-9 + 1e-5 * std::abs(want)))
      return std::string(key) + " = " + format_significant(value, 6) + ", the definition (" + definition + ") gives " +
             format_significant(want, 6);
  }
  return "";
}

Check group_check(const Cases& cases, const MetricGroup& group) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::metrics)) {
    if (status_of(*j.response) == "missing") { t.skip("no MetricsTracker in this implementation (" + text_attribute(*j.response, "detail") + ")"); continue; }
    if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
    MetricsReference expected;
    utilization_reference(j.request->dataset("indices"), std::get<int64_t>(j.request->attribute("codebook_size")), expected);
    distortion_reference(j.request->dataset("z"), j.request->dataset("z_q"), expected);
    codebook_stats_reference(j.request->dataset("codebook"), expected);
    if (const std::string why = group_problem(j, group, expected); !why.empty()) t.fail(j.request->name + ": " + why);
    else t.pass();
  }
  return t.result(group.name, std::nullopt, "within 1e-5 relative of the float64 definition");
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
  return out;
}

void judge_metrics(const Cases& cases, Verdicts& out) {
  for (const MetricGroup& group : groups()) out.checks.push_back(group_check(cases, group));
}

}  // namespace vqvae::conform
