// Shards of a rate sweep and their merge. A shard is the part of a grid one process (one SLURM
// array task) runs: `--shard I/N` takes the cells assigned to shard I of N, balanced by predicted
// cost. Each finished cell is written atomically into a work folder at once, so a shard killed
// mid-way and started again reuses them; at the end the shard writes one part file carrying
// the grid (as JSON) and its identity. `vqvae merge` checks that the parts form exactly one grid
// and hands back every cell, which the report (sweep_report.h) turns into the same file, table
// and plot as an unsharded run.
#pragma once

#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/experiment/sweep_cells.h>
#include <vqvae/experiment/sweep_grid.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vqvae {

/// Shard `index` of `count`, counted from 1.
struct ShardSpec {
  int64_t index = 1;
  int64_t count = 1;
};

/// "I/N" with 1 <= I <= N. Throws InvalidArgument naming `where` otherwise.
ShardSpec parse_shard(const std::string& text, const std::string& where);
/// "I/N".
std::string to_string(const ShardSpec& shard);

/// A SLURM array task's shard: I = (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) /
/// SLURM_ARRAY_TASK_STEP + 1 (MIN defaults to 0, STEP to 1), N = SLURM_ARRAY_TASK_COUNT, so that
/// `--array=0-3`, `--array=1-4` and `--array=0-6:2` all give shards 1/4 to 4/4. None when
/// SLURM_ARRAY_TASK_ID is unset; throws InvalidArgument naming the variable for a value that is
/// not a number or out of range.
std::optional<ShardSpec> shard_from_slurm_environment();

/// The cells of shard `shard`, in grid order: the cells, costliest first (cell_cost), each go to
/// the shard with the least cost so far (the lowest index on ties): deterministic, and within
/// the largest cell's cost of the ideal balance.
std::vector<SweepCell> shard_cells(const SweepGrid& grid, const ShardSpec& shard);

/// Called after each cell of a shard: its result, and whether it was read from the work folder
/// instead of run.
using CellProgress = std::function<void(const CellResult& result, bool resumed)>;

struct ShardRun {
  std::vector<CellResult> cells;  ///< the finished cells, in grid order
  RunStatus status = RunStatus::completed;
  std::string stop_reason;        ///< diverged: "size 256 uniform seed 43: training diverged at ..."
  int64_t resumed = 0;            ///< cells read from the work folder
};

/// Runs the cells of `shard` in grid order. With a `work_folder` (created if missing), each
/// finished cell goes there at once as `cell_<index>.h5` (atomically), and cells already there
/// from an earlier start of the same grid are read instead of run; "" keeps everything in memory.
/// Stops at a diverging cell (status diverged) or after SIGINT / SIGTERM (status interrupted,
/// the unfinished cell dropped). Throws InvalidArgument naming param("out") when the folder
/// holds a cell of another grid, IoError when it cannot be written.
ShardRun run_shard(const SweepGrid& grid, const ShardSpec& shard, const std::string& work_folder,
                   const GaussianDataset& dataset, const CellProgress& progress = nullptr);

/// Removes a work folder's cell files, then the folder if nothing else is in it (after the
/// shard's or the run's file is written).
void discard_work_folder(const std::string& folder);

/// The part file of a finished shard: the grid's JSON and identity, the shard, the indices of
/// its cells and each cell under /cells/cell_<index>, provenance. Atomic.
void write_part_hdf5(const std::string& path, const SweepGrid& grid, const ShardSpec& shard,
                     const std::vector<CellResult>& cells, const std::string& command);

/// A merge that cannot be done: what() is one line naming the part and what is wrong.
class MergeRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MergedSweep {
  SweepGrid grid;
  std::vector<CellResult> cells;  ///< every cell of the grid, in grid order
};

/// Reads the parts and checks that they come from one grid that this build reproduces, that
/// they are the shards 1..N of one N, each once, and that every cell of the grid is there exactly
/// once. Throws MergeRefused otherwise (nothing is written by anyone).
MergedSweep merge_parts(const std::vector<std::string>& paths);

}  // namespace vqvae
