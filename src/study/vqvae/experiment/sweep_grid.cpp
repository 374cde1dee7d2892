#include <vqvae/experiment/sweep_grid.h>

#include <vqvae/core/format.h>
#include <vqvae/tensor/runtime.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vqvae {
namespace {

// The grid's options other than the configuration, in one list: JSON keys and how to read them.
nlohmann::ordered_json options_json(const SweepGrid& grid) {
  const ExperimentOptions& o = grid.options;
  nlohmann::ordered_json j;
  j["codebook_sizes"] = grid.codebook_sizes;
  std::vector<std::string> inits;
  for (const InitKind init : o.inits) inits.emplace_back(to_string(init));
  j["inits"] = inits;
  j["seeds"] = o.seeds;
  j["epochs"] = o.training.epochs();
  j["steps"] = o.training.steps();
  j["eval_every"] = o.training.eval_every();
  j["revive_dead_codes"] = o.training.revive_dead_codes();
  j["revival_window"] = o.training.revival_window();
  j["kmeans_max_iter"] = o.kmeans_max_iter;
  j["kmeans_n_init"] = o.kmeans_n_init;
  return j;
}


}  // namespace

void check_grid(const SweepGrid& grid) {
  const std::string where = param("codebook_sizes");
  if (grid.codebook_sizes.empty()) throw_invalid_argument(where, "must list at least one size, got none");
  for (size_t i = 0; i < grid.codebook_sizes.size(); ++i) {
    const int64_t size = grid.codebook_sizes[i];
    if (size < 1) throw_invalid_argument(where, "must be >= 1 each, got " + std::to_string(size));
    if (i > 0 && size <= grid.codebook_sizes[i - 1])
      throw_invalid_argument(where, "must be ascending and distinct, got " + std::to_string(grid.codebook_sizes[i - 1]) +
                                        " before " + std::to_string(size));
  }
  RunConfig probe = grid.config;
  probe.codebook_size = grid.codebook_sizes.front();
  probe.init = InitKind::uniform;  // inits that cannot serve a size are planned around (plan_cell)
  check_config(probe);
  const ExperimentOptions& o = grid.options;
  if (o.seeds < 1) throw_invalid_argument(param("seeds"), "must be >= 1, got " + std::to_string(o.seeds));
  if (o.inits.empty()) throw_invalid_argument(param("inits"), "must name at least one init, got none");
  for (size_t i = 0; i < o.inits.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (o.inits[i] == o.inits[j])
        throw_invalid_argument(param("inits"), std::string("lists ") + to_string(o.inits[i]) + " twice");
  if (o.kmeans_n_init < 1)
    throw_invalid_argument(param("kmeans_n_init"), "must be >= 1, got " + std::to_string(o.kmeans_n_init));
  if (o.kmeans_max_iter < 0)
    throw_invalid_argument(param("kmeans_max_iter"), "must be >= 0, got " + std::to_string(o.kmeans_max_iter));
}

int64_t grid_size(const SweepGrid& grid) {
  const int64_t per_size = (static_cast<int64_t>(grid.options.inits.size()) + 1) * grid.options.seeds;
  return static_cast<int64_t>(grid.codebook_sizes.size()) * per_size;
}

SweepCell grid_cell(const SweepGrid& grid, int64_t index) {
  const int64_t seeds = grid.options.seeds, inits = static_cast<int64_t>(grid.options.inits.size());
  if (index < 0 || index >= grid_size(grid))
    throw_invalid_argument(param("cell_index"), "must be from 0 to " + std::to_string(grid_size(grid) - 1) +
                                                    ", got " + std::to_string(index));
  // Per size: inits × seeds training cells (init-major), then seeds k-means references.
  const int64_t per_size = (inits + 1) * seeds, within = index % per_size;
  SweepCell cell;
  cell.index = index;
  cell.codebook_size = grid.codebook_sizes[static_cast<size_t>(index / per_size)];
  cell.kind = within < inits * seeds ? CellKind::training : CellKind::kmeans_reference;
  if (cell.kind == CellKind::training) cell.init = grid.options.inits[static_cast<size_t>(within / seeds)];
  cell.seed = grid.config.seed + static_cast<uint64_t>(within % seeds);
  return cell;
}

std::vector<SweepCell> grid_cells(const SweepGrid& grid) {
  std::vector<SweepCell> cells;
  for (int64_t index = 0; index < grid_size(grid); ++index) cells.push_back(grid_cell(grid, index));
  return cells;
}

std::string cell_name(const SweepCell& cell, const SweepGrid& grid) {
  return (grid.codebook_sizes.size() == 1 ? std::string() : "size " + std::to_string(cell.codebook_size) + " ") +
         (cell.kind == CellKind::training ? std::string(to_string(cell.init)) : std::string("k-means reference")) +
         " seed " + std::to_string(cell.seed);
}

RunConfig sweep_config(const SweepGrid& grid) {
  RunConfig config = grid.config;
  if (!grid.codebook_sizes.empty()) config.codebook_size = grid.codebook_sizes.front();
  if (!grid.options.inits.empty()) config.init = grid.options.inits.front();
  return config;
}

std::string grid_to_json(const SweepGrid& grid) {
  nlohmann::ordered_json j;
  j["config"] = nlohmann::ordered_json::parse(config_to_json(sweep_config(grid)));
  const nlohmann::ordered_json options = options_json(grid);  // items() refers into it
  for (const auto& [key, value] : options.items()) j[key] = value;
  j["library_version"] = library_version();
  j["torch_version"] = torch_version();
  return j.dump();
}

SweepGrid grid_from_json(const std::string& text, const std::string& source) {
  const std::string where = "grid of " + in_quotes(source);
  SweepGrid grid;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    apply_config_json(j.at("config").dump(), source, grid.config);
    grid.codebook_sizes = j.at("codebook_sizes").get<std::vector<int64_t>>();
    grid.options.inits.clear();
    for (const std::string& init : j.at("inits").get<std::vector<std::string>>())
      grid.options.inits.push_back(parse_choice(kInitNames, init, where));
    grid.options.seeds = j.at("seeds").get<int64_t>();
    grid.options.training.epochs(j.at("epochs").get<int64_t>())
        .steps(j.at("steps").get<int64_t>())
        .eval_every(j.at("eval_every").get<int64_t>())
        .revive_dead_codes(j.at("revive_dead_codes").get<bool>())
        .revival_window(j.at("revival_window").get<int64_t>());
    grid.options.kmeans_max_iter = j.at("kmeans_max_iter").get<int64_t>();
    grid.options.kmeans_n_init = j.at("kmeans_n_init").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw_invalid_argument(where, std::string("is not a sweep grid: ") + e.what());
  }
  check_grid(grid);
  return grid;
}

std::string grid_identity(const SweepGrid& grid) { return json_identity(grid_to_json(grid)); }

std::string json_identity(const std::string& json) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a, 64 bits
  for (const unsigned char c : json) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

std::string grid_difference(const std::string& json_a, const std::string& json_b) {
  nlohmann::json a, b;
  try {
    a = nlohmann::json::parse(json_a);
    b = nlohmann::json::parse(json_b);
  } catch (const nlohmann::json::exception&) {
    return "unreadable grid";
  }
  const auto differs = [](const std::string& key, const nlohmann::json& x, const nlohmann::json& y) {
    return key + " " + (x.is_null() ? "(none)" : x.dump()) + " vs " + (y.is_null() ? "(none)" : y.dump());
  };
  for (const nlohmann::json* object : {&a, &b}) {
    if (!object->is_object()) return "unreadable grid";
  }
  // The configuration's keys first, by name (config.k), then the other keys.
  if (a.contains("config") && b.contains("config") && a["config"] != b["config"] && a["config"].is_object() &&
      b["config"].is_object()) {
    for (const auto& [key, value] : a["config"].items())
      if (!b["config"].contains(key) || b["config"][key] != value)
        return differs(key, value, b["config"].value(key, nlohmann::json()));
  }
  for (const auto& [key, value] : a.items())
    if (!b.contains(key) || b[key] != value) return differs(key, value, b.value(key, nlohmann::json()));
  for (const auto& [key, value] : b.items())
    if (!a.contains(key)) return differs(key, nlohmann::json(), value);
  return "";
}

RunConfig size_config(const SweepGrid& grid, int64_t size) {
  RunConfig config = grid.config;
  config.codebook_size = size;
  return config;
}

CellPlan plan_cell(const SweepGrid& grid, const SweepCell& cell) {
  CellPlan plan;
  plan.config = size_config(grid, cell.codebook_size);
  plan.config.seed = cell.seed;  // the codebook draw; the dataset stays grid.config.seed's
  const int64_t size = cell.codebook_size, n = grid.config.n;
  if (cell.kind == CellKind::kmeans_reference) {
    plan.config.seed = grid.config.seed;  // the latents of the initial model of grid.config.seed
    if (size > n)
      plan.skipped = "skipped: k-means needs at least " + std::to_string(size) +
                     " samples (one per codeword), the dataset has " + std::to_string(n);
    return plan;
  }
  plan.config.init = cell.init;
  if (init_rows(plan.config) >= size) return plan;
  if (needs_a_row_per_codeword(cell.init) && size > n) {
    plan.skipped = "skipped: " + std::string(to_string(cell.init)) + " init needs " + std::to_string(size) +
                   " latents (one per codeword), the dataset has " + std::to_string(n);
    return plan;
  }
  // Like for like: when an init of the grid needs more latents than init_samples gives (one per
  // codeword) and the dataset has them, every init at this size starts from that larger batch.
  const auto& inits = grid.options.inits;
  const auto needing = std::find_if(inits.begin(), inits.end(), [](InitKind i) { return needs_a_row_per_codeword(i); });
  if (needing != inits.end() && size <= n) {
    plan.substitute = "every init at " + std::to_string(size) + " codewords from " + std::to_string(size) +
                      " latents instead of init_samples = " + std::to_string(grid.config.init_samples) + " (" +
                      to_string(*needing) + " needs one per codeword)";
    plan.config.init_samples = size;
  }
  return plan;
}

double cell_cost(const SweepGrid& grid, const SweepCell& cell) {
  // Multiply-adds of the nearest-codeword searches (size · k per latent), plus a per-latent
  // overhead of the rest of a step (encoder, decoder, losses, optimizer, bookkeeping): about 300
  // codewords' worth, fitted to `vqvae train` at 16 to 4096 codewords (docs/bench.md,
  // "Measurements behind the code").
  const RunConfig& c = grid.config;
  const double size = static_cast<double>(cell.codebook_size), k = static_cast<double>(c.k);
  const double n = static_cast<double>(c.n), per_latent = (size + 300) * k;
  const CellPlan plan = plan_cell(grid, cell);
  if (!plan.skipped.empty()) return 1;
  if (cell.kind == CellKind::kmeans_reference) {
    // k-means++ seeding (size passes over the latents) and Lloyd's iterations, which stop at
    // convergence: about 20 of them here.
    const double iterations = std::min<double>(static_cast<double>(grid.options.kmeans_max_iter), 20) + 1;
    return static_cast<double>(grid.options.kmeans_n_init) * iterations * n * size * k;
  }
  const RunSchedule schedule = run_schedule(c.n, c.batch_size, grid.options.training);
  const double batch = static_cast<double>(std::min(c.batch_size, c.n));
  const double evaluations = static_cast<double>(schedule.total_steps / schedule.eval_every + 2);
  double cost = static_cast<double>(schedule.total_steps) * batch * per_latent + evaluations * n * per_latent;
  if (needs_a_row_per_codeword(cell.init)) {
    // The k-means initialiser on its latents: k-means++ seeding and up to 100 Lloyd iterations,
    // measured as about 200 searches of those latents (docs/bench.md, "Measurements behind the code").
    const double rows = static_cast<double>(init_rows(plan.config));
    cost += 200 * rows * size * k;
  }
  return cost;
}

}  // namespace vqvae
