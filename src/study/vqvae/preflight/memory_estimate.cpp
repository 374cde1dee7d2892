#include <vqvae/preflight/memory_estimate.h>

#include <vqvae/core/errors.h>
#include <vqvae/core/format.h>
#include <vqvae/evaluation/metrics.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

namespace vqvae {
namespace {

constexpr double kFloat = 4, kDouble = 8, kLong = 8;
// Fields of one EvalRecord, and the copies of the history alive when it is written (the
// records, history_columns' vectors, one tensor per column).
constexpr double kHistoryFields = 21, kHistoryCopies = 3;

double non_negative(int64_t value) { return static_cast<double>(std::max<int64_t>(value, 0)); }

using Parts = std::vector<MemoryPart>;

MemoryPart part(const char* name, double bytes, const char* driver, int64_t driver_value) {
  return MemoryPart{name, std::max(bytes, 0.0), driver, driver_value};
}

double sum(const Parts& parts) {
  double total = 0;
  for (const MemoryPart& p : parts) total += p.bytes;
  return total;
}

// The estimate: the fixed cost, the parts alive throughout, and the largest of the phases.
MemoryEstimate combine(const char* workload, const Parts& persistent, const std::vector<Parts>& phases) {
  MemoryEstimate estimate;
  estimate.workload = workload;
  estimate.parts.push_back(part("program", kProcessBytes, "", 0));
  for (const MemoryPart& p : persistent) estimate.parts.push_back(p);
  const Parts* peak = nullptr;
  for (const Parts& phase : phases)
    if (!peak || sum(phase) > sum(*peak)) peak = &phase;
  if (peak)
    for (const MemoryPart& p : *peak) estimate.parts.push_back(p);
  return estimate;
}

// GaussianDataset after construction (X, Y, z_true) and its d × d covariance and eigenvectors.
Parts dataset_parts(int64_t d, int64_t k, int64_t n) {
  const double N = non_negative(n), D = non_negative(d), K = non_negative(k);
  return {part("dataset", N * (D + 2 * K) * kFloat, "n", n),
          part("covariance", 4 * D * D * kFloat, "d", d)};
}

// While GaussianDataset is built: W, the product Y Aᵀ and the centred copy of X, eps and Y's
// batched product.
Parts generation_phase(int64_t d, int64_t k, int64_t n) {
  const double N = non_negative(n), D = non_negative(d), K = non_negative(k);
  return {part("data generation", N * (2 * D + 2 * K) * kFloat, "n", n)};
}

// The evaluation pass over the whole dataset (evaluate_model): z, z_q, z_q_hard, indices,
// x_recon and the reconstruction error, the float64 distortion, then per codeword the usage
// statistics, the search's repacked codebook and the codebook geometry.
Parts evaluation_phase(const RunConfig& c) {
  const double N = non_negative(c.n), D = non_negative(c.d), K = non_negative(c.k);
  const double n = non_negative(c.codebook_size);
  return {part("evaluation pass", N * (2 * D * kFloat + 3 * K * kFloat + kLong + 2 * K * kDouble), "n", c.n),
          part("evaluation of the codebook",
               n * (K * kFloat + 6 * kDouble) + codebook_geometry_bytes(c.codebook_size, c.k), "codebook_size",
               c.codebook_size)};
}

// Drawing the initial codebook (make_codebook): the initialiser's latents and its temporaries.
Parts initialisation_phase(const RunConfig& c) {
  const double n = non_negative(c.codebook_size), K = non_negative(c.k);
  const double rows = non_negative(init_rows(c));
  double temporaries = 2 * n * K * kFloat;                                        // draw, scaled copy
  if (c.init == InitKind::rd_waterfill) temporaries = 3 * n * K * kDouble;        // float64 draw, rotation
  if (c.init == InitKind::kmeans) temporaries = 4 * n * K * kFloat + 2 * rows * kDouble;  // centres, sums
  return {part("initialisation", rows * K * kFloat + temporaries, "codebook_size", c.codebook_size)};
}

// The model and its training state: the codebook and its gradient, the optimizer's state (Adam:
// two moments; SGD without momentum: none), the initial codebook kept for the result, and the
// fused step's repacked codebook and per-batch buffers.
Parts training_parts(const RunConfig& c) {
  const double n = non_negative(c.codebook_size), K = non_negative(c.k), D = non_negative(c.d);
  const double B = non_negative(c.batch_size);
  Parts parts = {part("codebook and gradient", 2 * n * K * kFloat, "codebook_size", c.codebook_size)};
  if (c.optimizer == OptimizerKind::adam)
    parts.push_back(part("Adam state", 2 * n * K * kFloat, "codebook_size", c.codebook_size));
  parts.push_back(part("initial codebook", n * K * kFloat, "codebook_size", c.codebook_size));
  parts.push_back(part("search", n * K * kFloat + B * (3 * D + 8 * K) * kFloat, "codebook_size", c.codebook_size));
  // Learned encoder / decoder: weight, gradient, optimizer state.
  parts.push_back(part("encoder and decoder", 2 * 4 * D * K * kFloat, "d", c.d));
  return parts;
}

double evaluations(const RunConfig& c, const TrainingRunOptions& options) {
  const double N = non_negative(c.n), B = std::max(1.0, std::min(non_negative(c.batch_size), N));
  const double per_epoch = std::ceil(N / B);
  const double steps = options.steps() > 0 ? static_cast<double>(options.steps())
                                           : non_negative(options.epochs()) * per_epoch;
  const double every = options.eval_every() > 0 ? static_cast<double>(options.eval_every()) : per_epoch;
  return std::floor(steps / std::max(1.0, every)) + 2;
}

MemoryPart history_part(const RunConfig& c, const TrainingRunOptions& options, double runs) {
  return part("history", runs * evaluations(c, options) * kHistoryFields * kDouble * kHistoryCopies, "eval_every",
              options.eval_every());
}

}  // namespace

double MemoryEstimate::total_bytes() const {
  double total = 0;
  for (const MemoryPart& p : parts) total += p.bytes;
  return total;
}

const MemoryPart& MemoryEstimate::largest() const {
  const MemoryPart* best = &parts.front();
  for (const MemoryPart& p : parts)
    if (!p.driver.empty() && (best->driver.empty() || p.bytes > best->bytes)) best = &p;
  return *best;
}

std::string MemoryEstimate::largest_names(size_t count) const {
  std::vector<const MemoryPart*> sorted;
  for (const MemoryPart& p : parts) sorted.push_back(&p);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const MemoryPart* a, const MemoryPart* b) { return a->bytes > b->bytes; });
  std::string names;
  for (size_t i = 0; i < std::min(count, sorted.size()); ++i) names += (i ? ", " : "") + sorted[i]->name;
  return names;
}

MemoryEstimate estimate_data_memory(int64_t d, int64_t k, int64_t n) {
  return combine("data", dataset_parts(d, k, n), {generation_phase(d, k, n)});
}

MemoryEstimate estimate_validate_memory(const RunConfig& c, int64_t training_steps) {
  const double n = non_negative(c.codebook_size), K = non_negative(c.k), B = non_negative(c.batch_size);
  Parts persistent = dataset_parts(c.d, c.k, c.n);
  persistent.push_back(part("model under test", 2 * n * K * kFloat, "codebook_size", c.codebook_size));
  // The nearest-codeword check's float64 reference: B × n × k differences and their squares, the
  // B × n distances and what is gathered from them.
  Parts reference = {part("float64 nearest-codeword reference", B * n * (2 * K + 3) * kDouble, "codebook_size",
                          c.codebook_size)};
  // The training run check: a second model with its optimizer state, trained, then evaluated.
  Parts training = training_parts(c);
  training.push_back(part("training run evaluation", non_negative(c.n) * (2 * non_negative(c.d) + 3 * K) * kFloat,
                          "n", c.n));
  (void)training_steps;  // the check keeps only one loss per step
  return combine("validate", persistent,
                 {generation_phase(c.d, c.k, c.n), reference, initialisation_phase(c), training});
}

// The held-out set: its X and Y, and its latents, kept for every evaluation.
MemoryPart held_out_part(const RunConfig& c) {
  const double N = non_negative(c.n_test), D = non_negative(c.d), K = non_negative(c.k);
  return part("held-out set", N * (D + 2 * K) * kFloat, "n_test", c.n_test);
}

// An evaluation pass over the larger of the training and the held-out set.
Parts largest_evaluation_phase(const RunConfig& c) {
  RunConfig larger = c;
  larger.n = std::max(c.n, c.n_test);
  return evaluation_phase(larger);
}

MemoryEstimate estimate_train_memory(const RunConfig& c, const TrainingRunOptions& options) {
  Parts persistent = dataset_parts(c.d, c.k, c.n);
  persistent.push_back(held_out_part(c));
  Parts training = training_parts(c);
  persistent.push_back(history_part(c, options, 1));
  std::vector<Parts> phases = {generation_phase(c.d, c.k, c.n)};
  for (Parts phase : {initialisation_phase(c), largest_evaluation_phase(c)}) {
    phase.insert(phase.begin(), training.begin(), training.end());
    phases.push_back(phase);
  }
  return combine("train", persistent, phases);
}

MemoryEstimate estimate_experiment_memory(const SweepGrid& grid) {
  const RunConfig c = size_config(grid, grid.codebook_sizes.back());
  const ExperimentOptions& options = grid.options;
  const double runs = non_negative(options.seeds) * static_cast<double>(options.inits.size());
  const double n = non_negative(c.codebook_size), K = non_negative(c.k), N = non_negative(c.n);
  Parts persistent = dataset_parts(c.d, c.k, c.n);
  persistent.push_back(held_out_part(c));
  persistent.push_back(part("latents", N * K * kFloat, "n", c.n));
  persistent.push_back(part("finished runs' codebooks", runs * 2 * n * K * kFloat, "codebook_size", c.codebook_size));
  persistent.push_back(history_part(c, options.training, runs));
  std::vector<Parts> phases = {generation_phase(c.d, c.k, c.n)};
  // One run at a time, with the worst initialiser of the study, at the largest size (c's
  // codebook_size); every init there starts from one latent per codeword when k-means needs them.
  const bool kmeans = std::any_of(options.inits.begin(), options.inits.end(),
                                  [](InitKind i) { return needs_a_row_per_codeword(i); });
  for (InitKind init : options.inits) {
    RunConfig run = c;
    run.init = init;
    if (kmeans && c.codebook_size <= c.n) run.init_samples = std::max(run.init_samples, c.codebook_size);
    for (Parts phase : {initialisation_phase(run), largest_evaluation_phase(run)}) {
      const Parts training = training_parts(run);
      phase.insert(phase.begin(), training.begin(), training.end());
      phases.push_back(phase);
    }
  }
  // The k-means reference on the whole dataset's latents: centres, sums, float64 copies.
  phases.push_back({part("k-means reference", 4 * n * K * kFloat + N * (3 * K * kDouble + 2 * kLong),
                         n * K > N * K ? "codebook_size" : "n", n * K > N * K ? c.codebook_size : c.n)});
  return combine("experiment", persistent, phases);
}

AvailableMemory available_memory() {
  constexpr const char* kVariable = "VQVAE_MEMORY_AVAILABLE_BYTES";
  if (const char* text = std::getenv(kVariable)) {
    char* end = nullptr;
    const double bytes = std::strtod(text, &end);
    if (end == text || *end != '\0' || !std::isfinite(bytes) || bytes < 0)
      throw_invalid_argument(kVariable, "must be a number of bytes >= 0, got " + in_quotes(text));
    return {bytes, kVariable};
  }
  AvailableMemory out{std::numeric_limits<double>::infinity(), "nothing readable: not checked"};
  {
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    double kib = 0;
    std::string unit;
    while (meminfo >> key >> kib >> unit)
      if (key == "MemAvailable:") out = {kib * 1024, "MemAvailable"};
  }
  const auto read_number = [](const std::string& path, double& value) {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text) || text == "max") return false;
    char* end = nullptr;
    value = std::strtod(text.c_str(), &end);
    return end != text.c_str() && value < 1e18;  // v1 reports "no limit" as about 2^63
  };
  // The process's cgroups: "0::/path" (v2) and "N:memory:/path" (v1). In a container the
  // hierarchy is often mounted at its own cgroup, so the mount's root is tried as well.
  std::ifstream cgroups("/proc/self/cgroup");
  std::string line;
  while (std::getline(cgroups, line)) {
    const auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1), path = line.substr(second + 1);
    std::vector<std::pair<std::string, std::string>> candidates;  // limit file, usage file
    if (controllers.empty()) {
      for (const std::string& base : {"/sys/fs/cgroup" + path, std::string("/sys/fs/cgroup")})
        candidates.emplace_back(base + "/memory.max", base + "/memory.current");
    } else if (controllers == "memory") {
      for (const std::string& base : {"/sys/fs/cgroup/memory" + path, std::string("/sys/fs/cgroup/memory")})
        candidates.emplace_back(base + "/memory.limit_in_bytes", base + "/memory.usage_in_bytes");
    }
    for (const auto& [limit_file, usage_file] : candidates) {
      double limit = 0, usage = 0;
      if (!read_number(limit_file, limit)) continue;
      if (!read_number(usage_file, usage)) usage = 0;
      // The usage counts the page cache; its inactive file pages are reclaimed before the limit
      // is hit (as `docker stats` reports it).
      std::ifstream stat(usage_file.substr(0, usage_file.rfind('/')) + "/memory.stat");
      std::string key;
      double value = 0;
      while (stat >> key >> value)
        if (key == (controllers.empty() ? "inactive_file" : "total_inactive_file")) usage = std::max(0.0, usage - value);
      const double left = std::max(0.0, limit - usage);
      if (left < out.bytes) out = {left, controllers.empty() ? "cgroup memory.max" : "cgroup memory.limit_in_bytes"};
      break;
    }
  }
  return out;
}

void require_memory(const MemoryEstimate& estimate, const AvailableMemory& available) {
  const double total = estimate.total_bytes();
  if (total <= available.bytes) return;
  const MemoryPart& driver = estimate.largest();
  const std::string who = driver.driver.empty() ? "this run" : param(driver.driver) + " " + std::to_string(driver.driver_value);
  throw InvalidArgument(who + " needs ≈ " + format_bytes(total) + " (" + estimate.largest_names() + "), " +
                        format_bytes(available.bytes) + " available (" + available.source + ")");
}

std::string format_memory_estimate(const MemoryEstimate& estimate, const AvailableMemory& available) {
  std::vector<const MemoryPart*> sorted;
  for (const MemoryPart& p : estimate.parts) sorted.push_back(&p);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const MemoryPart* a, const MemoryPart* b) { return a->bytes > b->bytes; });
  std::ostringstream out;
  out << "memory estimate (" << estimate.workload << "): ≈ " << format_bytes(estimate.total_bytes()) << " peak = "
      << format_fixed(estimate.total_bytes(), 0) << " bytes (";
  for (size_t i = 0; i < sorted.size(); ++i) out << (i ? ", " : "") << sorted[i]->name << " " << format_bytes(sorted[i]->bytes);
  out << "); ";
  if (std::isfinite(available.bytes))
    out << format_bytes(available.bytes) << " = " << format_fixed(available.bytes, 0) << " bytes available";
  else
    out << "available memory unknown";
  out << " (" << available.source << ")";
  return out.str();
}

std::string dead_by_construction_warning(const RunConfig& c, const std::string& size_key) {
  const int64_t dead = dead_by_construction(c);
  if (dead == 0) return "";
  return param(size_key) + " " + std::to_string(c.codebook_size) + " > " + param("n") + " " +
         std::to_string(c.n) + ": at least " + std::to_string(dead) +
         " codewords are dead by construction (each sample has one nearest codeword)";
}

}  // namespace vqvae
