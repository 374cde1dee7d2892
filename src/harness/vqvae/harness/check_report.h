// One verdict type and its printers for both `vqvae validate` (the library at a configuration) and
// `vqvae conform` (another implementation through a driver): a table, JSON and JUnit XML.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vqvae {

/// One check: a one-line verdict with what was measured against what was expected.
struct Check {
  enum class Status { passed, failed, skipped };
  std::string name;
  Status status = Status::passed;
  std::string detail;      ///< one line: measured vs expected, or why it failed or was skipped
  std::string area;        ///< conform's area (data, pca, quantizer, loss, init, metrics, trainer); "" for validate
  std::optional<int> fix;  ///< the documented fix (1-5) it guards, if any
  std::vector<std::pair<std::string, double>> numbers;  ///< the measured numbers, for JSON
  double seconds = -1;     ///< time taken; < 0: not timed
};

/// "passed", "failed", "skipped" (JSON and JUnit spell them so).
const char* to_string(Check::Status status);

/// How many of `checks` have `status`.
int count(const std::vector<Check>& checks, Check::Status status);

struct CheckTableStyle {
  bool colour = false;         ///< ANSI green/red/dim marks
  bool fix_column = false;     ///< "fix #N" before the name
  bool seconds_column = false; ///< the time after the name
  bool by_area = false;        ///< a heading line per area, checks in area order of first appearance
};

/// One aligned line per check: ✓ / ✗ / - , [fix #N], name, [seconds], detail.
std::string format_check_rows(const std::vector<Check>& checks, const CheckTableStyle& style);

/// `label: OK — P passed, F failed, S skipped` (FAILED when one failed), coloured when asked.
std::string format_verdict(const std::string& label, const std::vector<Check>& checks, bool colour);

/// The checks as a JSON array: [{name, area, fix, status, detail, seconds, numbers}], area, fix and
/// seconds only where set.
std::string format_checks_json(const std::vector<Check>& checks);

/// JUnit XML (as `ctest --output-junit` and `pytest --junitxml` write it): one <testsuite> named
/// `suite`, one <testcase> per check with classname `suite.area` (or `suite`), <failure> or
/// <skipped> carrying the detail.
std::string format_checks_junit(const std::string& suite, const std::vector<Check>& checks, double seconds);

}  // namespace vqvae
