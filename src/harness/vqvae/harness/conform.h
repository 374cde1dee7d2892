// `vqvae conform`: the checks of validate, the goldens and the five fixes, pointed at another
// implementation of the seed's API through a driver (harness/conform_protocol.h). The referee
// builds the cases — the golden suite's (fixtures/conform_goldens.h5) and cases at the
// configuration about to run — runs the driver, and judges each check against this library's
// reference computations and the stored expectations.
#pragma once

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

struct ConformCheck {
  enum class Status { passed, failed, skipped };
  std::string name;
  std::optional<int> fix;  ///< the documented fix (1-5) the check guards, if any
  Status status = Status::passed;
  std::string detail;      ///< measured vs expected, one line
};

struct ConformReport {
  std::string driver_command;
  std::string driver_name;                        ///< the response's `driver` attribute
  std::vector<ConformCheck> checks;
  std::map<std::string, std::string> estimators;  ///< quantizer class -> the estimator it computes
  size_t cases = 0;
  double driver_seconds = 0;                      ///< the driver process, start to exit
  double seconds = 0;                             ///< the whole run
  int count(ConformCheck::Status status) const;
  bool passed() const { return count(ConformCheck::Status::failed) == 0; }
};

struct ConformOptions {
  std::string driver;            ///< shell command; REQUEST.h5 RESPONSE.h5 are appended
  double timeout_seconds = 600;  ///< the driver is killed past this
  std::string keep_folder;       ///< keep request.h5 and response.h5 here (empty: a removed temporary)
  std::string goldens_file;      ///< fixtures/conform_goldens.h5 (empty: only the configuration's cases)
  std::string command;           ///< recorded in the request
};

/// Runs the referee: cases, driver, checks. Throws InvalidArgument for an invalid configuration
/// or options, DriverError when the driver cannot run or answer.
ConformReport run_conform(const RunConfig& config, const ConformOptions& options);

/// The table (one line per check: mark, fix, name, detail; the estimators; a summary line).
std::string format_conform_table(const ConformReport& report, bool colour);
/// JSON: checks [{name, fix, status, detail}], estimators {class: identity}, totals.
std::string format_conform_json(const ConformReport& report);

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
