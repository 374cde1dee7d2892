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

}  // namespace

const char* to_string(Check::Status status) {
  switch (status) {
    case Check::Status::passed: return "passed";
    case Check::Status::failed: return "failed";
    case Check::Status::skipped: return "skipped";
  }
  return "?";
}

int count(const std::vector<Check>& checks, Check::Status status) {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(), [&](const Check& c) { return c.status == status; }));
}

std::string format_check_rows(const std::vector<Check>& checks, const CheckTableStyle& style) {
  const char* green = style.colour ? "\033[32m" : "";
  const char* red = style.colour ? "\033[31m" : "";
  const char* dim = style.colour ? "\033[2m" : "";
  const char* bold = style.colour ? "\033[1m" : "";
  const char* reset = style.colour ? "\033[0m" : "";
  // Names hold multi-byte symbols ("…", "−"): align on characters, not bytes.
  size_t width = 0;
  for (const Check& c : checks) width = std::max(width, utf8_length(c.name));
  const auto row = [&](std::ostringstream& out, const Check& c) {
    const char* mark = c.status == Check::Status::passed ? "\u2713" : c.status == Check::Status::failed ? "\u2717" : "-";
    const char* tint = c.status == Check::Status::passed ? green : c.status == Check::Status::failed ? red : dim;
    out << tint << mark << reset << " ";
    if (style.fix_column) out << (c.fix ? "fix #" + std::to_string(*c.fix) : std::string(6, ' ')) << "  ";
    out << c.name << std::string(width - utf8_length(c.name) + 2, ' ');
    if (style.seconds_column) {
      const std::string time = (c.seconds >= 0 ? format_fixed(c.seconds, 2) : std::string("-")) + " s";
      out << std::string(7 - std::min<size_t>(7, time.size()), ' ') << time << "  ";
    }
    out << c.detail << "\n";
  };
  std::ostringstream out;
  if (!style.by_area) {
    for (const Check& c : checks) row(out, c);
    return out.str();
  }
  std::vector<std::string> areas;
  for (const Check& c : checks)
    if (std::find(areas.begin(), areas.end(), c.area) == areas.end()) areas.push_back(c.area);
  for (const std::string& area : areas) {
    std::vector<Check> in_area;
    for (const Check& c : checks)
      if (c.area == area) in_area.push_back(c);
    out << bold << (area.empty() ? "(no area)" : area) << reset << "  " << count(in_area, Check::Status::passed)
        << " passed, " << count(in_area, Check::Status::failed) << " failed, " << count(in_area, Check::Status::skipped)
        << " skipped\n";
    for (const Check& c : in_area) row(out, c);
  }
  return out.str();
}

std::string format_verdict(const std::string& label, const std::vector<Check>& checks, bool colour) {
  const bool ok = count(checks, Check::Status::failed) == 0;
  std::ostringstream out;
  out << (colour ? (ok ? "\033[32m" : "\033[31m") : "") << label << ": " << (ok ? "OK" : "FAILED")
      << (colour ? "\033[0m" : "") << " — " << count(checks, Check::Status::passed) << " passed, "
      << count(checks, Check::Status::failed) << " failed, " << count(checks, Check::Status::skipped) << " skipped";
  return out.str();
}

std::string format_checks_json(const std::vector<Check>& checks) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const Check& c : checks) {
    nlohmann::ordered_json j;
    j["name"] = c.name;
    if (!c.area.empty()) j["area"] = c.area;
    j["fix"] = c.fix ? nlohmann::ordered_json(*c.fix) : nlohmann::ordered_json(nullptr);
    j["status"] = to_string(c.status);
    j["detail"] = c.detail;
    if (c.seconds >= 0) j["seconds"] = c.seconds;
    nlohmann::ordered_json numbers = nlohmann::ordered_json::object();
    for (const auto& [key, value] : c.numbers) numbers[key] = value;
    j["numbers"] = numbers;
    array.push_back(j);
  }
  return array.dump(2);
}

std::string format_checks_junit(const std::string& suite, const std::vector<Check>& checks, double seconds) {
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites tests=\"" << checks.size() << "\" failures=\"" << count(checks, Check::Status::failed)
      << "\" skipped=\"" << count(checks, Check::Status::skipped) << "\" time=\"" << format_fixed(seconds, 3) << "\">\n"
      << "  <testsuite name=\"" << xml_escaped(suite) << "\" tests=\"" << checks.size() << "\" failures=\""
      << count(checks, Check::Status::failed) << "\" errors=\"0\" skipped=\"" << count(checks, Check::Status::skipped)
      << "\" time=\"" << format_fixed(seconds, 3) << "\">\n";
  for (const Check& c : checks) {
    const std::string classname = suite + (c.area.empty() ? "" : "." + c.area);
    const std::string name = (c.fix ? "fix #" + std::to_string(*c.fix) + ": " : std::string()) + c.name;
    out << "    <testcase classname=\"" << xml_escaped(classname) << "\" name=\"" << xml_escaped(name) << "\" time=\""
        << format_fixed(std::max(c.seconds, 0.0), 3) << "\"";
    switch (c.status) {
      case Check::Status::passed:
        out << ">\n      <system-out>" << xml_escaped(c.detail) << "</system-out>\n    </testcase>\n";
        break;
      case Check::Status::failed:
        out << ">\n      <failure message=\"" << xml_escaped(c.detail) << "\">" << xml_escaped(c.detail)
            << "</failure>\n    </testcase>\n";
        break;
      case Check::Status::skipped:
        out << ">\n      <skipped message=\"" << xml_escaped(c.detail) << "\"/>\n    </testcase>\n";
        break;
    }
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace vqvae
