// `vqvae goldens check|regen`: the HDF5 golden fixtures of fixtures/ (every suite of
// fixtures/golden_suites.h: pca_goldens.h5, conform_goldens.h5; schemas in fixtures/README.md).
// check: compare each file with what the library computes now in float32 (exit 0/1). regen: compute
// the float64 reference the files store (goldens/precision.h: no BLAS kernel moves its
// bits), show what changed, then rewrite atomically; never under CI unless --force. Both compute
// on one thread, whatever --threads says.
#include "commands.h"

#include <vqvae/tensor/runtime.h>
#include <vqvae/fixtures/golden_suites.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "vqvae_cli_build.h"

namespace vqvae::cli {

CommandRunner add_goldens_command(CLI::App& app) {
  struct Flags {
    std::string fixtures = VQVAE_FIXTURES_DIR;
    bool force = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand("goldens", "Check or regenerate the HDF5 golden fixtures");
  sub->require_subcommand(1);
  CLI::App* check = sub->add_subcommand(
      "check", "Compare every golden file with what the code computes now; exit 0 iff all match. "
               "Also lists stale cases (read by no test) and missing ones");
  check->add_option("--fixtures", flags->fixtures, "Folder holding the golden files")->capture_default_str();
  check->fallthrough();
  CLI::App* regen = sub->add_subcommand(
      "regen", "Recompute every golden file, show what changed, and replace it atomically (only "
               "when something changed). Refuses when the environment variable CI is set");
  regen->add_option("--fixtures", flags->fixtures, "Folder holding the golden files")->capture_default_str();
  regen->add_flag("--force", flags->force, "Write even when CI is set, and even when nothing changed");
  regen->fallthrough();

  return [flags, check](const GlobalOptions&) {
    set_threads(1);  // the fixtures' values must not depend on the core count
    int status = 0;
    for (const GoldenSuite& suite : golden_suites()) {
      const std::string path = (std::filesystem::path(flags->fixtures) / suite.file_name).string();
      if (check->parsed()) {
        const GoldenReport report = compare_golden_records(path, suite.compute(GoldenPrecision::float32));
        std::cout << format_golden_report(report);
        if (!report.ok()) status = 1;
        continue;
      }
      RegenOptions options;
      options.command = kGoldenRegenCommand;
      options.ci = std::getenv("CI") != nullptr;
      options.force = flags->force;
      const RegenResult result =
          regen_golden_records(path, *suite.schema, suite.compute(GoldenPrecision::float64), options, std::cout);
      if (result.outcome == RegenOutcome::refused) {
        std::cout.flush();
        std::cerr << "vqvae: goldens regen: the environment variable CI is set: refusing to write " << path
                  << (result.had_changes ? " (it differs from the code: see above)" : "")
                  << "; run regen outside CI, or pass --force" << std::endl;
        status = 1;
      }
    }
    return status;
  };
}

}  // namespace vqvae::cli
