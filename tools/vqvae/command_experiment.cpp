// `vqvae experiment`: the R(D)-initialisation study. Several inits × several seeds on the same
// data (the configuration flags of `validate`), a table against k-means and D(R), one HDF5
// file with everything, and a plot of distortion vs step made by gnuplot.
#include "commands.h"
#include "config_flags.h"

#include <vqvae/core/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/core/interrupt.h>
#include <vqvae/core/runtime.h>
#include <vqvae/study/experiment.h>
#include <vqvae/study/resources.h>

#include <unistd.h>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace vqvae::cli {
namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

}  // namespace

CommandRunner add_experiment_command(CLI::App& app) {
  struct Flags {
    std::unique_ptr<ConfigFlags> config;
    std::string inits = "uniform,random_normal,kmeans,rd_gaussian,rd_waterfill";
    int64_t seeds = 5, epochs = 20, steps = 0, eval_every = 0, revival_window = 0;
    int64_t kmeans_max_iter = 100;
    bool revive = false, quiet = false, print_config = false;
    std::string out = "experiment.h5", plot = "experiment.png";
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "experiment", "The R(D)-initialisation study: inits × seeds on the same data, against "
                    "k-means and the Gaussian bound D(R)");
  flags->config = std::make_unique<ConfigFlags>(sub);
  sub->add_option("--inits", flags->inits, "Comma-separated initialisations to compare")->capture_default_str();
  sub->add_option("--seeds", flags->seeds, "Runs per init (seeds --seed, --seed + 1, ...)")->capture_default_str();
  auto* epochs = sub->add_option("--epochs", flags->epochs, "Passes over the dataset per run")->capture_default_str();
  auto* steps = sub->add_option("--steps", flags->steps, "Optimizer steps per run (instead of --epochs)");
  epochs->excludes(steps);
  sub->add_option("--eval-every", flags->eval_every, "Evaluate every N steps (default: once per epoch)");
  sub->add_flag("--revive-dead-codes", flags->revive,
                "Re-seed codewords unused over the revival window from latents of the current batch");
  sub->add_option("--revival-window", flags->revival_window,
                  "Steps without use after which a codeword is dead (default: one epoch)");
  sub->add_option("--kmeans-max-iter", flags->kmeans_max_iter, "Lloyd iterations of the k-means reference")
      ->capture_default_str();
  sub->add_option("--out", flags->out, "HDF5 file for every run's history and the summary")->capture_default_str();
  sub->add_option("--plot", flags->plot, "Plot of distortion vs step (.png or .svg; empty: none)")
      ->capture_default_str();
  sub->add_flag("--quiet", flags->quiet, "No per-run progress lines");
  sub->add_flag("--print-config", flags->print_config,
                "Print the resolved configuration (JSON) and, on stderr, the memory estimate, and exit");
  return [flags](const GlobalOptions& global) {
    const RunConfig config = flags->config->resolve(global);  // exit 2 on an invalid one
    if (flags->seeds < 1) throw_invalid_argument(param("seeds"), "must be >= 1, got " + std::to_string(flags->seeds));
    if (flags->epochs < 1) throw_invalid_argument(param("epochs"), "must be >= 1, got " + std::to_string(flags->epochs));
    if (flags->steps < 0) throw_invalid_argument(param("steps"), "must be >= 1, got " + std::to_string(flags->steps));
    if (flags->eval_every < 0)
      throw_invalid_argument(param("eval_every"), "must be >= 1, got " + std::to_string(flags->eval_every));
    if (flags->revival_window < 0)
      throw_invalid_argument(param("revival_window"), "must be >= 1, got " + std::to_string(flags->revival_window));
    if (flags->kmeans_max_iter < 0)
      throw_invalid_argument(param("kmeans_max_iter"), "must be >= 0, got " + std::to_string(flags->kmeans_max_iter));
    if (flags->out.empty()) throw_invalid_argument(param("out"), "must name a file, got ''");

    ExperimentOptions options;
    options.inits.clear();
    for (const std::string& init : split_list(flags->inits))
      options.inits.push_back(parse_choice(kInitNames, init, param("inits")));
    options.seeds = flags->seeds;
    options.training.epochs(flags->epochs).steps(flags->steps).eval_every(flags->eval_every)
        .revive_dead_codes(flags->revive).revival_window(flags->revival_window);
    options.kmeans_max_iter = flags->kmeans_max_iter;
    const MemoryEstimate estimate = estimate_experiment_memory(config, options);
    if (flags->print_config) return print_config(config, estimate);
    prepare_run(config, estimate, global, {{"--out", flags->out}, {"--plot", flags->plot}});  // before any work
    const int64_t total_runs = flags->seeds * static_cast<int64_t>(options.inits.size());
    auto done = std::make_shared<int64_t>(0);
    if (!flags->quiet) {
      options.on_run = [total_runs, done](InitKind init, uint64_t seed, const RunSummary& s) {
        ++*done;
        std::cerr << "[" << *done << "/" << total_runs << "] " << to_string(init) << " seed " << seed << ": D "
                  << format_significant(s.distortion, 4) << " (" << (s.gap_db >= 0 ? "+" : "")
                  << format_significant(s.gap_db, 3) << " dB), " << s.dead_codes << " dead" << std::endl;
      };
    }
    const auto start = std::chrono::steady_clock::now();
    // SIGINT / SIGTERM: finish the current step, keep the finished runs, exit 128 + signal; a
    // second one exits at once (core/interrupt.h).
    install_interrupt_handlers();
    ExperimentResult result;
    try {
      result = run_experiment(config, options);
    } catch (const ExperimentDiverged& e) {
      write_experiment_hdf5(flags->out, e.partial(), global.command_line);
      std::cerr << "vqvae: " << e.what() << "; the " << e.partial().finished_runs << " finished runs are in "
                << flags->out << " (status diverged)" << std::endl;
      return 1;
    }
    write_experiment_hdf5(flags->out, result, global.command_line);
    if (result.status == RunStatus::interrupted) {
      std::cerr << "vqvae: interrupted by " << signal_name(stop_signal()) << " after " << result.finished_runs
                << " of " << total_runs << " runs; the finished runs are in " << flags->out
                << " (status interrupted)" << std::endl;
      return 128 + stop_signal();
    }
    std::cout << format_experiment_table(result);
    std::cout << "wrote " << flags->out << "\n";
    if (!flags->plot.empty()) {
      const std::string problem = plot_experiment(flags->plot, result);
      if (problem.empty()) std::cout << "wrote " << flags->plot << "\n";
      else std::cout << "plot: " << problem << "\n";
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "finished in " << format_fixed(seconds, 1) << " s" << std::endl;
    return 0;
  };
}

}  // namespace vqvae::cli
