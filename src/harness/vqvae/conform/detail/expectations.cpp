// `vqvae conform --expect FILE` and `--write-expect FILE`: the known defects of the implementation
// under test, one check id per line with the reason its failure is accepted (docs/conform_protocol.md,
// "Known defects"), read and written.
#include <vqvae/conform/conform.h>
#include <vqvae/conform/detail/referee.h>

#include <vqvae/core/errors.h>

#include <fstream>
#include <sstream>

namespace vqvae {

std::map<std::string, std::string> read_conform_expectations(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_invalid_argument(param("expect"), "cannot read '" + path + "'");
  std::map<std::string, std::string> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto trim = [](std::string text) {
      const size_t first = text.find_first_not_of(" \t\r"), last = text.find_last_not_of(" \t\r");
      return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
    };
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(number);
    const size_t colon = text.find(':');
    const std::string id = trim(text.substr(0, colon));
    const std::string reason = colon == std::string::npos ? "" : trim(text.substr(colon + 1));
    if (colon == std::string::npos || reason.empty())
      throw_invalid_argument(param("expect"), where + ": expected 'CHECK-ID: reason', got '" + text.substr(0, 80) + "'");
    if (!conform::is_check_id(id))
      throw_invalid_argument(param("expect"), where + ": no check has the id '" + id + "' (vqvae conform --list-checks lists them)");
    if (!out.emplace(id, reason).second) throw_invalid_argument(param("expect"), where + ": '" + id + "' is listed twice");
  }
  return out;
}

std::string format_conform_expectations(const ConformReport& report) {
  std::ostringstream out;
  out << "# vqvae conform --expect: known defects, one check id per line with the reason its failure is accepted.\n"
      << "# Written by --write-expect from a run of: " << report.driver_command << "\n"
      << "# Replace each TODO with why the failure is accepted (an issue, a planned fix); --strict fails the run\n"
      << "# when a listed check passes again, so that this file stays true.\n";
  for (const Check& c : report.checks)
    if (c.status == Check::Status::failed)
      out << c.id << ": " << (c.expected_failure.empty() ? "TODO (failing at this revision: " + c.detail.substr(0, 160) + ")" : c.expected_failure)
          << "\n";
  return out.str();
}

}  // namespace vqvae
