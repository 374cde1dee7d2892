// `vqvae merge PART... --out all.h5`: the parts written by the shards of one rate sweep
// (`vqvae experiment --shard I/N`, or a SLURM array job) into the file, table and plot the
// unsharded run writes, with the same numbers bit for bit. Refuses (one line, exit 1, nothing
// written) parts of another grid, a missing or duplicated shard or run.
#include "commands.h"

#include <vqvae/core/format.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/study/factory.h>
#include <vqvae/experiment/sweep_report.h>
#include <vqvae/experiment/sweep_shard.h>

#include <iostream>
#include <memory>

namespace vqvae::cli {

CommandRunner add_merge_command(CLI::App& app) {
  struct Flags {
    std::vector<std::string> parts;
    std::string out = "experiment.h5", plot;
    bool json = false;
    CLI::Option* plot_option = nullptr;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "merge", "Merge the parts of a sharded rate sweep (vqvae experiment --shard I/N) into the file, table and "
               "plot of the unsharded run");
  sub->add_option("parts", flags->parts, "The part files, one per shard, in any order")->required();
  sub->add_option("--out", flags->out, "HDF5 file of the whole sweep")->capture_default_str();
  flags->plot_option =
      sub->add_option("--plot", flags->plot, "Plot (.png or .svg; empty: none; default: --out's name with .png)");
  sub->add_flag("--json", flags->json,
                "Print the table's numbers as one JSON object (the HDF5 file's names) instead of the table; the "
                "'wrote' lines go to stderr");
  return [flags](const GlobalOptions& global) {
    if (flags->out.empty()) throw_invalid_argument(param("out"), "must name a file, got ''");
    check_output_folder(flags->out, "--out");
    if (flags->plot_option->count() == 0) flags->plot = default_plot_path(flags->out);
    if (!flags->plot.empty()) check_output_folder(flags->plot, "--plot");
    const MergedSweep merged = merge_parts(flags->parts);  // MergeRefused: one line, exit 1
    set_threads(merged.grid.config.threads);  // the shards' threads: the same D(R) bits
    const GaussianDataset dataset = make_dataset(merged.grid.config);
    const SweepResult result = assemble_sweep(merged.grid, merged.cells, dataset);
    write_sweep_hdf5(flags->out, result, global.command_line);
    print_sweep_outputs(result, flags->json,
                        "merged " + std::to_string(flags->parts.size()) + " parts of grid " +
                            grid_identity(merged.grid) + "; wrote " + flags->out,
                        flags->plot);
    return 0;
  };
}

}  // namespace vqvae::cli
