// Subcommands of the `vqvae` program. Each registers its flags on a CLI11 subcommand and runs
// after parsing; the return value is the process exit status.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

namespace vqvae {
struct SweepResult;
}  // namespace vqvae

namespace vqvae::cli {

/// Flags every subcommand accepts.
struct GlobalOptions {
  int threads = 1;              ///< --threads: intra-op threads (1: reproducible and fastest here)
  bool threads_given = false;   ///< --threads was on the command line (overrides a config file)
  std::string device = "cpu";   ///< --device cpu|cuda
  std::string command_line;     ///< the whole invocation, recorded in files we write
};

/// The command-line flag of a library parameter: "codebook_size" -> "--codebook-size". The
/// library names its parameters (InvalidArgument's param()); the program prints its errors with
/// this spelling.
std::string flag_of(std::string_view parameter);

/// The folder of `path` must exist and be writable before any work is done (io's
/// check_writable_folder). Throws IoError "<flag>: <path>: cannot create a file in folder
/// '<folder>' (missing or not writable)" (exit 1).
void check_output_folder(const std::string& path, const std::string& flag);

/// The plot a command writes beside its HDF5 file when --plot is not given: `out` with its
/// extension replaced by .png ("runs/a.h5" -> "runs/a.png"; "a" -> "a.png").
std::string default_plot_path(const std::string& out);

/// The end of `experiment` and `merge`: the sweep's table, or with `json` its JSON object alone on
/// stdout; then `summary` ("wrote run.h5") and the plot's line, on stdout, or on stderr with `json`.
/// Returns the stream those lines went to, for what the command adds.
std::ostream& print_sweep_outputs(const SweepResult& result, bool json, const std::string& summary,
                                  const std::string& plot);

/// Adds to every integer option of `app` and its subcommands a check that the value fits the
/// option's 64-bit type: CLI11 2.1 clamps "99999999999999999999" to INT64_MAX without a word.
/// Message (exit 2): "--n: must be an integer from -9223372036854775808 to 9223372036854775807,
/// got 99999999999999999999".
void check_integer_ranges(CLI::App& app);

/// The one-line message for a command line CLI11 refused. An unknown flag or subcommand is named,
/// with the nearest known one when it is a likely typo (edit distance at most 2, or a third of its
/// length): "vqvae experiment: unknown flag --codebok-size: did you mean --codebook-size? (see
/// vqvae experiment --help)"; a command that needs a subcommand and got none lists them ("vqvae
/// goldens: needs a subcommand, one of check, regen (see vqvae goldens --help)"); any other error is
/// CLI11's own text. `app` is the parsed program.
std::string usage_error_message(CLI::App& app, const CLI::ParseError& error);

/// CLI11 validator for unsigned flags (--seed): CLI11 converts "-1" to 2^64 - 1 without a word.
/// Message: "--seed: must be >= 0, got -1".
inline std::string non_negative_integer(const std::string& value) {
  return value.find('-') == std::string::npos ? std::string() : "must be >= 0, got " + value;
}

/// A subcommand's entry point, called after parsing.
using CommandRunner = std::function<int(const GlobalOptions&)>;

CommandRunner add_data_command(CLI::App& app);
CommandRunner add_validate_command(CLI::App& app);
CommandRunner add_goldens_command(CLI::App& app);
CommandRunner add_train_command(CLI::App& app);
CommandRunner add_experiment_command(CLI::App& app);
CommandRunner add_merge_command(CLI::App& app);
CommandRunner add_bench_command(CLI::App& app);
CommandRunner add_conform_command(CLI::App& app);

}  // namespace vqvae::cli
