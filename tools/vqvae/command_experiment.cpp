// `vqvae experiment`: the R(D)-initialisation study. Several inits × several seeds on the same
// data (the configuration flags of `validate`), at one rate (--codebook-size) or several
// (--codebook-sizes: a rate sweep), a table against k-means and D(R), one HDF5 file with
// everything, and a plot drawn by gnuplot. With --shard I/N (or inside a SLURM array job) it
// runs one shard of the grid and writes a part for `vqvae merge` (command_merge.cpp).
#include "commands.h"
#include "config_flags.h"
#include "schedule_flags.h"

#include <vqvae/core/format.h>
#include <vqvae/core/interrupt.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/experiment/experiment.h>
#include <vqvae/study/factory.h>
#include <vqvae/preflight/memory_estimate.h>
#include <vqvae/experiment/sweep_grid.h>
#include <vqvae/experiment/sweep_report.h>
#include <vqvae/experiment/sweep_shard.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace vqvae::cli {
namespace {

// "16,64,256" -> ascending sizes. Throws InvalidArgument naming --codebook-sizes.
std::vector<int64_t> parse_sizes(const std::string& text) {
  std::vector<int64_t> sizes;
  for (const std::string& item : split(text, ',')) {
    if (item.size() > 12 || item.find_first_not_of("0123456789") != std::string::npos || std::stoll(item) < 1)
      throw_invalid_argument(param("codebook_sizes"), "must be a comma-separated list of integers >= 1, got " +
                                                          in_quotes(text));
    sizes.push_back(std::stoll(item));
  }
  if (sizes.empty()) throw_invalid_argument(param("codebook_sizes"), "must list at least one size, got " + in_quotes(text));
  std::sort(sizes.begin(), sizes.end());
  for (size_t i = 1; i < sizes.size(); ++i)
    if (sizes[i] == sizes[i - 1])
      throw_invalid_argument(param("codebook_sizes"), "lists " + std::to_string(sizes[i]) + " twice, got " + in_quotes(text));
  return sizes;
}

std::string signed_db(double value) { return (value >= 0 ? "+" : "") + format_significant(value, 3) + " dB"; }

// One progress line per finished cell, with the held-out D the table leads with, the time so far
// and an estimate of the time left: the seconds per unit of predicted cost (cell_cost, the weights
// the shards are balanced by) of the cells computed in this process, times the cost of the cells
// left (resumed cells cost nothing). On a terminal the line is rewritten in place; elsewhere (a
// log, a pipe) one line each. `quiet`: no line per run, only a plain line (never rewritten) at
// each tenth of the runs, with the count, the time so far and the estimate.
struct ProgressPrinter {
  CellProgress on_cell;
  std::function<void()> finish;  // ends the updating line on a terminal
};

ProgressPrinter progress_printer(const SweepGrid& grid, const std::vector<SweepCell>& cells, int64_t training_total,
                                 const std::string& work_folder, bool quiet) {
  struct State {
    int64_t done = 0;
    double cost_left = 0, cost_computed = 0;
    bool terminal = false, line_open = false;
    int64_t tenths_said = 0;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  };
  auto state = std::make_shared<State>();
  state->terminal = !quiet && isatty(STDERR_FILENO) == 1;
  for (const SweepCell& cell : cells) state->cost_left += cell_cost(grid, cell);
  const auto say = [state](const std::string& line) {
    if (state->terminal) {
      std::cerr << "\r\033[K" << line << std::flush;
      state->line_open = true;
    } else {
      std::cerr << line << std::endl;
    }
  };
  ProgressPrinter printer;
  printer.on_cell = [&grid, training_total, state, work_folder, say, quiet](const CellResult& r, bool resumed) {
    const std::string from = resumed ? " (finished earlier, read from " + work_folder + ")" : "";
    const double cost = cell_cost(grid, r.cell);
    state->cost_left -= cost;
    if (!resumed) state->cost_computed += cost;
    if (r.cell.kind == CellKind::kmeans_reference) {
      if (quiet) return;
      say(cell_name(r.cell, grid) + ": " +
          (r.skipped.empty() ? "D test " + format_significant(r.kmeans_test_distortion, 4) : r.skipped) + from);
      return;
    }
    ++state->done;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - state->start).count();
    const int64_t tenths = state->done * 10 / std::max<int64_t>(training_total, 1);
    if (quiet && tenths == state->tenths_said) return;
    state->tenths_said = tenths;
    std::string line = "[" + std::to_string(state->done) + "/" + std::to_string(training_total) + "] ";
    if (quiet) {
      line += "runs finished";
    } else {
      line += cell_name(r.cell, grid) + ": ";
      const RunSummary& s = r.run.summary;
      line += !r.skipped.empty() ? r.skipped
                                 : "D test " + format_significant(s.test_distortion, 4) + " (" + signed_db(s.test_gap_db) +
                                       "), D train " + format_significant(s.distortion, 4) + ", dead " +
                                       std::to_string(s.test_dead_codes) + "/" + std::to_string(s.dead_codes) +
                                       " (test/train)";
      line += from;
    }
    line += "; " + format_duration(elapsed) + " elapsed";
    if (state->cost_left > 0 && state->cost_computed > 0) {
      const double left = elapsed / state->cost_computed * state->cost_left;
      line += left < 1 ? ", under 1 s left" : ", ~" + format_duration(left) + " left";
    }
    say(line);
  };
  printer.finish = [state] {
    if (state->line_open) std::cerr << std::endl;
    state->line_open = false;
  };
  return printer;
}

}  // namespace

CommandRunner add_experiment_command(CLI::App& app) {
  struct Flags {
    std::unique_ptr<ConfigFlags> config;
    std::unique_ptr<ScheduleFlags> schedule;
    std::string inits = "uniform,random_normal,kmeans,rd_gaussian,rd_waterfill";
    std::string codebook_sizes, shard;
    int64_t seeds = 5;
    int64_t kmeans_max_iter = 100;
    bool quiet = false, print_config = false, json = false;
    std::string out = "experiment.h5", plot;
    CLI::Option* plot_option = nullptr;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "experiment", "The R(D)-initialisation study: inits × seeds on the same data, against "
                    "k-means and the Gaussian bound D(R), at one rate or several");
  flags->config = std::make_unique<ConfigFlags>(sub);
  sub->add_option("--codebook-sizes", flags->codebook_sizes,
                  "Comma-separated codebook sizes: a rate sweep over all of them (default: --codebook-size)")
      ->excludes(sub->get_option("--codebook-size"));
  sub->add_option("--shard", flags->shard,
                  "Run shard I of N of the grid and write a part for `vqvae merge` (default inside a SLURM "
                  "array job: SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT)");
  sub->add_option("--inits", flags->inits, "Comma-separated initialisations to compare")->capture_default_str();
  sub->add_option("--seeds", flags->seeds, "Runs per init (seeds --seed, --seed + 1, ...)")->capture_default_str();
  flags->schedule = std::make_unique<ScheduleFlags>(sub, " per run");
  sub->add_option("--kmeans-max-iter", flags->kmeans_max_iter, "Lloyd iterations of the k-means reference")
      ->capture_default_str();
  sub->add_option("--out", flags->out,
                  "HDF5 file for every run's history and the summary (with --shard: the shard's part); "
                  "finished runs wait in OUT.partial/ until it is written")
      ->capture_default_str();
  flags->plot_option = sub->add_option("--plot", flags->plot,
                                       "Plot (.png or .svg; empty: none; default: --out's name with .png): "
                                       "distortion vs step at one rate, distortion vs rate for several; none with "
                                       "--shard");
  sub->add_flag("--quiet", flags->quiet,
                "No line per run: a plain progress line at each tenth of the runs (count, elapsed, time left)");
  sub->add_flag("--json", flags->json,
                "Print the table's numbers as one JSON object (the HDF5 file's names) instead of the table; the "
                "'wrote' lines go to stderr");
  sub->add_flag("--print-config", flags->print_config,
                "Print the resolved configuration (JSON) and, on stderr, the memory estimate, and exit");
  return [flags](const GlobalOptions& global) {
    RunConfig config = flags->config->resolve(global);  // exit 2 on an invalid one
    const TrainingRunOptions schedule = flags->schedule->resolve();  // exit 2 on an invalid one
    if (flags->out.empty()) throw_invalid_argument(param("out"), "must name a file, got ''");
    if (flags->plot_option->count() == 0) flags->plot = default_plot_path(flags->out);

    SweepGrid grid;
    grid.codebook_sizes = flags->codebook_sizes.empty() ? std::vector<int64_t>{config.codebook_size}
                                                        : parse_sizes(flags->codebook_sizes);
    config.codebook_size = grid.codebook_sizes.front();  // the first cell's, as the grid's reports say
    grid.config = config;
    ExperimentOptions& options = grid.options;
    options.inits.clear();
    for (const std::string& init : split(flags->inits, ','))
      options.inits.push_back(parse_choice(kInitNames, init, param("inits")));
    options.seeds = flags->seeds;
    options.training = schedule;
    options.kmeans_max_iter = flags->kmeans_max_iter;
    check_grid(grid);  // sizes, seeds, inits, k-means options
    const std::optional<ShardSpec> shard =
        flags->shard.empty() ? shard_from_slurm_environment() : std::optional(parse_shard(flags->shard, param("shard")));
    const MemoryEstimate estimate = estimate_experiment_memory(grid);
    // The largest cell's configuration: the one --print-config shows and the warnings judge.
    const RunConfig largest = size_config(grid, grid.codebook_sizes.back());
    if (flags->print_config) return print_config(largest, estimate);
    std::vector<std::pair<std::string, std::string>> outputs = {{"--out", flags->out}};
    if (!shard) outputs.emplace_back("--plot", flags->plot);
    // before any work; the warnings name the flag given (--codebook-sizes: its largest size)
    prepare_run(largest, estimate, global, outputs, flags->codebook_sizes.empty() ? "codebook_size" : "codebook_sizes");

    const std::string work_folder = flags->out + ".partial";
    const std::vector<SweepCell> cells = shard_cells(grid, shard.value_or(ShardSpec{}));
    const int64_t training_total = std::count_if(cells.begin(), cells.end(), [](const SweepCell& c) {
      return c.kind == CellKind::training;
    });
    const auto start = std::chrono::steady_clock::now();
    // SIGINT / SIGTERM: finish the current step, keep the finished runs, exit 128 + signal; a
    // second one exits at once (core/interrupt.h).
    install_interrupt_handlers();
    const GaussianDataset dataset = make_dataset(grid.config);
    const ProgressPrinter progress =
        progress_printer(grid, cells, training_total, work_folder, flags->quiet);
    const ShardRun run = run_shard(grid, shard.value_or(ShardSpec{}), work_folder, dataset, progress.on_cell);
    if (progress.finish) progress.finish();
    const int64_t finished = std::count_if(run.cells.begin(), run.cells.end(), [](const CellResult& c) {
      return c.cell.kind == CellKind::training;
    });
    const std::string kept = "; the same command resumes from " + work_folder;
    if (shard) {
      const std::string which = "shard " + to_string(*shard);
      if (run.status == RunStatus::diverged) {
        std::cerr << "vqvae: " << which << ": " << run.stop_reason << "; its " << finished << " finished runs are in "
                  << work_folder << std::endl;
        return 1;
      }
      if (run.status == RunStatus::interrupted) {
        std::cerr << "vqvae: " << which << " interrupted by " << signal_name(stop_signal()) << " after " << finished
                  << " of " << training_total << " runs; the finished runs are in " << work_folder << kept << std::endl;
        return 128 + stop_signal();
      }
      write_part_hdf5(flags->out, grid, *shard, run.cells, global.command_line);
      discard_work_folder(work_folder);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cout << which << " of grid " << grid_identity(grid) << ": " << training_total << " runs and "
                << cells.size() - static_cast<size_t>(training_total) << " k-means references ("
                << run.resumed << " read from an earlier start); wrote " << flags->out << " in "
                << format_fixed(seconds, 1) << " s" << std::endl;
      return 0;
    }
    const SweepResult result = assemble_sweep(grid, run.cells, dataset, run.status, run.stop_reason);
    write_sweep_hdf5(flags->out, result, global.command_line);
    if (run.status == RunStatus::diverged) {
      std::cerr << "vqvae: " << run.stop_reason << "; the " << finished << " finished runs are in " << flags->out
                << " (status diverged)" << std::endl;
      return 1;
    }
    if (run.status == RunStatus::interrupted) {
      std::cerr << "vqvae: interrupted by " << signal_name(stop_signal()) << " after " << finished << " of "
                << training_total << " runs; the finished runs are in " << flags->out << " (status interrupted)"
                << kept << std::endl;
      return 128 + stop_signal();
    }
    discard_work_folder(work_folder);
    std::ostream& said = print_sweep_outputs(result, flags->json, "wrote " + flags->out, flags->plot);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    said << "finished in " << format_fixed(seconds, 1) << " s" << std::endl;
    return 0;
  };
}

}  // namespace vqvae::cli
