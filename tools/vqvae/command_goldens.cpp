// `vqvae goldens check|regen`: the HDF5 golden fixtures (fixtures/pca_goldens.h5, schema in
// fixtures/README.md). check: compare the file with what the code computes now (exit 0/1).
// regen: show what changed, then rewrite atomically; never under CI unless --force.
#include "commands.h"

#include <vqvae/harness/goldens.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#ifndef VQVAE_FIXTURES_DIR
#define VQVAE_FIXTURES_DIR "fixtures"
#endif

namespace vqvae::cli {
namespace {

// The invocation as recorded in the file: argv[0] (a build path) shortened to "vqvae", so that
// the same regeneration from another folder writes the same bytes.
std::string recorded_command(const std::string& command_line) {
  const auto space = command_line.find(' ');
  return "vqvae" + (space == std::string::npos ? std::string() : command_line.substr(space));
}

}  // namespace

CommandRunner add_goldens_command(CLI::App& app) {
  struct Flags {
    std::string fixtures = VQVAE_FIXTURES_DIR;
    bool force = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand("goldens", "Check or regenerate the HDF5 golden fixtures");
  sub->require_subcommand(1);
  CLI::App* check = sub->add_subcommand(
      "check", "Compare the golden file with what the code computes now; exit 0 iff all match. "
               "Also lists stale cases (read by no test) and missing ones");
  check->add_option("--fixtures", flags->fixtures, "Folder holding " + std::string(kGoldenFileName))
      ->capture_default_str();
  check->fallthrough();
  CLI::App* regen = sub->add_subcommand(
      "regen", "Recompute the golden file, show what changed, and replace it atomically (only "
               "when something changed). Refuses when the environment variable CI is set");
  regen->add_option("--fixtures", flags->fixtures, "Folder holding " + std::string(kGoldenFileName))
      ->capture_default_str();
  regen->add_flag("--force", flags->force,
                  "Write even when CI is set, and even when nothing changed");
  regen->fallthrough();

  return [flags, check](const GlobalOptions& global) {
    const std::string path = golden_file_path(flags->fixtures);
    if (check->parsed()) {
      const GoldenReport report = compare_goldens(path);
      std::cout << format_golden_report(report);
      return report.ok() ? 0 : 1;
    }
    RegenOptions options;
    options.command = recorded_command(global.command_line);
    options.ci = std::getenv("CI") != nullptr;
    options.force = flags->force;
    const RegenResult result = regen_goldens(path, options, std::cout);
    if (result.outcome == RegenOutcome::refused) {
      std::cout.flush();
      std::cerr << "vqvae: goldens regen: the environment variable CI is set: refusing to write "
                << path << (result.had_changes ? " (it differs from the code: see above)" : "")
                << "; run regen outside CI, or pass --force" << std::endl;
      return 1;
    }
    return 0;
  };
}

}  // namespace vqvae::cli
