// The run-configuration flags shared by `validate`, `train`, `experiment` (and `conform`):
// --config FILE, then one flag per key of the configuration (RunConfig's for_each_config_field:
// --d --k --n --sigma-noise --seed --codebook-size --quantizer --encoder --decoder --init
// --init-samples --beta --optimizer --lr --batch-size; threads is the global --threads).
// Flags given on the command line override the file, which overrides the defaults.
#pragma once

#include "commands.h"

#include <vqvae/preflight/memory_estimate.h>
#include <vqvae/study/run.h>
#include <vqvae/study/run_config.h>

#include <functional>
#include <list>
#include <string>
#include <utility>
#include <vector>

namespace vqvae::cli {

class ConfigFlags {
 public:
  /// Registers the flags on `command`.
  explicit ConfigFlags(CLI::App* command);
  /// Defaults, then --config FILE, then the flags actually given. Throws InvalidArgument for an
  /// invalid result (check_config), naming the parameter.
  RunConfig resolve(const GlobalOptions& global) const;

 private:
  RunConfig parsed_;                   // numbers are parsed into it directly
  std::list<std::string> choice_text_;  // the text of each choice flag (stable addresses)
  std::string config_file_;
  std::vector<std::pair<CLI::Option*, std::function<void(RunConfig&)>>> given_;
};

/// --print-config: the resolved configuration as JSON on stdout (a valid --config file), the
/// memory estimate on stderr (one line). Returns 0.
int print_config(const RunConfig& config, const MemoryEstimate& estimate);

/// What `train` and `experiment` do before any work, in this order: refuse a configuration whose
/// memory estimate does not fit (InvalidArgument, exit 2), check that each output's folder takes a
/// file (`outputs`: flag and path; IoError, exit 1), resolve the device, set the threads, and
/// print the one-line warning about codewords dead by construction.
void prepare_run(const RunConfig& config, const MemoryEstimate& estimate, const GlobalOptions& global,
                 const std::vector<std::pair<std::string, std::string>>& outputs,
                 const std::string& codebook_size_key = "codebook_size");

}  // namespace vqvae::cli
