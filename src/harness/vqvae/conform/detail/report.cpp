// The report of `vqvae conform`: the two verdicts (the documented fixes, everything else), and the
// run as a table grouped by area, as JSON and as JUnit XML (harness/check_report.h prints the rows).
#include <vqvae/conform/conform.h>

#include <vqvae/core/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <sstream>

namespace vqvae {

bool ConformReport::passed() const {
  return std::none_of(checks.begin(), checks.end(), [&](const Check& c) { return fails_run(c, strict); });
}

std::vector<Check> ConformReport::fix_checks() const {
  std::vector<Check> out;
  for (const Check& c : checks)
    if (c.fix) out.push_back(c);
  return out;
}

std::vector<Check> ConformReport::other_checks() const {
  std::vector<Check> out;
  for (const Check& c : checks)
    if (!c.fix) out.push_back(c);
  return out;
}

std::string format_conform_table(const ConformReport& report, bool colour, bool verbose) {
  std::ostringstream out;
  out << "conform: " << report.cases << " cases run by " << report.driver_name << " (" << report.driver_command << ")\n"
      << "configuration: " << report.configuration << "\n";
  for (const std::string& line : report.configuration_cases) out << "  " << line << "\n";
  // Checks not applicable: counted under their area, and one line per absent optional part (its
  // reason), not one per check (verbose: a row each).
  std::map<std::string, std::vector<std::string>> inapplicable;  // reason -> ids
  for (const Check& c : report.checks)
    if (c.status == Check::Status::not_applicable && !verbose) inapplicable[c.detail].push_back(c.id);
  CheckTableStyle style;
  style.colour = colour;
  style.fix_column = true;
  style.by_area = true;
  style.only_problems = !verbose;
  style.every_case = verbose;  // -v: every failing case of a check, not only the first
  style.strict = report.strict;
  out << format_check_rows(report.checks, style);
  for (const auto& [reason, ids] : inapplicable)
    out << "n/a  " << reason << ": " << ids.size() << (ids.size() == 1 ? " check: " : " checks: ") << joined(ids) << "\n";
  out << "estimators:";
  for (const auto& [cls, identity] : report.estimators) out << " " << cls << " = " << identity << ";";
  out << "\n"
      << format_verdict("documented fixes", report.fix_checks(), colour, report.strict) << "\n"
      << format_verdict("everything else ", report.other_checks(), colour, report.strict) << "\n"
      << format_verdict("conform", report.checks, colour, report.strict) << " in " << format_fixed(report.seconds, 1) << " s (driver "
      << format_fixed(report.driver_seconds, 1) << " s)\n";
  return out.str();
}

std::string format_conform_json(const ConformReport& report) {
  nlohmann::ordered_json j;
  j["driver"] = report.driver_command;
  j["driver_name"] = report.driver_name;
  j["cases"] = report.cases;
  j["configuration"] = report.configuration;
  j["configuration_cases"] = report.configuration_cases;
  j["checks"] = nlohmann::ordered_json::parse(format_checks_json(report.checks));
  j["estimators"] = nlohmann::ordered_json::object();
  for (const auto& [cls, identity] : report.estimators) j["estimators"][cls] = identity;
  j["passed"] = count(report.checks, Outcome::passed);
  j["failed"] = count(report.checks, Outcome::failed);
  j["expected_failures"] = count(report.checks, Outcome::expected_failure);
  j["fixed"] = count(report.checks, Outcome::fixed);
  j["skipped"] = count(report.checks, Outcome::skipped);
  j["not_applicable"] = count(report.checks, Outcome::not_applicable);
  // *_ok: nothing failed (true when nothing ran); *_verdict tells "not_run" apart.
  const Verdict fixes = verdict(report.fix_checks(), report.strict);
  const Verdict others = verdict(report.other_checks(), report.strict);
  j["fixes_ok"] = fixes != Verdict::failed;
  j["others_ok"] = others != Verdict::failed;
  j["fixes_verdict"] = to_string(fixes);
  j["others_verdict"] = to_string(others);
  j["strict"] = report.strict;
  j["driver_seconds"] = report.driver_seconds;
  j["seconds"] = report.seconds;
  j["ok"] = report.passed();
  return j.dump(2);
}

std::string format_conform_junit(const ConformReport& report) {
  return format_checks_junit("conform", report.checks, report.seconds, report.strict);
}

}  // namespace vqvae