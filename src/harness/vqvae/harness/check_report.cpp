#include <vqvae/harness/check_report.h>

#include <vqvae/core/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <sstream>

namespace vqvae {
namespace {

std::string xml_escaped(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows no control characters but tab, newline and carriage return.
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') out += ' ';
        else out += ch;
    }
  }
  return out;
}

// NaN and ±inf come out as null (nlohmann's dump; JSON has no such numbers), as in the study's JSON.
nlohmann::ordered_json discrepancy_json(const Discrepancy& d) {
  nlohmann::ordered_json j;
  j["quantity"] = d.quantity;
  j["ours_is"] = d.ours_is;
  j["theirs_shape"] = d.theirs_shape;
  j["ours_shape"] = d.ours_shape;
  if (d.shape_mismatch()) return j;
  j["element"] = d.element;
  j["theirs"] = d.theirs;
  j["ours"] = d.ours;
  j["difference"] = d.difference;
  j["tolerance"] = d.tolerance;
  j["max_difference"] = d.max_difference;
  j["outside"] = d.outside;
  j["elements"] = d.elements;
  return j;
}

}  // namespace

const char* to_string(Check::Status status) {
  switch (status) {
    case Check::Status::passed: return "passed";
    case Check::Status::failed: return "failed";
    case Check::Status::skipped: return "skipped";
    case Check::Status::not_applicable: return "not_applicable";
  }
  return "?";
}

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::passed: return "passed";
    case Outcome::failed: return "failed";
    case Outcome::expected_failure: return "expected_failure";
    case Outcome::fixed: return "fixed";
    case Outcome::skipped: return "skipped";
    case Outcome::not_applicable: return "not_applicable";
  }
  return "?";
}

Outcome outcome(const Check& check) {
  const bool expected = !check.expected_failure.empty();
  switch (check.status) {
    case Check::Status::failed: return expected ? Outcome::expected_failure : Outcome::failed;
    case Check::Status::passed: return expected ? Outcome::fixed : Outcome::passed;
    case Check::Status::skipped: return Outcome::skipped;
    case Check::Status::not_applicable: return Outcome::not_applicable;
  }
  return Outcome::failed;
}

bool fails_run(const Check& check, bool strict) {
  const Outcome o = outcome(check);
  return o == Outcome::failed || (strict && o == Outcome::fixed);
}

int count(const std::vector<Check>& checks, Check::Status status) {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(), [&](const Check& c) { return c.status == status; }));
}

int count(const std::vector<Check>& checks, Outcome wanted) {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(), [&](const Check& c) { return outcome(c) == wanted; }));
}

namespace {

// ", 2 expected failures, 1 fixed, 3 not applicable": the categories beyond passed/failed/skipped,
// where there are any.
std::string extra_counts(const std::vector<Check>& checks) {
  std::string out;
  if (const int n = count(checks, Outcome::expected_failure)) out += ", " + std::to_string(n) + " expected failure" + (n == 1 ? "" : "s");
  if (const int n = count(checks, Outcome::fixed)) out += ", " + std::to_string(n) + " fixed";
  if (const int n = count(checks, Outcome::not_applicable)) out += ", " + std::to_string(n) + " not applicable";
  return out;
}

std::string counts(const std::vector<Check>& checks) {
  return std::to_string(count(checks, Outcome::passed)) + " passed, " + std::to_string(count(checks, Outcome::failed)) +
         " failed, " + std::to_string(count(checks, Outcome::skipped)) + " skipped" + extra_counts(checks);
}

}  // namespace

std::string format_check_rows(const std::vector<Check>& checks, const CheckTableStyle& style) {
  const char* green = style.colour ? "\033[32m" : "";
  const char* red = style.colour ? "\033[31m" : "";
  const char* yellow = style.colour ? "\033[33m" : "";
  const char* dim = style.colour ? "\033[2m" : "";
  const char* bold = style.colour ? "\033[1m" : "";
  const char* reset = style.colour ? "\033[0m" : "";
  const auto label = [](const Check& c) -> const std::string& { return c.id.empty() ? c.name : c.id; };
  const auto shown = [&](const Check& c) {
    if (!style.only_problems) return true;
    const Outcome o = outcome(c);
    return o == Outcome::failed || o == Outcome::expected_failure || o == Outcome::skipped ||
           (o == Outcome::fixed && style.strict);
  };
  // Names hold multi-byte symbols ("…", "−"): align on characters, not bytes.
  const auto mark_of = [](Outcome o) {
    return o == Outcome::passed             ? "\u2713"
           : o == Outcome::failed           ? "\u2717"
           : o == Outcome::expected_failure ? "x"
           : o == Outcome::fixed            ? "X"
           : o == Outcome::skipped          ? "-"
                                            : "n/a";
  };
  size_t width = 0, mark_width = 1;
  for (const Check& c : checks)
    if (shown(c)) {
      width = std::max(width, utf8_length(label(c)));
      mark_width = std::max(mark_width, utf8_length(mark_of(outcome(c))));
    }
  const auto row = [&](std::ostringstream& out, const Check& c) {
    const Outcome o = outcome(c);
    const char* mark = mark_of(o);
    const char* tint = o == Outcome::passed ? green
                       : o == Outcome::failed ? red
                       : (o == Outcome::expected_failure || o == Outcome::fixed) ? yellow
                                                                                  : dim;
    out << tint << mark << reset << std::string(mark_width + 1 - utf8_length(mark), ' ');
    if (style.fix_column) out << (c.fix ? "fix #" + std::to_string(*c.fix) : std::string(6, ' ')) << "  ";
    out << label(c) << std::string(width - std::min(width, utf8_length(label(c))) + 2, ' ');
    if (style.seconds_column) {
      const std::string time = (c.seconds >= 0 ? format_fixed(c.seconds, 2) : std::string("-")) + " s";
      out << std::string(7 - std::min<size_t>(7, time.size()), ' ') << time << "  ";
    }
    out << c.detail;
    if (o == Outcome::expected_failure) out << " (expected: " << c.expected_failure << ")";
    if (o == Outcome::fixed) out << " (expected to fail: " << c.expected_failure << "; it passes now: remove it from --expect)";
    out << "\n";
    if (style.every_case)
      for (size_t i = 1; i < c.failed_cases.size(); ++i)
        out << std::string(mark_width + 1, ' ') << (style.fix_column ? std::string(8, ' ') : "") << "  and: " << c.failed_cases[i].line << "\n";
  };
  std::ostringstream out;
  if (!style.by_area) {
    for (const Check& c : checks)
      if (shown(c)) row(out, c);
    return out.str();
  }
  std::vector<std::string> areas;
  for (const Check& c : checks)
    if (std::find(areas.begin(), areas.end(), c.area) == areas.end()) areas.push_back(c.area);
  for (const std::string& area : areas) {
    std::vector<Check> in_area;
    for (const Check& c : checks)
      if (c.area == area) in_area.push_back(c);
    out << bold << (area.empty() ? "(no area)" : area) << reset << "  " << counts(in_area) << "\n";
    for (const Check& c : in_area)
      if (shown(c)) row(out, c);
  }
  return out.str();
}

Verdict verdict(const std::vector<Check>& checks, bool strict) {
  if (std::any_of(checks.begin(), checks.end(), [&](const Check& c) { return fails_run(c, strict); }))
    return Verdict::failed;
  const bool judged = std::any_of(checks.begin(), checks.end(), [](const Check& c) {
    return c.status == Check::Status::passed || c.status == Check::Status::failed;
  });
  return judged ? Verdict::ok : Verdict::not_run;
}

const char* to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::failed: return "failed";
    case Verdict::not_run: return "not_run";
    default: return "ok";
  }
}

std::string format_verdict(const std::string& label, const std::vector<Check>& checks, bool colour, bool strict) {
  const Verdict v = verdict(checks, strict);
  const char* shade = v == Verdict::ok ? "\033[32m" : v == Verdict::failed ? "\033[31m" : "\033[33m";
  std::ostringstream out;
  out << (colour ? shade : "") << label << ": " << (v == Verdict::ok ? "OK" : v == Verdict::failed ? "FAILED" : "not run")
      << (colour ? "\033[0m" : "") << " — " << counts(checks);
  return out.str();
}

std::string format_checks_json(const std::vector<Check>& checks) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const Check& c : checks) {
    nlohmann::ordered_json j;
    if (!c.id.empty()) j["id"] = c.id;
    j["name"] = c.name;
    if (!c.area.empty()) j["area"] = c.area;
    j["fix"] = c.fix ? nlohmann::ordered_json(*c.fix) : nlohmann::ordered_json(nullptr);
    j["status"] = to_string(c.status);
    j["outcome"] = to_string(outcome(c));
    if (!c.expected_failure.empty()) j["expected_failure"] = c.expected_failure;
    j["detail"] = c.detail;
    if (c.seconds >= 0) j["seconds"] = c.seconds;
    nlohmann::ordered_json numbers = nlohmann::ordered_json::object();
    for (const auto& [key, value] : c.numbers) numbers[key] = value;
    j["numbers"] = numbers;
    if (!c.failed_cases.empty()) {
      nlohmann::ordered_json cases = nlohmann::ordered_json::array();
      for (const FailedCase& f : c.failed_cases) {
        nlohmann::ordered_json one;
        one["case"] = f.case_name;
        one["detail"] = f.line;
        one["numbers"] = f.numbers ? discrepancy_json(*f.numbers) : nlohmann::ordered_json(nullptr);
        cases.push_back(one);
      }
      j["failed_cases"] = cases;
    }
    array.push_back(j);
  }
  return array.dump(2);
}

std::string format_checks_junit(const std::string& suite, const std::vector<Check>& checks, double seconds, bool strict) {
  // JUnit has passed, failure and skipped: an expected failure and a not-applicable check are
  // skipped (with a type saying which), a fixed one passes or, strict, fails.
  int failures = 0, skips = 0;
  for (const Check& c : checks) {
    const Outcome o = outcome(c);
    failures += fails_run(c, strict);
    skips += o == Outcome::skipped || o == Outcome::expected_failure || o == Outcome::not_applicable;
  }
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites tests=\"" << checks.size() << "\" failures=\"" << failures << "\" skipped=\"" << skips
      << "\" time=\"" << format_fixed(seconds, 3) << "\">\n"
      << "  <testsuite name=\"" << xml_escaped(suite) << "\" tests=\"" << checks.size() << "\" failures=\"" << failures
      << "\" errors=\"0\" skipped=\"" << skips << "\" time=\"" << format_fixed(seconds, 3) << "\">\n";
  for (const Check& c : checks) {
    const std::string classname = suite + (c.area.empty() ? "" : "." + c.area);
    const std::string name = !c.id.empty() ? c.id : (c.fix ? "fix #" + std::to_string(*c.fix) + ": " : std::string()) + c.name;
    out << "    <testcase classname=\"" << xml_escaped(classname) << "\" name=\"" << xml_escaped(name) << "\" time=\""
        << format_fixed(std::max(c.seconds, 0.0), 3) << "\">\n";
    const std::string detail = xml_escaped(c.detail);
    switch (outcome(c)) {
      case Outcome::passed:
        out << "      <system-out>" << detail << "</system-out>\n";
        break;
      case Outcome::fixed:
        if (strict)
          out << "      <failure message=\"[XPASS(strict)] " << xml_escaped(c.expected_failure) << "\">" << detail
              << "</failure>\n";
        else
          out << "      <system-out>XPASS (expected to fail: " << xml_escaped(c.expected_failure) << ") " << detail
              << "</system-out>\n";
        break;
      case Outcome::failed:
        out << "      <failure message=\"" << detail << "\">" << detail << "</failure>\n";
        break;
      case Outcome::expected_failure:
        out << "      <skipped type=\"pytest.xfail\" message=\"" << xml_escaped(c.expected_failure) << "\">" << detail
            << "</skipped>\n";
        break;
      case Outcome::skipped:
        out << "      <skipped message=\"" << detail << "\"/>\n";
        break;
      case Outcome::not_applicable:
        out << "      <skipped type=\"not_applicable\" message=\"" << detail << "\"/>\n";
        break;
    }
    out << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace vqvae
