// Rate sweeps as a library (docs/study.md): the grid's fixed order, its identity, what a cell runs
// when the configuration cannot serve it, the cost-balanced shards, the SLURM array variables,
// and a cell's result reading back bit for bit. The program's side (four concurrent shards
// merged to the unsharded file, the merge's refusals, a killed shard resumed) is in
// sweep/sweep_test.sh (ctest sweep.*); on a SLURM cluster in slurm/ (ctest -L slurm).
#include "test_support.h"

#include <vqvae/io/hdf5_file.h>
#include <vqvae/study/factory.h>
#include <vqvae/experiment/sweep_cells.h>
#include <vqvae/experiment/sweep_grid.h>
#include <vqvae/experiment/sweep_shard.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <numeric>
#include <set>

namespace vqvae {
namespace {

using testing::throws_invalid;

SweepGrid small_grid() {
  SweepGrid grid;
  grid.config.n = 1200;
  grid.config.init_samples = 100;
  grid.codebook_sizes = {8, 128};
  grid.options.inits = {InitKind::uniform, InitKind::kmeans};
  grid.options.seeds = 2;
  grid.options.training.steps(5);
  return grid;
}

// The default rate sweep of docs/study.md: 5 sizes × 5 inits × 5 seeds on the default data.
SweepGrid default_sweep() {
  SweepGrid grid;
  grid.codebook_sizes = {16, 64, 256, 1024, 4096};
  return grid;
}

TEST(SweepGrid, CellsInAFixedOrder) {
  const std::vector<SweepCell> cells = grid_cells(small_grid());
  // Per size: 2 inits × 2 seeds training cells, then 2 k-means references: 2 × 6.
  ASSERT_EQ(cells.size(), 12u);
  for (size_t i = 0; i < cells.size(); ++i) EXPECT_EQ(cells[i].index, static_cast<int64_t>(i));
  EXPECT_EQ(cells[0].codebook_size, 8);
  EXPECT_EQ(cells[0].init, InitKind::uniform);
  EXPECT_EQ(cells[0].seed, 42u);
  EXPECT_EQ(cells[1].seed, 43u);
  EXPECT_EQ(cells[2].init, InitKind::kmeans);
  EXPECT_EQ(cells[4].kind, CellKind::kmeans_reference);
  EXPECT_EQ(cells[5].seed, 43u);
  EXPECT_EQ(cells[6].codebook_size, 128);
  EXPECT_EQ(cell_name(cells[6], small_grid()), "size 128 uniform seed 42");
  EXPECT_EQ(cell_name(cells[11], small_grid()), "size 128 k-means reference seed 43");
  EXPECT_EQ(grid_cells(default_sweep()).size(), 5u * (5 * 5 + 5));
}

TEST(SweepGrid, IdentityChangesWithEveryPartOfTheGrid) {
  const SweepGrid grid = small_grid();
  const std::string identity = grid_identity(grid);
  EXPECT_EQ(identity.size(), 16u);
  EXPECT_EQ(grid_identity(small_grid()), identity);
  // Through its JSON and back: the same grid.
  EXPECT_EQ(grid_identity(grid_from_json(grid_to_json(grid), "test")), identity);
  const std::vector<std::function<void(SweepGrid&)>> changes = {
      [](SweepGrid& g) { g.codebook_sizes = {8, 64}; },
      [](SweepGrid& g) { g.options.inits = {InitKind::kmeans, InitKind::uniform}; },
      [](SweepGrid& g) { g.options.seeds = 3; },
      [](SweepGrid& g) { g.options.training.steps(6); },
      [](SweepGrid& g) { g.options.kmeans_max_iter = 99; },
      [](SweepGrid& g) { g.config.lr = 0.02; },
      [](SweepGrid& g) { g.config.threads = 2; },
      [](SweepGrid& g) { g.config.seed = 7; }};
  for (size_t i = 0; i < changes.size(); ++i) {
    SweepGrid changed = small_grid();
    changes[i](changed);
    EXPECT_NE(grid_identity(changed), identity) << "change " << i;
  }
  // Fields every cell overrides are not part of it.
  SweepGrid stray = small_grid();
  stray.config.codebook_size = 999;
  stray.config.init = InitKind::rd_waterfill;
  EXPECT_EQ(grid_identity(stray), identity);
  SweepGrid other = small_grid();
  other.config.lr = 0.02;
  EXPECT_EQ(grid_difference(grid_to_json(other), grid_to_json(grid)), "lr 0.02 vs 0.01");
  EXPECT_EQ(grid_difference(grid_to_json(grid), grid_to_json(grid)), "");
}

TEST(SweepGrid, RefusesABadSizeList) {
  SweepGrid grid = small_grid();
  grid.codebook_sizes = {128, 8};
  EXPECT_TRUE(throws_invalid([&] { check_grid(grid); }, {"codebook_sizes", "ascending and distinct", "128 before 8"}));
  grid.codebook_sizes = {};
  EXPECT_TRUE(throws_invalid([&] { check_grid(grid); }, {"codebook_sizes", "at least one size"}));
  grid.codebook_sizes = {0, 8};
  EXPECT_TRUE(throws_invalid([&] { check_grid(grid); }, {"codebook_sizes", ">= 1", "got 0"}));
}

// k-means needs a latent per codeword: 128 codewords from 100 initialisation latents run from
// 128 instead — every init at that size, like for like — and say so; with more codewords than
// samples nothing can serve the k-means cells, and the others keep init_samples.
TEST(SweepGrid, PlanSaysWhatRunsInsteadOfWhatCannot) {
  SweepGrid grid = small_grid();
  grid.codebook_sizes = {8, 128, 2048};
  const std::vector<SweepCell> cells = grid_cells(grid);
  const auto find = [&](int64_t size, CellKind kind, InitKind init) {
    for (const SweepCell& cell : cells)
      if (cell.codebook_size == size && cell.kind == kind && (kind != CellKind::training || cell.init == init))
        return cell;
    throw std::logic_error("no such cell");
  };
  const CellPlan fits = plan_cell(grid, find(8, CellKind::training, InitKind::kmeans));
  EXPECT_EQ(fits.substitute, "");
  EXPECT_EQ(fits.skipped, "");
  EXPECT_EQ(fits.config.init_samples, 100);
  // Like for like: k-means needs 128 latents at 128 codewords, so every init there starts from them.
  const std::string all_from_128 =
      "every init at 128 codewords from 128 latents instead of init_samples = 100 (kmeans needs one per codeword)";
  for (const InitKind init : {InitKind::kmeans, InitKind::uniform}) {
    const CellPlan more = plan_cell(grid, find(128, CellKind::training, init));
    EXPECT_EQ(more.substitute, all_from_128) << to_string(init);
    EXPECT_EQ(more.config.init_samples, 128) << to_string(init);
  }
  const CellPlan none = plan_cell(grid, find(2048, CellKind::training, InitKind::kmeans));
  EXPECT_EQ(none.skipped, "skipped: kmeans init needs 2048 latents (one per codeword), the dataset has 1200");
  EXPECT_EQ(plan_cell(grid, find(2048, CellKind::kmeans_reference, InitKind::uniform)).skipped,
            "skipped: k-means needs at least 2048 samples (one per codeword), the dataset has 1200");
  EXPECT_EQ(plan_cell(grid, find(2048, CellKind::training, InitKind::uniform)).skipped, "");
}

TEST(SweepShards, EveryCellInExactlyOneShardInGridOrder) {
  const SweepGrid grid = default_sweep();
  const size_t total = grid_cells(grid).size();
  for (int64_t count = 1; count <= 7; ++count) {
    std::set<int64_t> seen;
    for (int64_t index = 1; index <= count; ++index) {
      const std::vector<SweepCell> cells = shard_cells(grid, {index, count});
      for (size_t i = 0; i < cells.size(); ++i) {
        EXPECT_TRUE(seen.insert(cells[i].index).second) << "cell " << cells[i].index << " twice";
        if (i > 0) {
          EXPECT_LT(cells[i - 1].index, cells[i].index);
        }
      }
    }
    EXPECT_EQ(seen.size(), total) << count << " shards";
  }
}

// Balanced by cost, not count: a 4096-codeword run costs ~14 times a 16-codeword one, so the
// default sweep's 2 shards hold different numbers of cells but costs within the largest cell's.
TEST(SweepShards, BalancedByCostNotCount) {
  const SweepGrid grid = default_sweep();
  const std::vector<SweepCell> all = grid_cells(grid);
  double total = 0, largest = 0;
  for (const SweepCell& cell : all) {
    total += cell_cost(grid, cell);
    largest = std::max(largest, cell_cost(grid, cell));
  }
  for (const int64_t count : {2, 3, 4}) {
    std::vector<double> load;
    for (int64_t index = 1; index <= count; ++index) {
      double sum = 0;
      const std::vector<SweepCell> shard = shard_cells(grid, {index, count});
      for (const SweepCell& cell : shard) sum += cell_cost(grid, cell);
      load.push_back(sum);
    }
    const double most = *std::max_element(load.begin(), load.end());
    EXPECT_LE(most, total / static_cast<double>(count) + largest) << count << " shards";
    EXPECT_LT(most, 1.05 * total / static_cast<double>(count)) << count << " shards";
    // The same number of consecutive cells per shard leaves the last shard most of the work.
    double by_count = 0;
    const size_t per_shard = (all.size() + static_cast<size_t>(count) - 1) / static_cast<size_t>(count);
    for (size_t i = all.size() - per_shard; i < all.size(); ++i) by_count += cell_cost(grid, all[i]);
    EXPECT_GT(by_count, 1.5 * most) << count << " shards";
  }
  // Costlier with more codewords, for training runs and k-means references alike.
  const SweepCell first = all.front();
  SweepCell bigger = first;
  bigger.codebook_size = 4096;
  EXPECT_GT(cell_cost(grid, bigger), 10 * cell_cost(grid, first));
}

TEST(SweepShards, ParseShard) {
  const ShardSpec shard = parse_shard("2/4", "shard");
  EXPECT_EQ(shard.index, 2);
  EXPECT_EQ(shard.count, 4);
  EXPECT_EQ(to_string(shard), "2/4");
  for (const char* bad : {"0/4", "5/4", "a/b", "4", "1/0", "-1/4", "2/4/1", ""})
    EXPECT_TRUE(throws_invalid([&] { parse_shard(bad, "shard"); }, {"shard: must be I/N with 1 <= I <= N"})) << bad;
}

TEST(SweepShards, SlurmArrayVariables) {
  const auto with = [](std::initializer_list<std::pair<const char*, const char*>> variables) {
    for (const char* name : {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP", "SLURM_ARRAY_TASK_COUNT"})
      unsetenv(name);
    for (const auto& [name, value] : variables) setenv(name, value, 1);
  };
  with({});
  EXPECT_FALSE(shard_from_slurm_environment().has_value());
  with({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}});  // --array=0-3
  EXPECT_EQ(to_string(shard_from_slurm_environment().value()), "3/4");
  with({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_COUNT", "4"}});  // 1-4
  EXPECT_EQ(to_string(shard_from_slurm_environment().value()), "2/4");
  with({{"SLURM_ARRAY_TASK_ID", "6"}, {"SLURM_ARRAY_TASK_STEP", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}});  // 0-6:2
  EXPECT_EQ(to_string(shard_from_slurm_environment().value()), "4/4");
  with({{"SLURM_ARRAY_TASK_ID", "2"}});
  EXPECT_TRUE(throws_invalid([] { shard_from_slurm_environment(); }, {"SLURM_ARRAY_TASK_COUNT"}));
  with({{"SLURM_ARRAY_TASK_ID", "two"}, {"SLURM_ARRAY_TASK_COUNT", "4"}});
  EXPECT_TRUE(throws_invalid([] { shard_from_slurm_environment(); }, {"SLURM_ARRAY_TASK_ID", "'two'"}));
  with({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "4"}});
  EXPECT_TRUE(throws_invalid([] { shard_from_slurm_environment(); }, {"SLURM_ARRAY_TASK_ID", "got 4"}));
  with({});
}

// A cell written and read back: the same numbers bit for bit (what makes a merge equal to the
// unsharded run and a resumed shard equal to an uninterrupted one).
TEST(SweepCells, ResultReadsBackBitForBit) {
  const SweepGrid grid = small_grid();
  const GaussianDataset dataset = make_dataset(grid.config);
  const std::vector<SweepCell> cells = grid_cells(grid);
  const std::filesystem::path folder = testing::fresh_folder("sweep_cells");
  for (const size_t index : {size_t{8}, size_t{10}}) {  // size 128: kmeans (substituted), k-means reference
    const CellResult ran = run_cell(grid, cells[index], dataset);
    const std::string path = (folder / ("cell_" + std::to_string(index) + ".h5")).string();
    {
      Hdf5Writer file(path);
      write_cell(file, "/", ran);
      file.commit();
    }
    const CellResult read = read_cell(Hdf5Reader(path), "/", grid);
    EXPECT_EQ(read.cell.index, ran.cell.index);
    EXPECT_EQ(read.substitute, ran.substitute);
    EXPECT_EQ(read.kmeans_distortion, ran.kmeans_distortion);
    EXPECT_EQ(read.kmeans_dead_codes, ran.kmeans_dead_codes);
    ASSERT_EQ(read.run.history.size(), ran.run.history.size());
    for (const auto& [name, values] : history_columns(ran.run.history)) {
      const auto columns = history_columns(read.run.history);
      const auto it = std::find_if(columns.begin(), columns.end(), [&](const auto& c) { return c.first == name; });
      ASSERT_NE(it, columns.end());
      EXPECT_EQ(it->second, values) << name;  // doubles compared exactly
    }
    for_each_summary_field([&](const char* name, auto member) { EXPECT_EQ(read.run.summary.*member, ran.run.summary.*member) << name; });
    EXPECT_EQ(read.run.summary.eigenvalues, ran.run.summary.eigenvalues);
    if (ran.run.codebook.defined()) {
      EXPECT_TRUE(at::equal(read.run.codebook, ran.run.codebook));
      EXPECT_TRUE(at::equal(read.run.initial_codebook, ran.run.initial_codebook));
    }
  }
  EXPECT_NE(run_cell(grid, cells[8], dataset).substitute, "");
  EXPECT_GT(run_cell(grid, cells[10], dataset).kmeans_distortion, 0);
}

}  // namespace
}  // namespace vqvae
