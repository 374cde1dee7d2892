#include <vqvae/experiment/sweep_shard.h>

#include <vqvae/core/errors.h>
#include <vqvae/core/format.h>
#include <vqvae/core/interrupt.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/io/provenance.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>

namespace vqvae {
namespace {

constexpr const char* kPartKind = "vqvae sweep part";

std::string cell_file_name(int64_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "cell_%06lld.h5", static_cast<long long>(index));
  return name;
}

std::string cell_group(int64_t index) {
  const std::string file = cell_file_name(index);
  return "cells/" + file.substr(0, file.size() - 3);
}

// A non-negative integer environment variable, or `fallback` when unset.
int64_t environment_integer(const char* name, int64_t fallback) {
  const char* text = std::getenv(name);
  if (!text) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno != 0 || value < 0)
    throw_invalid_argument(name, "must be an integer >= 0, got " + in_quotes(text));
  return value;
}

// The cells of a work folder (cell_<index>.h5 files; temporaries are dot files) by index.
std::map<int64_t, CellResult> read_work_folder(const std::string& folder, const SweepGrid& grid,
                                               const std::string& json) {
  std::map<int64_t, CellResult> found;
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) return found;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("cell_", 0) == 0 && name.size() > 3 && name.compare(name.size() - 3, 3, ".h5") == 0)
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  const std::string identity = json_identity(json);
  for (const std::string& path : files) {
    const Hdf5Reader file(path);
    if (file.read_string_attribute("/", "grid_identity") != identity)
      throw_invalid_argument(param("out"), in_quotes(folder) + " holds runs of another grid (" +
                                               grid_difference(file.read_string_attribute("/", "grid"), json) +
                                               "): remove it, or write this grid elsewhere");
    CellResult cell = read_cell(file, "/", grid);
    found.emplace(cell.cell.index, std::move(cell));
  }
  return found;
}

}  // namespace

ShardSpec parse_shard(const std::string& text, const std::string& where) {
  const auto slash = text.find('/');
  const auto number = [](const std::string& part, int64_t& out) {
    if (part.empty() || part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::stoll(part);
    return true;
  };
  ShardSpec shard;
  const bool ok = slash != std::string::npos && number(text.substr(0, slash), shard.index) &&
                  number(text.substr(slash + 1), shard.count) && shard.count >= 1 && shard.index >= 1 &&
                  shard.index <= shard.count;
  if (!ok) throw_invalid_argument(where, "must be I/N with 1 <= I <= N (shard I of N), got " + in_quotes(text));
  return shard;
}

std::string to_string(const ShardSpec& shard) {
  return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

std::optional<ShardSpec> shard_from_slurm_environment() {
  if (!std::getenv("SLURM_ARRAY_TASK_ID")) return std::nullopt;
  const int64_t id = environment_integer("SLURM_ARRAY_TASK_ID", 0);
  const int64_t min = environment_integer("SLURM_ARRAY_TASK_MIN", 0);
  const int64_t step = environment_integer("SLURM_ARRAY_TASK_STEP", 1);
  const int64_t count = environment_integer("SLURM_ARRAY_TASK_COUNT", -1);
  if (count < 1) throw_invalid_argument("SLURM_ARRAY_TASK_COUNT", "must be set (>= 1) with SLURM_ARRAY_TASK_ID");
  if (step < 1) throw_invalid_argument("SLURM_ARRAY_TASK_STEP", "must be >= 1, got " + std::to_string(step));
  ShardSpec shard{(id - min) / step + 1, count};
  if (id < min || (id - min) % step != 0 || shard.index > count)
    throw_invalid_argument("SLURM_ARRAY_TASK_ID", "must be SLURM_ARRAY_TASK_MIN + i * SLURM_ARRAY_TASK_STEP, i < " +
                                                      std::to_string(count) + ", got " + std::to_string(id));
  return shard;
}

std::vector<SweepCell> shard_cells(const SweepGrid& grid, const ShardSpec& shard) {
  const std::vector<SweepCell> cells = grid_cells(grid);
  std::vector<double> cost;
  for (const SweepCell& cell : cells) cost.push_back(cell_cost(grid, cell));
  std::vector<size_t> order(cells.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cost[a] > cost[b]; });
  std::vector<double> load(static_cast<size_t>(shard.count), 0.0);
  std::vector<bool> mine(cells.size(), false);
  for (const size_t i : order) {
    const size_t least = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[least] += cost[i];
    mine[i] = static_cast<int64_t>(least) + 1 == shard.index;
  }
  std::vector<SweepCell> out;
  for (size_t i = 0; i < cells.size(); ++i)
    if (mine[i]) out.push_back(cells[i]);
  return out;
}

ShardRun run_shard(const SweepGrid& grid, const ShardSpec& shard, const std::string& work_folder,
                   const GaussianDataset& dataset, const CellProgress& progress) {
  const std::string json = grid_to_json(grid), identity = json_identity(json);
  const std::vector<SweepCell> cells = shard_cells(grid, shard);
  std::map<int64_t, CellResult> done;
  if (!work_folder.empty()) {
    done = read_work_folder(work_folder, grid, json);
    std::error_code error;
    std::filesystem::create_directories(work_folder, error);
    if (error) throw IoError(work_folder + ": cannot create the folder for finished runs (" + error.message() + ")");
  }
  ShardRun out;
  for (const SweepCell& cell : cells) {
    const auto resumed = done.find(cell.index);
    if (resumed != done.end()) {
      out.cells.push_back(std::move(resumed->second));
      ++out.resumed;
      if (progress) progress(out.cells.back(), true);
      continue;
    }
    if (stop_requested()) {
      out.status = RunStatus::interrupted;
      break;
    }
    CellResult result;
    try {
      result = run_cell(grid, cell, dataset);
    } catch (const TrainingDiverged& e) {
      out.status = RunStatus::diverged;
      out.stop_reason = "run " + cell_name(cell, grid) + ": " + e.what();
      break;
    }
    if (result.run.status == RunStatus::interrupted) {  // the unfinished run is dropped
      out.status = RunStatus::interrupted;
      break;
    }
    if (!work_folder.empty()) {
      Hdf5Writer file(work_folder + "/" + cell_file_name(cell.index));
      file.write_attribute("/", "grid", json);
      file.write_attribute("/", "grid_identity", identity);
      write_cell(file, "/", result);
      file.commit();
    }
    out.cells.push_back(std::move(result));
    if (progress) progress(out.cells.back(), false);
  }
  return out;
}

void discard_work_folder(const std::string& folder) {
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) return;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    // cell files, and temporaries a SIGKILL left behind mid-write (".cell_000003.h5.tmp.XXXXXX")
    if (name.rfind("cell_", 0) == 0 || name.rfind(".cell_", 0) == 0) std::filesystem::remove(entry.path(), error);
  }
  std::filesystem::remove(folder, error);  // only when empty: anything else there stays
}

void write_part_hdf5(const std::string& path, const SweepGrid& grid, const ShardSpec& shard,
                     const std::vector<CellResult>& cells, const std::string& command) {
  Hdf5Writer file(path);
  file.write_attribute("/", "kind", std::string(kPartKind));
  const std::string json = grid_to_json(grid);
  file.write_attribute("/", "grid", json);
  file.write_attribute("/", "grid_identity", json_identity(json));
  file.write_attribute("/", "shard_index", shard.index);
  file.write_attribute("/", "shard_count", shard.count);
  std::vector<int64_t> indices;
  for (const CellResult& cell : cells) indices.push_back(cell.cell.index);
  file.write_tensor("cell_indices", at::tensor(indices, at::kLong));
  file.create_group("cells");
  for (const CellResult& cell : cells) write_cell(file, cell_group(cell.cell.index), cell);
  write_provenance(file, command);
  file.commit();
}

MergedSweep merge_parts(const std::vector<std::string>& paths) {
  if (paths.empty()) throw MergeRefused("no parts to merge");
  struct Part {
    std::string path, json, identity;
    ShardSpec shard;
    std::vector<int64_t> cells;
  };
  std::vector<Part> parts;
  std::vector<std::unique_ptr<Hdf5Reader>> files;
  for (const std::string& path : paths) {
    Part part;
    part.path = path;
    try {
      files.push_back(std::make_unique<Hdf5Reader>(path));
      const Hdf5Reader& file = *files.back();
      const std::vector<std::string> names = file.attribute_names("/");
      if (std::find(names.begin(), names.end(), "kind") == names.end() ||
          file.read_string_attribute("/", "kind") != kPartKind)
        throw MergeRefused(path + ": not a part of a sharded `vqvae experiment` (no kind = '" + kPartKind +
                           "'; parts are written with --shard I/N)");
      part.json = file.read_string_attribute("/", "grid");
      part.identity = file.read_string_attribute("/", "grid_identity");
      part.shard = {file.read_int_attribute("/", "shard_index"), file.read_int_attribute("/", "shard_count")};
      const at::Tensor indices = file.read_tensor("cell_indices").to(at::kLong).contiguous();
      part.cells.assign(indices.data_ptr<int64_t>(), indices.data_ptr<int64_t>() + indices.numel());
    } catch (const IoError& e) {
      throw MergeRefused(e.what());
    }
    parts.push_back(std::move(part));
  }
  const Part& first = parts.front();
  for (const Part& part : parts)
    if (part.identity != first.identity)
      throw MergeRefused(part.path + " comes from another grid than " + first.path + " (" +
                         grid_difference(part.json, first.json) + ")");
  SweepGrid grid;
  try {
    grid = grid_from_json(first.json, first.path);
  } catch (const InvalidArgument& e) {
    throw MergeRefused(e.what());
  }
  if (const std::string rebuilt = grid_to_json(grid); json_identity(rebuilt) != first.identity)
    throw MergeRefused(first.path + ": its grid cannot be reproduced by this build (" +
                       grid_difference(first.json, rebuilt) + ")");
  std::map<int64_t, const Part*> by_shard;
  for (const Part& part : parts) {
    if (part.shard.count != first.shard.count)
      throw MergeRefused(part.path + " is shard " + to_string(part.shard) + " but " + first.path + " is shard " +
                         to_string(first.shard) + ": parts of different shardings");
    const auto [it, inserted] = by_shard.emplace(part.shard.index, &part);
    if (!inserted)
      throw MergeRefused(it->second->path + " and " + part.path + " are both shard " + to_string(part.shard) +
                         " (a duplicate)");
  }
  const std::vector<SweepCell> all = grid_cells(grid);
  for (int64_t s = 1; s <= first.shard.count; ++s)
    if (!by_shard.count(s)) {
      const size_t runs = shard_cells(grid, {s, first.shard.count}).size();
      throw MergeRefused("shard " + std::to_string(s) + "/" + std::to_string(first.shard.count) + " is missing (" +
                         std::to_string(runs) + " of the grid's " + std::to_string(all.size()) +
                         " runs): no part given holds it");
    }
  std::vector<const Part*> owner(all.size(), nullptr);
  for (const Part& part : parts)
    for (const int64_t index : part.cells) {
      if (index < 0 || index >= static_cast<int64_t>(all.size()))
        throw MergeRefused(part.path + ": cell " + std::to_string(index) + " is not in the grid");
      if (owner[static_cast<size_t>(index)])
        throw MergeRefused("run " + cell_name(all[static_cast<size_t>(index)], grid) + " is in both " +
                           owner[static_cast<size_t>(index)]->path + " and " + part.path + " (a duplicate)");
      owner[static_cast<size_t>(index)] = &part;
    }
  for (size_t i = 0; i < all.size(); ++i)
    if (!owner[i]) throw MergeRefused("run " + cell_name(all[i], grid) + " is missing: no part holds it");
  MergedSweep merged;
  merged.grid = grid;
  for (size_t i = 0; i < all.size(); ++i) {
    const size_t part = static_cast<size_t>(owner[i] - parts.data());
    try {
      merged.cells.push_back(read_cell(*files[part], cell_group(static_cast<int64_t>(i)), grid));
    } catch (const std::exception& e) {
      throw MergeRefused(owner[i]->path + ": " + e.what());
    }
  }
  return merged;
}

}  // namespace vqvae
