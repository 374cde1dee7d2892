// Running one cell of a rate sweep, and its result as an HDF5 group that reads back bit for bit
// (the unit a shard writes as soon as it finishes, and that a merge reads).
#pragma once

#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/study/run.h>
#include <vqvae/experiment/sweep_grid.h>

#include <cstdint>
#include <string>

namespace vqvae {

class Hdf5Writer;
class Hdf5Reader;

struct CellResult {
  SweepCell cell;
  std::string substitute;   ///< CellPlan's: what ran instead of the grid's configuration
  std::string skipped;      ///< CellPlan's: why nothing ran
  TrainingRunResult run;    ///< training cells (not skipped)
  double kmeans_distortion = 0;  ///< k-means reference cells (not skipped): on the training latents
  int64_t kmeans_dead_codes = 0;
  double kmeans_test_distortion = 0;  ///< the same centres on the held-out set's latents
};

/// Runs `cell` of `grid` on `dataset` (make_dataset(grid.config)). A training run diverging
/// throws TrainingDiverged; one stopped by SIGINT / SIGTERM comes back with run.status
/// interrupted (the caller drops it). Knows nothing of shards.
CellResult run_cell(const SweepGrid& grid, const SweepCell& cell, const GaussianDataset& dataset);

/// The latents (N, k) every codebook of the grid quantizes, at every size: those of the initial
/// encoder of grid.config (the frozen PCA encoder: X U_k).
at::Tensor sweep_latents(const SweepGrid& grid, const GaussianDataset& dataset);

/// The held-out set's latents (grid.config.n_test, k) through the same encoder: what every
/// codebook's test distortion is measured on.
at::Tensor sweep_test_latents(const SweepGrid& grid, const GaussianDataset& dataset);

/// Writes `result` under `group` ("/" or "cells/cell_000042"): the cell's coordinates as
/// attributes, and for a training run the run (run.h's write_run_group) under `group`/run.
void write_cell(Hdf5Writer& file, const std::string& group, const CellResult& result);
/// The inverse: the same numbers bit for bit. Throws Hdf5Error naming the file and object when
/// something is missing, InvalidArgument for coordinates outside `grid`.
CellResult read_cell(const Hdf5Reader& file, const std::string& group, const SweepGrid& grid);

}  // namespace vqvae
