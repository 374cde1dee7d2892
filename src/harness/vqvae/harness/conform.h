// `vqvae conform`: the harness's checks pointed at another implementation of the seed's API
// through a driver (harness/conform_protocol.h, docs/conform_protocol.md): the five fixes and the
// whole pipeline the study's answer rests on — data, PCA, quantizers, loss, initialisations,
// metrics, trainer and evaluation, one area each (harness/conform_referee.h). The referee builds
// the cases — the golden suite's (fixtures/conform_goldens.h5), each area's built-in ones, and
// cases at the configuration about to run — runs the driver, and judges each check against
// definitions computed in float64, this library under the same seeds, and the stored expectations.
#pragma once

#include <vqvae/harness/check_report.h>
#include <vqvae/harness/conform_protocol.h>
#include <vqvae/harness/golden_file.h>
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
  std::vector<Check> checks;                      ///< each with its area and, where it guards one, its fix
  std::map<std::string, std::string> estimators;  ///< quantizer class -> the estimator it computes
  size_t cases = 0;
  double driver_seconds = 0;                      ///< the driver process, start to exit
  double seconds = 0;                             ///< the whole run
  int count(Check::Status status) const;
  /// The checks of the documented fixes, and all others: the report's two verdicts.
  std::vector<Check> fix_checks() const;
  std::vector<Check> other_checks() const;
  bool passed() const { return count(Check::Status::failed) == 0; }
};

struct ConformOptions {
  std::string driver;            ///< shell command; REQUEST.h5 RESPONSE.h5 are appended
  double timeout_seconds = 600;  ///< the driver is killed past this
  std::string keep_folder;       ///< keep request.h5 and response.h5 here (empty: a removed temporary)
  std::string goldens_file;      ///< fixtures/conform_goldens.h5 (empty: only the configuration's cases)
  std::string command;           ///< recorded in the request
  std::vector<std::string> areas;  ///< run these areas' checks and cases only (empty: all)
};

/// The areas, in report order: data, pca, quantizer, loss, init, metrics, trainer.
std::vector<std::string> conform_area_names();

/// Runs the referee: cases, driver, checks. Throws InvalidArgument for an invalid configuration
/// or options (an unknown area), DriverError when the driver cannot run or answer.
ConformReport run_conform(const RunConfig& config, const ConformOptions& options);

/// The table: the checks grouped by area (mark, fix, name, detail), the estimators, and the two
/// verdicts — the documented fixes, everything else — then the summary line.
std::string format_conform_table(const ConformReport& report, bool colour);
/// JSON: checks [{name, area, fix, status, detail, ...}], estimators {class: identity}, totals,
/// fixes_ok, others_ok.
std::string format_conform_json(const ConformReport& report);
/// JUnit XML: one testcase per check, classname conform.<area>.
std::string format_conform_junit(const ConformReport& report);

// ---------------------------------------------------------------- the golden suite
/// File name of the suite in the fixtures folder.
inline constexpr const char* kConformGoldenFileName = "conform_goldens.h5";
/// Its schema: each case's request attributes and inputs, and the stored expectations
/// (datasets named expected_<output>).
const GoldenSchema& conform_golden_schema();
/// The suite's cases as the library computes them now, in `precision` (golden_precision.h;
/// float64: what the file stores): inputs and expected outputs.
std::vector<GoldenRecord> conform_golden_records(GoldenPrecision precision = GoldenPrecision::float32);
/// The request cases at `config` (its d, k, codebook size, quantizer, init), named config_*.
std::vector<GoldenRecord> conform_config_cases(const RunConfig& config);

}  // namespace vqvae
