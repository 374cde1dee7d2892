// `vqvae conform --driver "CMD ..."`: the harness's checks pointed at another implementation of
// the seed's API (harness/conform.h): the golden suite's cases, the areas' built-in cases and cases
// at the configuration about to run (the configuration flags of `validate`), run by the driver,
// judged here. `--area` runs a subset, `--junit FILE` writes JUnit XML. Exit 0 all pass, 1 a check
// failed, 2 usage error or a driver that cannot run.
#include "commands.h"
#include "vqvae_cli_build.h"
#include "config_flags.h"

#include <vqvae/core/errors.h>
#include <vqvae/core/runtime.h>
#include <vqvae/harness/conform.h>
#include <vqvae/io/atomic_file.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

namespace vqvae::cli {

CommandRunner add_conform_command(CLI::App& app) {
  struct Flags {
    std::unique_ptr<ConfigFlags> config;
    std::string driver, keep, junit;
    std::vector<std::string> areas;
    std::string goldens = std::string(VQVAE_FIXTURES_DIR) + "/" + kConformGoldenFileName;
    double timeout = 600;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "conform", "Check another implementation of the seed's API through a driver: the five fixes and the "
                 "pipeline behind the study (data, PCA, quantizers, loss, inits, metrics, trainer) "
                 "(docs/conform_protocol.md)");
  flags->config = std::make_unique<ConfigFlags>(sub);
  sub->add_option("--driver", flags->driver,
                  "Command that runs the implementation under test; REQUEST.h5 RESPONSE.h5 are appended "
                  "(e.g. \"/usr/bin/python3 tools/python/seed_api_driver.py --repo PATH\")")
      ->required();
  sub->add_option("--timeout", flags->timeout, "Seconds the driver may take")->capture_default_str();
  sub->add_option("--keep", flags->keep, "Folder in which to keep request.h5, response.h5 and the driver's stderr");
  sub->add_option("--goldens-file", flags->goldens,
                  "The conformance golden file (its cases run too; skipped when the default one does not exist)")
      ->capture_default_str();
  sub->add_flag("--json", flags->json, "Print the report as JSON instead of the table");
  std::string area_names;
  for (const std::string& name : conform_area_names()) area_names += (area_names.empty() ? "" : ", ") + name;
  sub->add_option("--area", flags->areas, "Run only these areas' checks and cases (" + area_names + ")")
      ->delimiter(',');
  sub->add_option("--junit", flags->junit, "Also write the checks as JUnit XML to this file (one testcase per check)");
  return [flags](const GlobalOptions& global) {
    const RunConfig config = flags->config->resolve(global);  // exit 2 on an invalid one
    if (!(flags->timeout > 0)) throw_invalid_argument(param("timeout"), "must be > 0, got " + std::to_string(flags->timeout));
    resolve_device(global.device);
    set_threads(config.threads);
    ConformOptions options;
    options.driver = flags->driver;
    options.timeout_seconds = flags->timeout;
    options.keep_folder = flags->keep;
    options.command = global.command_line;
    options.areas = flags->areas;
    const bool default_goldens = flags->goldens == std::string(VQVAE_FIXTURES_DIR) + "/" + kConformGoldenFileName;
    if (!default_goldens || std::filesystem::exists(flags->goldens)) options.goldens_file = flags->goldens;
    ConformReport report;
    try {
      report = run_conform(config, options);
    } catch (const DriverError& e) {
      std::cerr << "vqvae: conform: " << e.what() << std::endl;
      return 2;
    }
    if (!flags->junit.empty()) write_file_atomically(flags->junit, format_conform_junit(report));
    std::cout << (flags->json ? format_conform_json(report) + "\n"
                              : format_conform_table(report, isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr))
              << std::flush;
    return report.passed() ? 0 : 1;
  };
}

}  // namespace vqvae::cli
