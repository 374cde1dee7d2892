// vqvae: the command-line program. Subcommands live in command_*.cpp.
//
// Exit status: 0 success, 1 a check or an operation failed, 2 invalid usage or configuration.
#include "commands.h"

#include <vqvae/core/errors.h>
#include <vqvae/tensor/runtime.h>

#include <c10/util/Exception.h>

#include <csignal>
#include <iostream>
#include <map>
#include <string>

namespace {
// One line: LibTorch's c10::Error appends a backtrace; keep only the first line of any message.
std::string first_line(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  const std::string text = torch_error ? torch_error->what_without_backtrace() : e.what();
  return text.substr(0, text.find('\n'));
}
}  // namespace

int main(int argc, char** argv) {
  using namespace vqvae::cli;
  // Past a file-size limit (ulimit -f) write() then fails with EFBIG, like a full disk, and the
  // writer removes its temporary; by default SIGXFSZ would kill the process and leave it.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"vqvae: VQ-VAE baseline with the documented fixes, and its verification harness"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "vqvae " + vqvae::library_version() + " (LibTorch " +
                                        vqvae::torch_version() + ")");
  GlobalOptions global;
  CLI::Option* threads = app.add_option("--threads", global.threads, "Intra-op threads (default 1: reproducible, and "
                                              "fastest for these sizes)")
      ->check(CLI::Range(1, 1024));
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
  add(add_merge_command);
  add(add_bench_command);
  add(add_conform_command);

  check_integer_ranges(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << usage_error_message(app, e) << std::endl;
    return 2;
  }

  global.threads_given = threads->count() > 0;
  try {
    vqvae::set_threads(global.threads);
    vqvae::resolve_device(global.device);  // fail early and clearly
    for (CLI::App* sub : app.get_subcommands()) return runners.at(sub)(global);
  } catch (const vqvae::InvalidArgument& e) {
    std::cerr << "vqvae: " << e.message(flag_of) << std::endl;  // parameters spelled as flags
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "vqvae: " << first_line(e) << std::endl;
    return 1;
  }
  return 2;
}
