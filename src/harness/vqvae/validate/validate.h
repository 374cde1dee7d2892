// Pre-experiment validation (`vqvae validate`): docs/design.md's behavioural checks on the exact
// model a RunConfig builds. Every check is a one-line verdict with measured and expected numbers.
#pragma once

#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/harness/check_report.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/study/run_config.h>

#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace vqvae {

struct ValidationReport {
  RunConfig config;
  std::vector<Check> checks;  ///< check_report.h's verdicts, timed, no area
  double seconds = 0;
  int count(Check::Status status) const { return vqvae::count(checks, status); }
  bool passed() const { return count(Check::Status::failed) == 0; }
};

/// Builds the model under test; build_model by default. Tests pass broken models through it to
/// show that the checks can fail.
using ModelFactory = std::function<VQVAE(const RunConfig&, const GaussianDataset&)>;

struct ValidationOptions {
  /// Steps of the short training run. 200, not 50: with learned encoders the total loss first
  /// rises for some tens of steps (the latents grow while the decoder learns) before it falls.
  int64_t training_steps = 200;
  /// Golden fixture file to compare against; empty: the check is skipped.
  std::string fixtures_file;
  /// How the model under test is built.
  ModelFactory factory;
};

/// Runs every check. Throws InvalidArgument (before any work) for an invalid configuration;
/// a check that throws is reported as failed with the exception's message.
ValidationReport run_validation(const RunConfig& config, const ValidationOptions& options = {});

/// Aligned table, one line per check (✓ / ✗ / -), then a summary line; ANSI colour when asked.
std::string format_report_table(const ValidationReport& report, bool colour);

/// The report as JSON: configuration, checks (status, detail, numbers, seconds), totals.
std::string format_report_json(const ValidationReport& report);

/// `vqvae validate` after parsing: runs the checks, writes the table (or JSON) to `out`, and
/// returns the exit status: 0 all passed, 1 a check failed. Invalid configurations throw
/// InvalidArgument (exit 2 in the CLI).
int run_validate_command(const RunConfig& config, const ValidationOptions& options, bool json,
                         bool colour, std::ostream& out);

}  // namespace vqvae
