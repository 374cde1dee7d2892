// Subcommands of the `vqvae` program. Each registers its flags on a CLI11 subcommand and runs
// after parsing; the return value is the process exit status.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace vqvae::cli {

/// Flags every subcommand accepts.
struct GlobalOptions {
  int threads = 1;              ///< --threads: intra-op threads (1: reproducible and fastest here)
  bool threads_given = false;   ///< --threads was on the command line (overrides a config file)
  std::string device = "cpu";   ///< --device cpu|cuda
  std::string command_line;     ///< the whole invocation, recorded in files we write
};

/// A subcommand's entry point, called after parsing.
using CommandRunner = std::function<int(const GlobalOptions&)>;

CommandRunner add_data_command(CLI::App& app);
CommandRunner add_validate_command(CLI::App& app);
CommandRunner add_goldens_command(CLI::App& app);
CommandRunner add_train_command(CLI::App& app);
CommandRunner add_experiment_command(CLI::App& app);

}  // namespace vqvae::cli
