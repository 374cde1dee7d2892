#include <vqvae/experiment/experiment.h>

#include <vqvae/study/factory.h>
#include <vqvae/experiment/sweep_report.h>
#include <vqvae/experiment/sweep_shard.h>

#include <memory>

namespace vqvae {

ExperimentResult run_experiment(const RunConfig& config, const ExperimentOptions& options) {
  check_config(config);
  // A sweep of one rate, in this process: the same cells, in the same order, as a sweep's.
  SweepGrid grid{config, {config.codebook_size}, options};
  grid.options.on_run = nullptr;
  check_grid(grid);
  const GaussianDataset dataset = make_dataset(config);
  CellProgress progress = nullptr;
  if (options.on_run)
    progress = [&](const CellResult& cell, bool) {
      if (cell.cell.kind == CellKind::training && cell.skipped.empty())
        options.on_run(cell.cell.init, cell.cell.seed, cell.run.summary);
    };
  const ShardRun run = run_shard(grid, ShardSpec{}, "", dataset, progress);
  SweepResult sweep = assemble_sweep(grid, run.cells, dataset, run.status, run.stop_reason);
  ExperimentResult result = std::move(sweep.sizes.front());
  if (result.status == RunStatus::diverged) {
    const std::string message = result.stop_reason;
    throw ExperimentDiverged(message, std::make_shared<const ExperimentResult>(std::move(result)));
  }
  return result;
}

}  // namespace vqvae
