// Area init: the codebook initialisations on the `init` cases, each function apart. Exact where the definition is a
// function of the data and the global generator (the driver seeds torch right before the call;
// ours draws the same stream), and, because another implementation may draw in another order, a
// distributional check for each random init that needs no shared generator; k-means by what
// defines a k-means result (a Lloyd fixed point, a distortion close to ours).
#include <vqvae/conform/detail/referee.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/harness/detail/references.h>
#include <vqvae/initialization/codebook_init.h>

#include <ATen/ATen.h>

#include <cmath>
#include <functional>
#include <limits>

namespace vqvae::conform {
namespace {

// A distributional check allows 5 standard errors: a correct implementation fails it about once
// in 10⁶ runs (two-sided normal tail at 5σ: 5.7e-7).
constexpr double kStandardErrors = 5;

std::string function_of(const Judged& j) { return text_attribute(*j.request, "function"); }

// The initialisation latents every data-driven init of the built-in cases starts from: (1000, 8).
at::Tensor init_data() {
  const GaussianDataset data(GaussianDatasetOptions().d(16).k(8).n_samples(1000).seed(3));
  return data.get_initialization_batch(1000).contiguous();
}

at::Tensor init_U_k() { return GaussianDataset(GaussianDatasetOptions().d(16).k(8).n_samples(1000).seed(3)).U_k.contiguous(); }

double rd_rate(const Judged& j) {
  const double n = static_cast<double>(int_attribute(*j.request, "codebook_size", 1));
  const double k = static_cast<double>(int_attribute(*j.request, "dim", 1));
  return is_defaults_call(j) ? std::log2(n) / k : real_attribute(*j.request, "rate", 0);
}

const at::Tensor* codebook_of(const Judged& j, Tally& t) {
  const at::Tensor* c = output(*j.response, "codebook");
  const int64_t n = int_attribute(*j.request, "codebook_size", 0), k = int_attribute(*j.request, "dim", 0);
  if (!c) { t.fail(j, "no codebook"); return nullptr; }
  if (c->dim() != 2 || c->size(0) != n || c->size(1) != k) {
    t.fail(j, {"codebook " + shape_of(c) + ", expected (n, k) = (" + std::to_string(n) + ", " + std::to_string(k) + ")",
               shapes(c, {n, k}, "codebook", "(n, k)")});
    return nullptr;
  }
  return c;
}

// The codebook a case returned, or null once the tally knows why not (usable(): a part the case
// needs is absent, or the case failed; or the codebook is wrongly shaped).
const at::Tensor* usable_codebook(const Judged& j, Tally& t) { return usable(j, t) ? codebook_of(j, t) : nullptr; }

// judge(case, its codebook) for each init case of `function` with a usable codebook (the tally
// knows why of the others).
void for_each_usable_codebook(const Cases& cases, const std::string& function, Tally& t,
                              const std::function<void(const Judged&, const at::Tensor&)>& judge) {
  for (const Judged& j : cases.of(ConformCaseKind::init))
    if (function_of(j) == function)
      if (const at::Tensor* c = usable_codebook(j, t)) judge(j, *c);
}

// Exact under the seed: the same function of the same draws as ours.
// `explicit_only`: the cases that pass every argument (a changed default is the defaults checks'
// question).
Check same_draws(const Cases& cases, const std::string& function, bool explicit_only, const std::string& what) {
  Tally t;
  double worst = 0;
  for (const Judged& j : cases.of(ConformCaseKind::init)) {
    if (function_of(j) != function || (explicit_only && is_defaults_call(j))) continue;
    const at::Tensor* c = usable_codebook(j, t);
    if (!c) continue;
    const at::Tensor expected = *output(cases.ours(j), "codebook");
    const std::string seeded = "ours under torch.manual_seed(" + std::to_string(int_attribute(*j.request, "seed", 0)) + ")";
    // rd_gaussian's scale is a float32 variance in the baseline, float64 here: 1e-5 relative.
    double error = 0;
    if (const auto numbers = compare(*c, expected, 1e-7, 1e-5, "codebook", seeded, &error))
      t.fail(j, {"codebook differs from " + seeded + " by up to " + format_significant(numbers->max_difference, 3) +
                     " (max |ours| " + format_significant(max_abs(expected), 3) + ")" +
                     (is_defaults_call(j) ? " (called with the defaults)" : ""),
                 numbers});
    else {
      t.pass();
      worst = std::max(worst, error);
    }
  }
  t.measured = "max |Δ| " + format_significant(worst, 3);
  return t.result(what);
}

Check rd_variance(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::init)) {
    if (function_of(j) != "compute_rd_variance") continue;
    if (!usable(j, t)) continue;
    const at::Tensor data = f64(j.request->dataset("data"));
    const double rate = real_attribute(*j.request, "rate", 0);
    const double variance = data.var({0}, /*unbiased=*/true, false).mean().item<double>();
    const double expected = variance * (1.0 - std::pow(2.0, -2.0 * rate));
    const at::Tensor* got = output(*j.response, "variance");
    if (!got || got->numel() != 1) {
      t.fail(j, {"variance " + shape_of(got) + ", expected one number", shapes(got, {}, "variance", "one number")});
      continue;
    }
    const double value = f64(*got).reshape({1})[0].item<double>();
    if (const auto numbers = compare(value, expected, 1e-5 * std::abs(expected), "variance",
                                     "mean per-dimension variance · (1 − 2^(−2R))"))
      t.fail(j, {"compute_rd_variance = " + format_significant(value, 6) + ", expected mean per-dimension variance " +
                     format_significant(variance, 6) + " · (1 − 2^(−2·" + format_significant(rate, 4) + ")) = " +
                     format_significant(expected, 6),
                 numbers});
    else t.pass();
  }
  return t.result("recomputed in float64");
}

// Mean and variance of a sample of M values against those of the distribution, within 5 standard
// errors: the mean's is sqrt(var/M), the sample variance's sqrt((μ4 − var²)/M) (μ4 the fourth
// central moment: 3 var² for a normal, 9/5 var² for a uniform).
Failure moments_problem(const at::Tensor& values, double mean, double variance, double kurtosis) {
  const double M = static_cast<double>(values.numel());
  const double m = values.mean().item<double>(), v = values.var().item<double>();
  const double mean_error = std::sqrt(variance / M), variance_error = variance * std::sqrt((kurtosis - 1) / M);
  if (const auto numbers = compare(m, mean, kStandardErrors * mean_error, "the codebook's mean", "the distribution's mean"))
    return {"mean " + format_significant(m, 4) + ", expected " + format_significant(mean, 4) + " ± " +
                format_significant(kStandardErrors * mean_error, 2),
            numbers};
  if (const auto numbers = compare(v, variance, kStandardErrors * variance_error, "the codebook's variance",
                                   "the distribution's variance"))
    return {"variance " + format_significant(v, 4) + ", expected " + format_significant(variance, 4) + " ± " +
                format_significant(kStandardErrors * variance_error, 2),
            numbers};
  return {};
}

Check distribution(const Cases& cases, const std::string& function, const std::string& what) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::init)) {
    if (function_of(j) != function || int_attribute(*j.request, "codebook_size", 0) < 1024) continue;
    const at::Tensor* c = usable_codebook(j, t);
    if (!c) continue;
    const at::Tensor values = f64(*c);
    const double n = static_cast<double>(c->size(0));
    Failure wrong;
    if (function == "uniform_init") {
      const double low = values.min().item<double>(), high = values.max().item<double>();
      if (low < -1.0 / n || high >= 1.0 / n)
        wrong = {"values in [" + format_significant(low, 4) + ", " + format_significant(high, 4) + "], outside [−1/n, 1/n) = [" +
                     format_significant(-1.0 / n, 4) + ", " + format_significant(1.0 / n, 4) + ")",
                 low < -1.0 / n ? compare(low, -1.0 / n, 0, "the codebook's smallest value", "−1/n")
                                : compare(high, 1.0 / n, 0, "the codebook's largest value", "1/n (excluded)")};
      else wrong = moments_problem(values.flatten(), 0.0, 1.0 / (3.0 * n * n), 1.8);
    } else if (function == "random_normal_init") {
      const double std = is_defaults_call(j) ? 1.0 : real_attribute(*j.request, "std", 1.0);
      wrong = moments_problem(values.flatten(), 0.0, std * std, 3.0);
      if (!wrong.empty()) wrong = wrong + " (N(0, " + format_significant(std, 3) + "²)" + (is_defaults_call(j) ? ", std = 1 by default)" : ")");
    } else {  // rd_gaussian_init
      const at::Tensor data = f64(j.request->dataset("data"));
      const double rate = rd_rate(j);
      const double variance = data.var({0}, true, false).mean().item<double>() * (1.0 - std::pow(2.0, -2.0 * rate));
      wrong = moments_problem(values.flatten(), 0.0, variance, 3.0);
      if (!wrong.empty())
        wrong = wrong + " (mean data variance · (1 − 2^(−2R)), R = log2(n)/k = " + format_significant(rate, 4) + ")";
      // Each dimension alone, too (an anisotropic codebook can have the right pooled variance).
      for (int64_t dim = 0; wrong.empty() && dim < values.size(1); ++dim)
        if (Failure why = moments_problem(values.select(1, dim), 0.0, variance, 3.0); !why.empty())
          wrong = "dimension " + std::to_string(dim) + ": " + why;
    }
    if (!wrong.empty()) t.fail(j, std::to_string(c->size(0)) + " codewords: " + wrong);
    else t.pass();
  }
  return t.result(what);
}

// A call that leaves out the arguments with defaults must draw what the call giving the baseline's
// default values does (the driver makes both under the same seed): a changed default is a changed run.
Check defaults_are_the_baselines(const Cases& cases, const std::string& function, const std::string& what) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::init)) {
    if (!is_defaults_call(j) || function_of(j) != function) continue;
    if (!usable(j, t)) continue;
    const at::Tensor* with_defaults = output(*j.response, "codebook");
    const at::Tensor* spelled_out = output(*j.response, "codebook_given_defaults");
    if (!with_defaults || !spelled_out) { t.fail(j, "no codebook or codebook_given_defaults"); continue; }
    std::string values;
    for (const char* name : {"std", "rate", "n_init", "max_iter", "random_state", "init_method"})
      if (has_attribute(*j.request, name)) {
        const GoldenValue& v = j.request->attribute(name);
        values += (values.empty() ? "" : ", ") + std::string(name) + " = " +
                  (std::holds_alternative<std::string>(v) ? std::get<std::string>(v)
                   : std::holds_alternative<int64_t>(v) ? std::to_string(std::get<int64_t>(v))
                                                         : format_significant(std::get<double>(v), 6));
      }
    if (const auto numbers = compare(*with_defaults, *spelled_out, 0, 0, "codebook", "codebook_given_defaults"))
      t.fail(j, {function_of(j) + " with its defaults differs from the call giving the baseline's defaults (" +
                     (values.empty() ? "uniform_init" : values) + ") by up to " +
                     format_significant(numbers->max_difference, 3) + ": a default changed",
                 numbers});
    else t.pass();
  }
  return t.result(what);
}

Check kmeans_fixed_point(const Cases& cases) {
  Tally t;
  double worst = 0;
  for_each_usable_codebook(cases, "kmeans_init", t, [&](const Judged& j, const at::Tensor& c) {
    if (c.scalar_type() != at::kFloat) { t.fail(j, "codebook is " + std::string(c10::toString(c.scalar_type())) + ", expected float32"); return; }
    const at::Tensor data = f64(j.request->dataset("data")), centres = f64(c);
    const at::Tensor assigned = nearest_codeword_reference(data, centres);
    // Every centre with points is their mean (within 1 % of the data's spread; scikit-learn stops
    // at a centre shift of 1e-4 · the mean variance).
    const double spread = std::sqrt(data.var({0}, true, false).mean().item<double>());
    double error = 0;
    int64_t bad = -1;
    for (int64_t i = 0; i < centres.size(0); ++i) {
      const at::Tensor mine = (assigned == i).nonzero().flatten();
      if (mine.numel() == 0) continue;
      const double shift = (data.index_select(0, mine).mean(0) - centres[i]).norm().item<double>();
      if (shift > error) { error = shift; bad = i; }
    }
    if (auto numbers = compare(error, 0, 0.01 * spread, "distance from a centre to its points' mean", "0 (a Lloyd fixed point)")) {
      numbers->element = {bad};
      t.fail(j, {"centre " + std::to_string(bad) + " is " + format_significant(error, 3) +
                     " from the mean of the points assigned to it (allowed 1 % of the data's spread, " +
                     format_significant(0.01 * spread, 3) + ")",
                 numbers});
    }
    else { t.pass(); worst = std::max(worst, error / spread); }
  });
  t.measured = "max centre-to-mean distance " + format_significant(worst, 3) + " of the data's spread";
  return t.result("(n, k) float32, centres at their cluster means");
}

Check kmeans_distortion(const Cases& cases) {
  Tally t;
  double worst = 0;
  for_each_usable_codebook(cases, "kmeans_init", t, [&](const Judged& j, const at::Tensor& c) {
    const at::Tensor& data = j.request->dataset("data");
    const double theirs = mean_squared_distortion(data, c.to(at::kFloat));
    const double mine = mean_squared_distortion(data, output(cases.ours(j), "codebook")->to(at::kFloat));
    const double ratio = mine > 0 ? theirs / mine : (theirs <= 1e-12 ? 1.0 : std::numeric_limits<double>::infinity());
    if (!(ratio <= 1.05))
      t.fail(j, {"distortion on the initialisation batch " + format_significant(theirs, 4) + ", " +
                     format_significant(100 * (ratio - 1), 3) + " % above ours (" + format_significant(mine, 4) +
                     ") at the same n_init (allowed 5 %)",
                 one_number("distortion on the initialisation batch", "ours at the same n_init", {}, theirs, mine,
                            0.05 * mine)});
    else { t.pass(); worst = std::max(worst, ratio); }
  });
  t.measured = "worst ratio to ours " + format_significant(worst, 4);
  return t.result("distortion ≤ 1.05 · ours");
}

GoldenRecord init_case(const std::string& name, const std::string& function, int64_t n, int64_t k, int64_t seed,
                       const std::string& call, std::vector<Attribute> extra = {},
                       std::vector<std::pair<std::string, at::Tensor>> datasets = {}) {
  std::vector<Attribute> attributes{{"kind", std::string("init")}, {"function", function}, {"codebook_size", n},
                                    {"dim", k}, {"seed", seed}, {"call", call}};
  for (auto& a : extra) attributes.push_back(std::move(a));
  return make_record("builtin_init_" + name, std::move(attributes), std::move(datasets));
}

}  // namespace

std::vector<GoldenRecord> init_cases() {
  const at::Tensor data = init_data();  // (1000, 8)
  const int64_t k = data.size(1);
  const double default_rate_32 = std::log2(32.0) / static_cast<double>(k);
  return {
      init_case("uniform", "uniform_init", 32, k, 101, "explicit"),
      init_case("uniform_large", "uniform_init", 4096, k, 102, "explicit"),
      init_case("random_normal", "random_normal_init", 32, k, 103, "explicit", {{"std", 0.5}}),
      init_case("random_normal_large", "random_normal_init", 4096, k, 104, "explicit", {{"std", 1.0}}),
      init_case("random_normal_defaults", "random_normal_init", 32, k, 116, "defaults", {{"std", 1.0}}),
      init_case("compute_rd_variance", "compute_rd_variance", 32, k, 105, "explicit", {{"rate", 0.75}}, {{"data", data}}),
      init_case("rd_gaussian_defaults", "rd_gaussian_init", 32, k, 106, "defaults", {{"rate", default_rate_32}}, {{"data", data}}),
      init_case("rd_gaussian", "rd_gaussian_init", 32, k, 107, "explicit", {{"rate", 1.0}}, {{"data", data}}),
      init_case("rd_gaussian_large", "rd_gaussian_init", 4096, k, 108, "explicit",
                {{"rate", std::log2(4096.0) / static_cast<double>(k)}}, {{"data", data}}),
      init_case("kmeans", "kmeans_init", 16, k, 109, "explicit",
                {{"n_init", int64_t{3}}, {"max_iter", int64_t{50}}, {"random_state", int64_t{0}}}, {{"data", data}}),
      // 30 codewords: on this data an 11th k-means++ restart finds a better partition than the
      // first ten (scikit-learn's KMeans, random_state 42), so a changed n_init default shows.
      init_case("kmeans_defaults", "kmeans_init", 30, k, 110, "defaults",
                {{"n_init", int64_t{10}}, {"max_iter", int64_t{100}}, {"random_state", int64_t{42}}}, {{"data", data}}),
      // As many codewords as points: each point its own centre (len(data) >= n holds with equality).
      init_case("kmeans_one_point_each", "kmeans_init", 16, k, 115, "explicit",
                {{"n_init", int64_t{1}}, {"max_iter", int64_t{10}}, {"random_state", int64_t{0}}},
                {{"data", data.slice(0, 0, 16).contiguous()}}),
      init_case("quantizer_default", "quantizer_default", 32, k, 111, "defaults"),
      init_case("legacy_uniform", "legacy_init", 32, k, 112, "explicit", {{"init_method", std::string("uniform")}},
                {{"data", data}, {"U_k", init_U_k()}}),
      init_case("legacy_rd_gaussian", "legacy_init", 32, k, 113, "explicit", {{"init_method", std::string("rd_gaussian")}},
                {{"data", data}, {"U_k", init_U_k()}}),
      init_case("legacy_defaults", "legacy_init", 32, k, 114, "defaults", {{"init_method", std::string("uniform")}},
                {{"data", data}, {"U_k", init_U_k()}}),
  };
}

std::vector<CheckDefinition> init_checks() {
  const std::vector<ConformCaseKind> kinds{ConformCaseKind::init};
  const auto define = [&](std::string id, std::string title, std::vector<std::string> needs,
                          std::function<Check(const Cases&)> judge) {
    return CheckDefinition{std::move(id), std::move(title), std::nullopt, kinds, std::move(needs),
                           [judge](const Cases& c, Findings&) { return judge(c); }};
  };
  return {
      define("init.uniform.same_draws", "uniform_init(n, k) = ours under the same seed", {"uniform_init"},
             [](const Cases& c) { return same_draws(c, "uniform_init", true, "rand(n, k)·(2/n) − 1/n, the same draws"); }),
      define("init.uniform.distribution", "uniform_init: uniform on [−1/n, 1/n) (range, mean, variance)", {"uniform_init"},
             [](const Cases& c) { return distribution(c, "uniform_init", "4,096 codewords within 5 standard errors"); }),
      define("init.random_normal.same_draws", "random_normal_init(n, k, std) = ours under the same seed", {"random_normal_init"},
             [](const Cases& c) { return same_draws(c, "random_normal_init", true, "randn(n, k)·std, the same draws"); }),
      define("init.random_normal.distribution", "random_normal_init: N(0, std²) (mean, variance)", {"random_normal_init"},
             [](const Cases& c) { return distribution(c, "random_normal_init", "4,096 codewords within 5 standard errors"); }),
      define("init.random_normal.default_std", "random_normal_init without std draws what std = 1 draws", {"random_normal_init"},
             [](const Cases& c) { return defaults_are_the_baselines(c, "random_normal_init", "std = 1 by default"); }),
      define("init.rd_variance.value", "compute_rd_variance(data, rate) = mean unbiased per-dimension variance · (1 − 2^(−2·rate))",
             {"compute_rd_variance"}, [](const Cases& c) { return rd_variance(c); }),
      define("init.rd_gaussian.same_draws", "rd_gaussian_init(n, k, data, rate) = ours under the same seed", {"rd_gaussian_init"},
             [](const Cases& c) {
               return same_draws(c, "rd_gaussian_init", true, "randn(n, k)·sqrt(compute_rd_variance(data, rate)), the same draws");
             }),
      define("init.rd_gaussian.distribution", "rd_gaussian_init: N(0, σ²(1 − 2^(−2R))·I), R = log2(n)/k (mean, variance per dimension)",
             {"rd_gaussian_init"},
             [](const Cases& c) { return distribution(c, "rd_gaussian_init", "4,096 codewords within 5 standard errors"); }),
      define("init.rd_gaussian.default_rate", "rd_gaussian_init without rate draws what rate = log2(n)/k draws", {"rd_gaussian_init"},
             [](const Cases& c) { return defaults_are_the_baselines(c, "rd_gaussian_init", "rate = log2(n)/k by default"); }),
      define("init.kmeans.fixed_point", "kmeans_init: every centre is the mean of its points (a Lloyd fixed point)", {"kmeans_init"},
             [](const Cases& c) { return kmeans_fixed_point(c); }),
      define("init.kmeans.distortion", "kmeans_init: distortion at most 5 % above ours at the same n_init", {"kmeans_init"},
             [](const Cases& c) { return kmeans_distortion(c); }),
      define("init.kmeans.defaults", "kmeans_init without options draws what n_init = 10, max_iter = 100, random_state = 42 draws",
             {"kmeans_init"},
             [](const Cases& c) {
               return defaults_are_the_baselines(c, "kmeans_init", "n_init = 10, max_iter = 100, random_state = 42 by default");
             }),
      define("init.quantizer_default.uniform", "a quantizer without init_codebook starts at uniform_init",
             {"VectorQuantizer", "uniform_init"},
             [](const Cases& c) {
               return same_draws(c, "quantizer_default", false, "VectorQuantizer(k, n).codebook = uniform_init(n, k) under the seed");
             }),
      define("init.legacy.same_draws", "LinearGaussianVQVAE(…, init_method) starts at that init", {"LinearGaussianVQVAE"},
             [](const Cases& c) { return same_draws(c, "legacy_init", true, "its quantizer's codebook = ours under the seed"); }),
      define("init.legacy.default_method", "LinearGaussianVQVAE without init_method starts at uniform_init", {"LinearGaussianVQVAE"},
             [](const Cases& c) { return defaults_are_the_baselines(c, "legacy_init", "init_method = uniform by default"); }),
  };
}

}  // namespace vqvae::conform
