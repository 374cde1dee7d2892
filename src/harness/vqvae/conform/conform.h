// `vqvae conform`: the harness's checks pointed at another implementation of the baseline's API
// through a driver (conform/protocol.h, docs/conform_protocol.md): the five fixes and the whole
// pipeline the study's answer rests on — data, PCA, quantizers, loss, initialisations, metrics,
// trainer and evaluation, one area each (conform/detail/referee.h). The referee builds the cases —
// the golden suite's (fixtures/conform_goldens.h5), each area's built-in ones, and cases at the
// configuration about to run (cases.cpp) — runs the driver (driver.cpp), and judges each check
// (run.cpp) against definitions computed in float64, this library under the same seeds, and the
// stored expectations; expectations.cpp reads and writes expect files, report.cpp the report.
#pragma once

#include <vqvae/harness/check_report.h>
#include <vqvae/conform/protocol.h>
#include <vqvae/goldens/golden_file.h>
#include <vqvae/study/run_config.h>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vqvae {

/// The driver could not run: missing, exited non-zero, timed out, or wrote a malformed response.
/// One line naming the driver and the tail of its stderr (exit 2 in the program).
class DriverError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ConformReport {
  std::string driver_command;
  std::string driver_name;                        ///< the response's `driver` attribute
  std::vector<Check> checks;                      ///< each with its id, area and, where it guards one, its fix
  std::map<std::string, std::string> estimators;  ///< quantizer class -> the estimator it computes
  size_t cases = 0;
  std::string configuration;                      ///< the configuration the config_* cases ran at, one line
  std::vector<std::string> configuration_cases;   ///< what ran at it, one line each ("config_train: ...")
  bool strict = false;                            ///< --strict: an expected failure that passes fails the run
  double driver_seconds = 0;                      ///< the driver process, start to exit
  double seconds = 0;                             ///< the whole run
  /// The checks of the documented fixes, and all others: the report's two verdicts.
  std::vector<Check> fix_checks() const;
  std::vector<Check> other_checks() const;
  /// No unexpected failure (and, strict, no expected failure that passes).
  bool passed() const;
};

struct ConformOptions {
  std::string driver;            ///< shell command; REQUEST.h5 RESPONSE.h5 are appended
  double timeout_seconds = 600;  ///< the driver is killed past this
  std::string keep_folder;       ///< keep request.h5 and response.h5 here (empty: a removed temporary)
  std::string goldens_file;      ///< fixtures/conform_goldens.h5 (empty: only the configuration's cases)
  std::string command;           ///< recorded in the request
  std::vector<std::string> areas;  ///< run these areas' checks (and the surface checks they need) only (empty: all)
  std::vector<std::string> only;   ///< run these checks (ids) only (empty: all)
  /// Known defects: check id -> why its failure is accepted (read_conform_expectations).
  std::map<std::string, std::string> expectations;
  bool strict = false;           ///< an expected failure that passes fails the run
};

/// The areas, in report order: surface, data, pca, quantizer, loss, init, metrics, trainer.
std::vector<std::string> conform_area_names();

/// One check of the referee as `--list-checks` prints it: its stable id, area, fix and what it checks.
struct ConformCheckInfo {
  std::string id, area, title;
  std::optional<int> fix;
};
/// Every check, in report order.
std::vector<ConformCheckInfo> conform_checks();

/// Reads an expect file (docs/conform_protocol.md, "Known defects"): lines `CHECK-ID: reason`,
/// `#` comments and blank lines. Throws InvalidArgument naming --expect, the file and the line for
/// an unreadable file, a line without a reason, an id no check has, or an id listed twice.
std::map<std::string, std::string> read_conform_expectations(const std::string& path);
/// The run's failures (expected or not) as an expect file: the reasons already known kept, a
/// reason to fill in for the others.
std::string format_conform_expectations(const ConformReport& report);

/// Runs the referee: cases, driver, checks. Throws InvalidArgument for an invalid configuration
/// or options (an unknown area), DriverError when the driver cannot run or answer.
ConformReport run_conform(const RunConfig& config, const ConformOptions& options);

/// The table: the configuration and its cases, the checks grouped by area (mark, fix, id, detail;
/// `verbose`: every check, else the counts per area and the checks that did not pass), one line per
/// absent optional part, the estimators, the two verdicts — the documented fixes, everything
/// else — and the summary line.
std::string format_conform_table(const ConformReport& report, bool colour, bool verbose = false);
/// JSON: configuration, checks [{id, name, area, fix, status, outcome, expected_failure, detail, ...}],
/// estimators {class: identity}, totals, fixes_ok, others_ok, ok.
std::string format_conform_json(const ConformReport& report);
/// JUnit XML: one testcase per check, classname conform.<area>.
std::string format_conform_junit(const ConformReport& report);

// ---------------------------------------------------------------- the golden suite
/// File name of the suite in the fixtures folder.
inline constexpr const char* kConformGoldenFileName = "conform_goldens.h5";
/// Its schema: each case's request attributes and inputs, and the stored expectations
/// (datasets named expected_<output>).
const GoldenSchema& conform_golden_schema();
/// The suite's cases as the library computes them now, in `precision` (goldens/precision.h;
/// float64: what the file stores): inputs and expected outputs.
std::vector<GoldenRecord> conform_golden_records(GoldenPrecision precision = GoldenPrecision::float32);
/// The request cases at `config`, named config_*: the dataset, PCA, quantizer, loss, model and STE
/// cases of its d, k, n, codebook size and quantizer; every initialisation at its codebook size; and
/// config_train and config_evaluate on its model with the codebook its init draws.
/// `description` (if given) receives one line per group of cases, for the report.
std::vector<GoldenRecord> conform_config_cases(const RunConfig& config, std::vector<std::string>* description = nullptr);

}  // namespace vqvae
