// `vqvae conform`, the run: the checks the options select, the request they read (the surface,
// the golden suite's cases with their stored expectations, the areas' built-in cases and the
// configuration's), one exchange with the driver (driver.cpp), and each check judged through the
// areas of detail/referee.h (one file each) or blocked by a part the implementation lacks.
#include <vqvae/conform/conform.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/conform/detail/cases.h>
#include <vqvae/conform/detail/driver.h>
#include <vqvae/conform/detail/referee.h>
#include <vqvae/study/factory.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>

namespace vqvae {
namespace {

using Clock = std::chrono::steady_clock;

bool is_expectation(const std::string& dataset) { return dataset.rfind("expected_", 0) == 0; }

// The configuration the config_* cases run at, one line.
std::string config_summary(const RunConfig& c) {
  return "d = " + std::to_string(c.d) + ", k = " + std::to_string(c.k) + ", n = " + std::to_string(c.n) + ", σ = " +
         format_significant(c.sigma_noise, 3) + ", seed " + std::to_string(c.seed) + "; " + std::to_string(c.codebook_size) +
         " codewords, " + choice_text(c.quantizer) + ", init " + choice_text(c.init) + " on " + std::to_string(init_rows(c)) +
         " rows; encoder " + to_string(c.encoder) + ", decoder " + to_string(c.decoder) + "; " + to_string(c.optimizer) + " lr " +
         format_significant(c.lr, 3) + ", β " + format_significant(c.beta, 3) + ", batch " + std::to_string(c.batch_size);
}

// The checks `options` selects, in report order: those of the areas named (all when none), or the
// ids named; with a selection, the surface checks of the parts they need too. Throws
// InvalidArgument for an unknown area or id.
std::vector<const conform::CheckDefinition*> selected_checks(const ConformOptions& options) {
  const auto& all = conform::check_definitions();
  for (const std::string& name : options.areas)
    if (std::none_of(conform::areas().begin(), conform::areas().end(), [&](const conform::Area& a) { return name == a.name; }))
      throw_invalid_argument(param("area"), "must be among " + joined(conform_area_names()) + ", got '" + name + "'");
  for (const std::string& id : options.only)
    if (!conform::is_check_id(id))
      throw_invalid_argument(param("only"), "no check has the id '" + id + "' (vqvae conform --list-checks lists them)");
  std::set<std::string> chosen, parts;
  for (const conform::CheckDefinition& d : all) {
    const bool in_area = options.areas.empty() ||
                         std::find(options.areas.begin(), options.areas.end(), conform::area_of(d.id)) != options.areas.end();
    const bool named = options.only.empty() || std::find(options.only.begin(), options.only.end(), d.id) != options.only.end();
    if (in_area && named) {
      chosen.insert(d.id);
      parts.insert(d.needs.begin(), d.needs.end());
    }
  }
  if (!options.areas.empty() || !options.only.empty())
    for (const std::string& part : parts) chosen.insert("surface." + part);
  std::vector<const conform::CheckDefinition*> out;
  for (const conform::CheckDefinition& d : all)
    if (chosen.count(d.id)) out.push_back(&d);
  return out;
}

bool reads(const std::vector<const conform::CheckDefinition*>& checks, const GoldenRecord& request) {
  const ConformCaseKind kind = case_kind(request);
  return std::any_of(checks.begin(), checks.end(), [&](const conform::CheckDefinition* d) {
    return std::find(d->kinds.begin(), d->kinds.end(), kind) != d->kinds.end();
  });
}

// The parts the surface case says are absent (none when the driver did not answer it: then every
// check runs, and the surface checks say what went wrong).
std::set<std::string> absent_parts(const conform::Cases& cases) {
  std::set<std::string> absent;
  for (const conform::Judged& j : cases.of(ConformCaseKind::surface)) {
    const at::Tensor* present = conform::status_of(*j.response) == "ok" ? conform::output(*j.response, "present") : nullptr;
    const auto& parts = conform::surface_parts();
    if (!present || present->numel() != static_cast<int64_t>(parts.size())) continue;
    const at::Tensor flags = present->to(at::kLong).reshape({-1});
    for (size_t i = 0; i < parts.size(); ++i)
      if (flags[static_cast<int64_t>(i)].item<int64_t>() == 0) absent.insert(parts[i].name);
  }
  return absent;
}

// A check whose needed part is absent: skipped (a required part: its surface check fails, once) or
// not applicable (an optional one), with the part's name.
std::optional<Check> blocked(const conform::CheckDefinition& d, const std::set<std::string>& absent) {
  for (const conform::SurfacePart& part : conform::surface_parts()) {
    if (!absent.count(part.name) || std::find(d.needs.begin(), d.needs.end(), part.name) == d.needs.end()) continue;
    conform::Tally t;
    conform::absent_part(part, t);
    return t.result("");
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> conform_area_names() {
  std::vector<std::string> out;
  for (const conform::Area& area : conform::areas()) out.push_back(area.name);
  return out;
}

std::vector<ConformCheckInfo> conform_checks() {
  std::vector<ConformCheckInfo> out;
  for (const conform::CheckDefinition& d : conform::check_definitions())
    out.push_back({d.id, conform::area_of(d.id), d.title, d.fix});
  return out;
}

ConformReport run_conform(const RunConfig& config, const ConformOptions& options) {
  const auto start = Clock::now();
  check_config(config);
  if (options.driver.empty()) throw_invalid_argument(param("driver"), "must name a command, got ''");
  if (!(options.timeout_seconds > 0)) throw_invalid_argument(param("timeout"), "must be > 0, got " + format_significant(options.timeout_seconds));
  const std::vector<const conform::CheckDefinition*> selected = selected_checks(options);
  for (const auto& entry : options.expectations)
    if (!conform::is_check_id(entry.first)) throw_invalid_argument(param("expect"), "no check has the id '" + entry.first + "'");

  // Cases: the surface, the golden suite's (inputs and stored expectations), the areas' built-in
  // ones and the configuration's (expectations computed by the library now), those the selected
  // checks read.
  ConformReport report;
  report.strict = options.strict;
  std::vector<GoldenRecord> requests{conform::surface_case()};
  std::map<std::string, std::map<std::string, at::Tensor>> expected;
  if (!options.goldens_file.empty()) {
    for (const std::string& name : list_golden_records(options.goldens_file)) {
      GoldenRecord golden = read_golden_record(options.goldens_file, conform_golden_schema(), name);
      if (!reads(selected, golden)) continue;
      GoldenRecord request = golden;
      request.datasets.clear();
      for (const auto& [dataset, tensor] : golden.datasets) {
        if (is_expectation(dataset)) expected[name][dataset.substr(9)] = tensor;
        else request.datasets.emplace_back(dataset, tensor);
      }
      requests.push_back(std::move(request));
    }
  }
  for (const conform::Area& area : conform::areas())
    if (area.builtin_cases)
      for (GoldenRecord& c : area.builtin_cases())
        if (reads(selected, c)) requests.push_back(std::move(c));
  std::vector<std::string> configuration_cases;
  for (GoldenRecord& c : conform_config_cases(config, &configuration_cases)) {
    if (!reads(selected, c)) continue;
    expected[c.name] = conform::library_expectations(c);
    requests.push_back(std::move(c));
  }
  report.configuration = config_summary(config);
  report.configuration_cases = std::move(configuration_cases);

  // The driver, on the request; its response.
  report.driver_command = options.driver;
  report.cases = requests.size();
  const conform::DriverAnswer answer = conform::ask_driver(options, requests);
  report.driver_name = answer.driver_name;
  report.driver_seconds = answer.seconds;
  std::vector<conform::Judged> judged;
  for (const GoldenRecord& r : requests) judged.push_back({&r, &answer.responses.at(r.name), expected[r.name]});

  // The checks: each selected one judged, or blocked by a part the implementation lacks.
  const conform::Cases cases(std::move(judged));
  const std::set<std::string> absent = absent_parts(cases);
  conform::Findings findings;
  for (const conform::CheckDefinition* d : selected) {
    const auto check_start = Clock::now();
    const std::optional<Check> block = blocked(*d, absent);
    Check c = block ? *block : d->judge(cases, findings);
    c.id = d->id;
    c.name = d->title;
    c.area = conform::area_of(d->id);
    c.fix = d->fix;
    if (const auto found = options.expectations.find(d->id); found != options.expectations.end()) c.expected_failure = found->second;
    c.seconds = std::chrono::duration<double>(Clock::now() - check_start).count();
    report.checks.push_back(std::move(c));
  }
  report.estimators = std::move(findings.estimators);
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

}  // namespace vqvae
