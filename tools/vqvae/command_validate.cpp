// `vqvae validate`: docs/design.md's checks on the exact configuration about to run (flags and/or a
// JSON config file). Exit 0 all pass, 1 a check failed, 2 invalid configuration.
#include "commands.h"
#include "vqvae_cli_build.h"
#include "config_flags.h"

#include <vqvae/tensor/runtime.h>
#include <vqvae/preflight/memory_estimate.h>
#include <vqvae/validate/validate.h>

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>

namespace vqvae::cli {

namespace {
std::string default_fixtures_file() { return std::string(VQVAE_FIXTURES_DIR) + "/pca_goldens.h5"; }
}  // namespace

CommandRunner add_validate_command(CLI::App& app) {
  struct Flags {
    std::unique_ptr<ConfigFlags> config;
    bool print_config = false;
    bool json = false;
    int64_t steps = 200;
    std::string fixtures = default_fixtures_file();
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "validate", "Check shapes, z_q_hard, gradients, STE, routing, PCA and a short training run "
                  "on the configuration about to run");
  flags->config = std::make_unique<ConfigFlags>(sub);
  sub->add_flag("--print-config", flags->print_config,
                "Print the resolved configuration (JSON) and, on stderr, the memory estimate, and exit");
  sub->add_flag("--json", flags->json, "Print the report as JSON instead of the table");
  sub->add_option("--steps", flags->steps, "Steps of the short training run")->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--fixtures-file", flags->fixtures,
                  "Golden HDF5 file to compare against (skipped when it does not exist)")
      ->capture_default_str();
  return [flags](const GlobalOptions& global) {
    const RunConfig config = flags->config->resolve(global);  // exit 2 on an invalid one
    const MemoryEstimate estimate = estimate_validate_memory(config, flags->steps);
    if (flags->print_config) return print_config(config, estimate);
    require_memory(estimate, available_memory());  // exit 2 before any work
    resolve_device(global.device);
    set_threads(config.threads);
    ValidationOptions options;
    options.training_steps = flags->steps;
    // The default file lives in the source tree; an installed program may not have it.
    if (access(flags->fixtures.c_str(), F_OK) == 0 || flags->fixtures != default_fixtures_file())
      options.fixtures_file = flags->fixtures;
    return run_validate_command(config, options, flags->json, isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr, std::cout);
  };
}

}  // namespace vqvae::cli
