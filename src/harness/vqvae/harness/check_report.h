// One verdict type and its printers for both `vqvae validate` (the library at a configuration) and
// `vqvae conform` (another implementation through a driver): a table, JSON and JUnit XML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vqvae {

/// The numbers behind one failed comparison (conform): the implementation's value ("theirs")
/// against "ours" — the definition's, this library's under the same seed, or the stored
/// expectation — and the tolerance allowed there (|theirs − ours| <= tolerance passes). For a
/// tensor, at the element that misses its tolerance by the most (a NaN misses by the most).
struct Discrepancy {
  std::string quantity;       ///< what was compared: an output's name ("z_q_hard"), "recon_loss"
  std::string ours_is;        ///< what "ours" is: "codebook[indices]", "the stored expectation"
  /// Tensors: both shapes ({} for one number). When they differ, nothing below is set.
  std::vector<int64_t> theirs_shape, ours_shape;
  std::vector<int64_t> element;  ///< the worst element's index ({} for one number)
  double theirs = 0, ours = 0;
  double difference = 0;      ///< |theirs − ours| at that element
  double tolerance = 0;       ///< allowed there: atol + rtol·|ours| (0: must be equal)
  double max_difference = 0;  ///< the largest |theirs − ours| over the whole tensor
  int64_t outside = 0;        ///< elements beyond their tolerance
  int64_t elements = 0;       ///< elements compared
  /// Whether the shapes differed (then only the shapes are numbers).
  bool shape_mismatch() const { return theirs_shape != ours_shape; }
};

/// One failing case of a conform check: its line (as the detail prints it) and, where the case
/// compared numbers, the numbers (none where an output is absent or the driver reported an error).
struct FailedCase {
  std::string case_name;  ///< the request case judged ("" when the check judges no case)
  std::string line;
  std::optional<Discrepancy> numbers;
};

/// One check: a one-line verdict with what was measured against what was expected.
struct Check {
  /// not_applicable: an optional part the check needs is absent (conform); never a failure, never
  /// a skip. skipped: nothing to judge (a skip is never a pass).
  enum class Status { passed, failed, skipped, not_applicable };
  std::string id;          ///< conform: the stable id, area.subject.property; "" for validate
  std::string name;        ///< what it checks, one line
  Status status = Status::passed;
  std::string detail;      ///< one line: measured vs expected, or why it failed or was skipped
  std::string area;        ///< conform's area (surface, data, ..., trainer); "" for validate
  std::optional<int> fix;  ///< the documented fix (1-5) it guards, if any
  /// conform --expect: why this check is expected to fail (a known defect); "" when it is not.
  std::string expected_failure;
  std::vector<std::pair<std::string, double>> numbers;  ///< the measured numbers, for JSON
  /// conform: every failing case when the check failed (detail shows the first, "(and N
  /// more)"); JSON's failed_cases with their numbers, and one row each under the check with -v.
  std::vector<FailedCase> failed_cases;
  double seconds = -1;     ///< time taken; < 0: not timed
};

/// What a check's status means once the expectations are applied: a failure that was expected,
/// and an expected failure that passes now ("fixed"), apart.
enum class Outcome { passed, failed, expected_failure, fixed, skipped, not_applicable };
Outcome outcome(const Check& check);
/// Whether the check turns the run red: an unexpected failure, or (strict) an expected failure
/// that no longer fails.
bool fails_run(const Check& check, bool strict);

/// "passed", "failed", "skipped", "not_applicable" (JSON and JUnit spell them so).
const char* to_string(Check::Status status);
/// "passed", "failed", "expected_failure", "fixed", "skipped", "not_applicable".
const char* to_string(Outcome outcome);

/// How many of `checks` have `status` (raw: expected failures count as failed).
int count(const std::vector<Check>& checks, Check::Status status);
/// How many have `outcome`.
int count(const std::vector<Check>& checks, Outcome outcome);

struct CheckTableStyle {
  bool colour = false;         ///< ANSI green/red/dim marks
  bool fix_column = false;     ///< "fix #N" before the name
  bool seconds_column = false; ///< the time after the name
  bool by_area = false;        ///< a heading line per area, checks in area order of first appearance
  bool only_problems = false;  ///< rows only for checks that did not pass (and were applicable); counts per area stay
  bool strict = false;         ///< an expected failure that passes is a problem (conform --strict)
  bool every_case = false;     ///< under a failed check, a row for each further failing case
};

/// One aligned line per check: mark, [fix #N], id (or name), [seconds], detail. Marks: ✓ passed,
/// ✗ failed, x expected failure (with its reason), X fixed (expected to fail, passes), - skipped,
/// n/a not applicable.
std::string format_check_rows(const std::vector<Check>& checks, const CheckTableStyle& style);

/// The verdict over `checks`: failed when one failed unexpectedly (or, strict, when an expected
/// failure passes); else not_run when no check was judged (none passed, failed or was an expected
/// failure: all skipped, not applicable, or no checks at all); else ok.
enum class Verdict { ok, failed, not_run };
Verdict verdict(const std::vector<Check>& checks, bool strict);
/// "ok", "failed", "not_run" (JSON spells them so).
const char* to_string(Verdict verdict);

/// `label: OK — P passed, F failed, S skipped` (FAILED, or "not run" when nothing was judged:
/// see verdict()), with `, E expected failures`, `, X fixed` and `, N not applicable` where there
/// are any; coloured when asked.
std::string format_verdict(const std::string& label, const std::vector<Check>& checks, bool colour, bool strict = false);

/// The checks as a JSON array: [{id, name, area, fix, status, outcome, expected_failure, detail,
/// seconds, numbers, failed_cases}], id, area, expected_failure, seconds and failed_cases only where
/// set. Each failed case is {case, detail, numbers}: numbers is null, or {quantity, ours_is,
/// theirs_shape, ours_shape, element, theirs, ours, difference, tolerance, max_difference, outside,
/// elements} (Discrepancy; the values left out on a shape mismatch). A number that is not finite
/// (NaN, ±inf) is null, as in every JSON the program writes.
std::string format_checks_json(const std::vector<Check>& checks);

/// JUnit XML (as `ctest --output-junit` and `pytest --junitxml` write it): one <testsuite> named
/// `suite`, one <testcase> per check with classname `suite.area` (or `suite`) and name its id (or
/// "fix #N: name"); <failure> or <skipped> carrying the detail. An expected failure is a
/// <skipped type="pytest.xfail"> with its reason, as pytest writes an xfail; a fixed one passes,
/// or (strict) is a <failure> "[XPASS(strict)] reason", as pytest writes a strict xpass.
std::string format_checks_junit(const std::string& suite, const std::vector<Check>& checks, double seconds,
                                bool strict = false);

}  // namespace vqvae
