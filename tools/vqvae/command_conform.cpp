// `vqvae conform --driver "CMD ..."`: the harness's checks pointed at another implementation of
// the baseline's API (conform/conform.h): the golden suite's cases, the areas' built-in cases and cases
// at the configuration about to run (the configuration flags of `validate`), run by the driver,
// judged here. `--area` and `--only` run a subset, `--list-checks` prints every check's id,
// `--expect FILE` accepts known defects by id (`--strict`: one that passes fails the run),
// `--write-expect FILE` writes the run's failures as such a file, `--junit FILE` writes JUnit XML.
// Exit 0 when no check fails unexpectedly, 1 when one does, 2 usage error or a driver that cannot run.
#include "commands.h"
#include "vqvae_cli_build.h"
#include "config_flags.h"

#include <vqvae/core/errors.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/conform/conform.h>
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
    std::string driver, keep, junit, expect, write_expect;
    std::vector<std::string> areas, only;
    bool strict = false, list_checks = false, verbose = false;
    std::string goldens = std::string(VQVAE_FIXTURES_DIR) + "/" + kConformGoldenFileName;
    double timeout = 600;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "conform", "Check another implementation of the baseline's API through a driver: the five fixes and the "
                 "pipeline behind the study (data, PCA, quantizers, loss, inits, metrics, trainer) "
                 "(docs/conform_protocol.md)");
  flags->config = std::make_unique<ConfigFlags>(sub);
  sub->add_option("--driver", flags->driver,
                  "Command that runs the implementation under test; REQUEST.h5 RESPONSE.h5 are appended "
                  "(e.g. \"/usr/bin/python3 tools/python/seed_api_driver.py --repo PATH\"); required unless --list-checks");
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
  sub->add_option("--only", flags->only, "Run only the checks with these ids (vqvae conform --list-checks lists them)")
      ->delimiter(',');
  sub->add_flag("--list-checks", flags->list_checks, "Print every check's id, fix and what it checks, and exit");
  sub->add_option("--expect", flags->expect,
                  "File of known defects: lines 'CHECK-ID: reason'; their failures are expected (exit 0 when only they fail)");
  sub->add_flag("--strict", flags->strict, "With --expect: an expected failure that passes now fails the run");
  sub->add_option("--write-expect", flags->write_expect, "Write this run's failures to this file as a starting --expect file");
  sub->add_flag("-v,--verbose", flags->verbose, "List every check, not only those that did not pass");
  sub->add_option("--junit", flags->junit, "Also write the checks as JUnit XML to this file (one testcase per check)");
  return [flags](const GlobalOptions& global) {
    if (flags->list_checks) {
      for (const ConformCheckInfo& check : conform_checks())
        std::cout << check.id << "\t" << (check.fix ? "fix #" + std::to_string(*check.fix) : std::string("-")) << "\t"
                  << check.title << "\n";
      return 0;
    }
    if (flags->driver.empty()) throw_invalid_argument(param("driver"), "is required (the command that runs the implementation), got none");
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
    options.only = flags->only;
    if (!flags->expect.empty()) options.expectations = read_conform_expectations(flags->expect);  // exit 2 when malformed
    options.strict = flags->strict;
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
    if (!flags->write_expect.empty()) write_file_atomically(flags->write_expect, format_conform_expectations(report));
    std::cout << (flags->json ? format_conform_json(report) + "\n"
                              : format_conform_table(report, isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr,
                                                     flags->verbose))
              << std::flush;
    return report.passed() ? 0 : 1;
  };
}

}  // namespace vqvae::cli
