// The run-configuration flags shared by `validate`, `train` and `experiment`:
// --config FILE, then --d --k --n --sigma-noise --seed --codebook-size --quantizer --encoder
// --decoder --init --init-samples --beta --optimizer --lr --batch-size (and the global --threads).
// Flags given on the command line override the file, which overrides the defaults.
#pragma once

#include "commands.h"
#include "config/run_config.h"

#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace vqvae::cli {

class ConfigFlags {
 public:
  /// Registers the flags on `command`.
  explicit ConfigFlags(CLI::App* command);
  /// Defaults, then --config FILE, then the flags actually given. Throws InvalidArgument for an
  /// invalid result (check_config), naming the flag.
  RunConfig resolve(const GlobalOptions& global) const;

 private:
  RunConfig parsed_;
  std::string config_file_;
  std::string encoder_ = "pca", decoder_ = "pca";
  std::vector<std::pair<CLI::Option*, std::function<void(RunConfig&)>>> given_;
};

}  // namespace vqvae::cli
