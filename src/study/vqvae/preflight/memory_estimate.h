// The pre-flight memory estimate: the peak memory a workload (`vqvae data`, `validate`, `train`,
// `experiment`) will need, from its configuration alone, and the memory the process may use, so
// that a configuration that cannot fit is refused before any work (docs/reliability.md).
//
// An estimate is a list of named parts, in bytes, that are alive together at the workload's peak
// (the program's fixed cost, the dataset, the codebook and its optimizer state, the step's
// buffers, and the largest transient phase: data generation, initialisation or the evaluation
// pass over the whole dataset). Each part names the configuration parameter that scales it, so a
// refusal can name the flag to change. Symbols: N samples, d ambient, k latent, n codebook size,
// B batch.
#pragma once

#include <vqvae/experiment/result.h>
#include <vqvae/experiment/sweep_grid.h>
#include <vqvae/study/run.h>
#include <vqvae/study/run_config.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vqvae {

/// The process's fixed cost before any tensor: LibTorch, OpenBLAS, HDF5 and the program loaded
/// and started (resident set of `vqvae train --steps 1 --n 2`-sized runs, measured on Debian 12).
inline constexpr double kProcessBytes = 160.0 * 1024 * 1024;

struct MemoryPart {
  std::string name;      ///< "codebook", "Adam state", "evaluation pass"
  double bytes = 0;
  std::string driver;    ///< the parameter that scales it ("codebook_size", "n"); "" for fixed
  int64_t driver_value = 0;
};

struct MemoryEstimate {
  std::string workload;            ///< "data", "validate", "train", "experiment"
  std::vector<MemoryPart> parts;   ///< alive together at the peak; the fixed cost first
  double total_bytes() const;
  /// The largest part that a parameter drives (the fixed cost if no other).
  const MemoryPart& largest() const;
  /// The names of the `count` largest parts, largest first: "codebook, Adam state, search".
  std::string largest_names(size_t count = 3) const;
};

/// `vqvae data`: the dataset and its generation and PCA (GaussianDataset), and the HDF5 write.
MemoryEstimate estimate_data_memory(int64_t d, int64_t k, int64_t n);
/// `vqvae validate`: the dataset, the model under test, the checks (the float64 nearest-codeword
/// reference over a batch × codebook), the training run of `training_steps` and its evaluation.
MemoryEstimate estimate_validate_memory(const RunConfig& config, int64_t training_steps);
/// `vqvae train`: dataset, initialisation, codebook with gradient, optimizer state and the fused
/// step's buffers, the history, and the evaluation pass over the whole dataset.
MemoryEstimate estimate_train_memory(const RunConfig& config, const TrainingRunOptions& options);
/// `vqvae experiment`: one run at a time as train, plus what every finished run keeps (two
/// codebooks and its history) and the k-means reference on the whole dataset's latents.
MemoryEstimate estimate_experiment_memory(const SweepGrid& grid);

/// Memory this process may still use, and where the number comes from.
struct AvailableMemory {
  double bytes = 0;
  std::string source;  ///< "MemAvailable", "cgroup memory.max", "VQVAE_MEMORY_AVAILABLE_BYTES"
};

/// The smaller of /proc/meminfo's MemAvailable and the cgroup's limit minus its usage (v2:
/// memory.max − memory.current of the process's cgroup; v1: memory.limit_in_bytes −
/// memory.usage_in_bytes; the usage without the inactive page cache of memory.stat), when there
/// is a limit. The environment variable
/// VQVAE_MEMORY_AVAILABLE_BYTES (a number of bytes) replaces both (tests, or to allow more or
/// less than the machine reports). Throws InvalidArgument naming it when it is not a number >= 0.
/// Where nothing can be read, bytes is +inf (nothing is refused).
AvailableMemory available_memory();

/// Throws InvalidArgument naming the largest part's parameter when the estimate exceeds what is
/// available: "<param> 100000000 needs ≈ 29.8 GiB (codebook, Adam state, ...), 21.3 GiB
/// available (MemAvailable)".
void require_memory(const MemoryEstimate& estimate, const AvailableMemory& available);

/// One line for --print-config: "memory estimate (train): ≈ 170 MiB peak = 178257920 bytes
/// (program 160 MiB, evaluation pass 7.1 MiB, ...); 21.3 GiB = 22869000000 bytes available
/// (MemAvailable)", every part largest first.
std::string format_memory_estimate(const MemoryEstimate& estimate, const AvailableMemory& available);

/// Codewords that are dead by construction: more codewords than samples leaves at least
/// codebook_size − n without a sample (0 when codebook_size <= n).
inline int64_t dead_by_construction(const RunConfig& config) {
  return config.codebook_size > config.n ? config.codebook_size - config.n : 0;
}

/// The warning `train` and `experiment` print for it: "--codebook-size 512 > --n 500: at least
/// 12 codewords are dead by construction (each sample is nearest to one codeword)", with the
/// parameters marked by param(); "" when there is none.
std::string dead_by_construction_warning(const RunConfig& config, const std::string& size_key = "codebook_size");

}  // namespace vqvae
