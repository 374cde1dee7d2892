// The result of a whole rate sweep, from its cells (run in one process or merged from shards):
// per size the same ExperimentResult a single-rate `vqvae experiment` reports, then the table
// per size and init, the HDF5 file and the rate plot against Shannon's D(R). Everything here is
// computed from the cells alone, so an unsharded run and a merge write the same numbers.
#pragma once

#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/experiment/report.h>
#include <vqvae/experiment/result.h>
#include <vqvae/experiment/sweep_cells.h>
#include <vqvae/experiment/sweep_grid.h>

#include <string>
#include <vector>

namespace vqvae {

struct SweepResult {
  SweepGrid grid;
  std::vector<ExperimentResult> sizes;  ///< one per codebook size, ascending
  RunStatus status = RunStatus::completed;
  int64_t finished_runs = 0;            ///< training cells finished (each size's own in sizes[i])
  std::string stop_reason;              ///< diverged: which cell and why
};

/// Per size: the training cells in init and seed order, the k-means reference per seed, D(R)
/// from the latents (sweep_latents) at R = log2(size). `cells` may lack some (a stopped run):
/// inits without a run are left out and the k-means reference is dropped for every size unless
/// complete. `status` and `stop_reason` are the run's.
SweepResult assemble_sweep(const SweepGrid& grid, const std::vector<CellResult>& cells,
                           const GaussianDataset& dataset, RunStatus status = RunStatus::completed,
                           const std::string& stop_reason = "");

/// The table: one block per size (rate in bits per latent dimension, D(R)), a row per init
/// (D mean ± std, gap to D(R) in dB, dead codes) and the k-means reference; notes for every
/// cell that ran something else than configured or did not run. A one-size sweep prints
/// format_experiment_table instead.
std::string format_sweep_table(const SweepResult& result);

/// The numbers of the table and the HDF5 file as one JSON object (`--json`): status,
/// finished_runs, grid_identity, and `sizes`, one object per size in ascending order holding what
/// the HDF5 file holds for that size by the same names (codebook_size, rate_bits,
/// distortion_rate_bound, eigenvalues, seeds; runs.<init>: the per-seed and per-step columns and
/// their means; paired.<a>_minus_<b>; kmeans), without the histories and codebooks. NaN and
/// infinities are null.
std::string format_sweep_json(const SweepResult& result);

/// One HDF5 file. A one-size sweep writes exactly write_experiment_hdf5's layout. Several sizes:
/// /sizes/<size>/ holds each size's experiment layout, /rate_distortion/ the curve (sizes, bits
/// per latent dimension, D(R), and per init the mean and std of D), the root the configuration,
/// the grid (JSON and identity) and provenance. Atomic.
void write_sweep_hdf5(const std::string& path, const SweepResult& result, const std::string& command);

/// The rate plot (several sizes; a one-size sweep draws plot_experiment's instead): D on a log
/// scale against bits per latent dimension log2(size) / k, a line per init (mean over seeds),
/// the k-means points and Shannon's D(R) curve. gnuplot, PNG or SVG by extension; returns "" or
/// a one-line reason.
std::string plot_sweep(const std::string& path, const SweepResult& result);

}  // namespace vqvae
