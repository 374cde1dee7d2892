// A rate sweep (`vqvae experiment --codebook-sizes 16,64,256,1024,4096`): the R(D)-initialisation
// study at several rates. The grid is a list of cells in one fixed order — a training run per
// codebook size × init × seed, and a k-means reference per size × seed — and each cell's numbers
// depend only on the grid and the cell's own coordinates. So cells can run in any process, in
// any order, and still give the same numbers bit for bit for the same --threads: that is what
// lets a grid be cut into shards (sweep_shard.h) and merged again.
#pragma once

#include <vqvae/experiment/result.h>
#include <vqvae/study/run_config.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vqvae {

struct SweepGrid {
  /// The configuration every cell shares. Its codebook_size is a run's, as everywhere: the
  /// first cell's (the first size; sweep_config), and each cell runs at its own (size_config).
  RunConfig config;
  /// The grid's codebook sizes: ascending, distinct.
  std::vector<int64_t> codebook_sizes;
  /// Inits, seeds, training and k-means options (on_run is not part of the grid).
  ExperimentOptions options;
};

/// Throws InvalidArgument for an empty or unsorted size list, a repeated size, or anything
/// run_experiment refuses (check_config at every size, seeds, inits, k-means options).
void check_grid(const SweepGrid& grid);

enum class CellKind { training, kmeans_reference };

struct SweepCell {
  int64_t index = 0;  ///< position in grid order, from 0
  CellKind kind = CellKind::training;
  int64_t codebook_size = 0;
  InitKind init = InitKind::uniform;  ///< training cells only
  uint64_t seed = 0;
};

/// Grid order: for each size (ascending), for each init (options' order), for each seed a
/// training cell; then, still for that size, one k-means reference cell per seed.
std::vector<SweepCell> grid_cells(const SweepGrid& grid);
/// The number of cells: sizes × (inits + 1) × seeds.
int64_t grid_size(const SweepGrid& grid);
/// grid_cells(grid)[index], computed alone. Throws InvalidArgument for an index outside the grid.
SweepCell grid_cell(const SweepGrid& grid, int64_t index);

/// "size 4096 kmeans seed 43" / "size 4096 k-means reference seed 43"; without "size 4096 " in
/// a grid of one size ("kmeans seed 43", as a single-rate experiment has always said).
std::string cell_name(const SweepCell& cell, const SweepGrid& grid);

/// grid.config with the fields every cell overrides set to the grid's first (codebook_size the
/// first size, init the first init): a stray --codebook-size or --init makes no other grid, and
/// the reports of a run and of its merge state the same configuration.
RunConfig sweep_config(const SweepGrid& grid);

/// grid.config at codebook size `size`: the configuration of that size's cells (before plan_cell's
/// per-cell seed and substitutions), e.g. the largest one's for the memory estimate.
RunConfig size_config(const SweepGrid& grid, int64_t size);

/// The grid as canonical JSON: the configuration, the sizes, inits, seeds, training and k-means
/// options, and the library and LibTorch versions (a part written by another version is another
/// grid). What a part file carries so that `vqvae merge` can rebuild the grid.
std::string grid_to_json(const SweepGrid& grid);
/// The inverse (versions are checked by comparing identities, not here). Throws InvalidArgument
/// naming `source` for text that is not such a grid.
SweepGrid grid_from_json(const std::string& text, const std::string& source);
/// 16 hex digits: the 64-bit FNV-1a hash of grid_to_json (json_identity of it).
std::string grid_identity(const SweepGrid& grid);
std::string json_identity(const std::string& json);
/// The first top-level key whose value differs between two grids' JSON, as
/// "codebook_sizes [16,64] vs [16,64,256]" ("" when none does).
std::string grid_difference(const std::string& json_a, const std::string& json_b);

/// What a cell runs. Where the grid's configuration cannot serve a cell (k-means needs a latent
/// per codeword: 4096 codewords from 500 initialisation latents), the cell runs the nearest
/// configuration that can and says so in `substitute`; where none can (more codewords than
/// samples), `skipped` says why and the cell is not run. Never silently dropped.
struct CellPlan {
  RunConfig config;        ///< the configuration the cell runs
  std::string substitute;  ///< "kmeans init from 4096 latents instead of init_samples = 500 (...)"
  std::string skipped;     ///< "skipped: ..." or ""
};
CellPlan plan_cell(const SweepGrid& grid, const SweepCell& cell);

/// The predicted cost of a cell in multiply-adds of its nearest-codeword searches (training
/// steps, evaluations, k-means iterations): the weights by which shards are balanced.
double cell_cost(const SweepGrid& grid, const SweepCell& cell);

}  // namespace vqvae
