// vqvae: the command-line program. Subcommands live in command_*.cpp.
//
// Exit status: 0 success, 1 a check or an operation failed, 2 invalid usage or configuration.
#include "commands.h"
#include "core/checks.h"
#include "core/runtime.h"

#include <iostream>
#include <map>

int main(int argc, char** argv) {
  using namespace vqvae::cli;
  CLI::App app{"vqvae: VQ-VAE baseline with the documented fixes, and its verification harness"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "vqvae " + vqvae::library_version() + " (LibTorch " +
                                        vqvae::torch_version() + ")");
  GlobalOptions global;
  CLI::Option* threads = app.add_option("--threads", global.threads, "Intra-op threads (default 1: reproducible, and "
                                              "fastest for these sizes)")
      ->check(CLI::PositiveNumber);
  app.add_option("--device", global.device, "cpu or cuda (components run where their tensors are)");
  for (int i = 0; i < argc; ++i) global.command_line += (i ? " " : "") + std::string(argv[i]);

  std::map<CLI::App*, CommandRunner> runners;
  const auto add = [&](CommandRunner (*make)(CLI::App&)) {
    CommandRunner runner = make(app);
    CLI::App* added = app.get_subcommands({}).back();
    added->fallthrough();  // --threads / --device may also follow the subcommand
    runners[added] = std::move(runner);
  };
  add(add_data_command);
  add(add_validate_command);
  add(add_goldens_command);
  add(add_train_command);
  add(add_experiment_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "vqvae: " << e.what() << " (see vqvae --help)" << std::endl;
    return 2;
  }

  global.threads_given = threads->count() > 0;
  try {
    vqvae::set_threads(global.threads);
    vqvae::resolve_device(global.device);  // fail early and clearly
    for (CLI::App* sub : app.get_subcommands()) return runners.at(sub)(global);
  } catch (const vqvae::InvalidArgument& e) {
    std::cerr << "vqvae: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "vqvae: " << e.what() << std::endl;
    return 1;
  }
  return 2;
}
