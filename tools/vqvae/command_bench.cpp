// `vqvae bench`: the performance numbers of docs/bench.md, measured in one process so every ratio
// compares like with like. Sections:
//   (always) the machine's limits: the FMA peak of each instruction set on 1 thread and every
//            core, the triad bandwidth from L1 to memory: the yardsticks of every rate
//   ceiling  single-precision GEMM (2048³ through LibTorch's BLAS, naming OpenBLAS's kernel), a
//            reference row as a fraction of the FMA peak
//   memory   peak resident memory of one search at B = 65536, n = 4096 against its inputs and
//            outputs (measured first, before the large naive cases, with /proc/self/clear_refs)
//   search   nearest_codeword + z_q_hard against its roofline bound, against the naive cdist(z, C).argmin(1) and FAISS's
//            IndexFlatL2 (when built with it) in the same process, for B ∈ {1024, 65536},
//            n ∈ {256, 1024, 4096}, k ∈ {8, 64}
//   step     Trainer::train_step on the default model for each quantizer, batch 64, 256, 1024,
//            fused step against the autograd path
//   threads  1 thread against every core: the search kernel, the two steps, a small matmul
//   tools    wall time of `vqvae validate` and the default `vqvae experiment` (child processes)
// The measurements are the library's (study/vqvae/bench/bench.h); this file lays out the tables
// and brings FAISS when the program is built with it. Benchmarks print numbers; no test asserts a
// time.
#include "commands.h"
#include "vqvae_cli_build.h"

#include <vqvae/bench/bench.h>
#include <vqvae/core/format.h>
#include <vqvae/math/machine_limits.h>
#include <vqvae/math/search_kernel.h>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#if VQVAE_HAVE_FAISS
#include <faiss/IndexFlat.h>
#endif

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace vqvae::cli {
namespace {

std::string mebibytes(int64_t bytes) { return format_fixed(static_cast<double>(bytes) / (1 << 20), 1) + " MiB"; }

// Seconds of FAISS's exact search (IndexFlatL2, 1 neighbour) of z against codebook; no reference
// when this build has no FAISS.
ReferenceSearch faiss_search() {
#if VQVAE_HAVE_FAISS
  return [](const at::Tensor& z, const at::Tensor& codebook, double min_time) {
    faiss::IndexFlatL2 index(codebook.size(1));
    index.add(codebook.size(0), codebook.data_ptr<float>());
    std::vector<float> distances(z.size(0));
    std::vector<faiss::Index::idx_t> labels(z.size(0));
    return median_seconds(
        [&] { index.search(z.size(0), z.data_ptr<float>(), 1, distances.data(), labels.data()); }, min_time, 3);
  };
#else
  return nullptr;
#endif
}

// The machine's limits in this run: the FMA peak of every instruction set on 1 thread and on
// every core, the triad bandwidth from the first cache level to memory, and SGEMM as a reference
// row. Returns the limits the other tables divide by.
struct Limits {
  std::vector<FmaPeak> peaks;
  std::vector<Bandwidth> bandwidth;
  double search_peak = 0;       // the search kernel's ISA at the threads in use
  double memory_bandwidth = 0;  // the largest arrays' triad at the threads in use
};

Limits print_limits(double min_time) {
  const int threads = at::get_num_threads();
  const int cores = std::max(threads, static_cast<int>(std::thread::hardware_concurrency()));
  Limits limits;
  limits.peaks = measure_fma_peaks(min_time, cores);
  limits.bandwidth = measure_bandwidth(min_time, cores);
  const kernels::SearchIsa isa = kernels::best_search_isa();
  limits.search_peak = peak_of(limits.peaks, isa, threads);
  if (limits.search_peak == 0) limits.search_peak = kernels::fma_peak_gflops(isa, threads, min_time);
  for (const Bandwidth& b : limits.bandwidth)
    if (b.threads == threads || (b.threads == cores && threads > cores)) limits.memory_bandwidth = b.gbs;

  std::cout << "### The machine's limits (measured now)\n\n"
            << "| limit | 1 thread | " << cores << " threads |\n|---|---|---|\n";
  for (const FmaPeak& p : limits.peaks) {
    if (p.threads != 1) continue;
    std::cout << "| FMA peak, " << kernels::to_string(p.isa) << " | " << format_fixed(p.gflops, 1) << " GFLOP/s | "
              << format_fixed(peak_of(limits.peaks, p.isa, cores), 1) << " GFLOP/s |\n";
  }
  for (const Bandwidth& b : limits.bandwidth) {
    if (b.threads != 1) continue;
    double all = 0;
    for (const Bandwidth& other : limits.bandwidth)
      if (other.bytes_per_array == b.bytes_per_array && other.threads == cores) all = other.gbs;
    std::cout << "| triad bandwidth, 3 arrays of " << format_bytes(static_cast<double>(b.bytes_per_array)) << " | "
              << format_fixed(b.gbs, 1) << " GB/s | " << format_fixed(all, 1) << " GB/s |\n";
  }
  return limits;
}

void print_ceiling(const Limits& limits, double min_time) {
  const GemmCeiling c = measure_sgemm_ceiling(min_time);
  const BlasKernel blas = blas_kernel();
  const kernels::SearchIsa widest = kernels::best_search_isa();
  const double peak = peak_of(limits.peaks, widest, at::get_num_threads());
  std::cout << "\n### SGEMM, a reference (" << at::get_num_threads() << " thread(s))\n\n"
            << "| case | time | rate | of the " << kernels::to_string(widest) << " FMA peak |\n|---|---|---|---|\n"
            << "| SGEMM 2048³ (LibTorch → OpenBLAS" << (blas.name.empty() ? "" : " " + blas.name)
            << (blas.forced_by.empty() ? "" : ", forced by " + blas.forced_by) << ") | "
            << format_fixed(c.seconds * 1e3, 1) << " ms | " << format_fixed(c.gflops, 1) << " GFLOP/s | "
            << (peak > 0 ? format_fixed(100 * c.gflops / peak, 1) + " %" : std::string("n/a")) << " |\n";
}

void print_search_memory() {
  std::cout << "\n### Peak resident memory of one search (B = 65536, n = 4096)\n\n"
            << "| k | inputs + outputs | peak RSS growth | ratio | naive cdist + argmin growth |\n"
            << "|---|---|---|---|---|\n";
  for (const SearchMemory& m : measure_search_memory()) {
    if (m.fused_growth < 0) {
      std::cout << "| " << m.k << " | " << mebibytes(m.io_bytes) << " | not measurable here (/proc/self/clear_refs) | | |\n";
      continue;
    }
    std::cout << "| " << m.k << " | " << mebibytes(m.io_bytes) << " | " << mebibytes(m.fused_growth) << " | "
              << format_fixed(static_cast<double>(m.fused_growth) / m.io_bytes, 2) << "× | " << mebibytes(m.naive_growth)
              << " |\n";
  }
}

// Each case against its roofline bound: min(FMA peak of the kernel's ISA, arithmetic intensity ×
// memory bandwidth), the intensity being the distances' 2·B·n·k flops over the bytes of z, C, the
// indices and z_q_hard.
void print_search(const Limits& limits, double min_time) {
  std::cout << "\n### Nearest-codeword search (indices and z_q_hard), kernel: "
            << kernels::to_string(kernels::best_search_isa()) << ", " << at::get_num_threads()
            << " thread(s); roofline: FMA peak " << format_fixed(limits.search_peak, 1) << " GFLOP/s, bandwidth "
            << format_fixed(limits.memory_bandwidth, 1) << " GB/s\n\n"
            << "| B | n | k | time | GFLOP/s | flop/byte | bound | of bound | naive cdist+argmin | speed-up | FAISS IndexFlatL2 | speed-up |\n"
            << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const SearchCase& c : measure_search(min_time, faiss_search())) {
    const double faiss = c.reference_seconds;
    const double bytes = 4.0 * (2.0 * c.rows * c.k + static_cast<double>(c.codewords) * c.k) + 8.0 * c.rows;
    const double intensity = 2.0 * c.rows * c.codewords * c.k / bytes;
    const double bound = std::min(limits.search_peak, intensity * limits.memory_bandwidth);
    std::cout << "| " << c.rows << " | " << c.codewords << " | " << c.k << " | " << format_fixed(c.seconds * 1e3, 2)
              << " ms | " << format_fixed(c.gflops, 1) << " | " << format_fixed(intensity, 0) << " | "
              << format_fixed(bound, 1) << (bound < limits.search_peak ? " (memory)" : " (FMA)") << " | "
              << format_fixed(100 * c.gflops / bound, 1) << " % | " << format_fixed(c.naive_seconds * 1e3, 2) << " ms | "
              << format_fixed(c.naive_seconds / c.seconds, 1) << "× | "
              << (faiss < 0 ? std::string("n/a | n/a")
                            : format_fixed(faiss * 1e3, 2) + " ms | " + format_fixed(faiss / c.seconds, 1) + "×")
              << " |\n";
  }
}

void print_steps(double min_time) {
  std::cout << "\n### Training step (forward, loss, backward, Adam) on the default model\n\n"
            << "| quantizer | batch | fused step | steps/s | autograd step | speed-up |\n"
            << "|---|---|---|---|---|---|\n";
  for (const StepCase& c : measure_steps(min_time))
    std::cout << "| " << to_string(c.quantizer) << " | " << c.batch << " | " << format_fixed(c.fused_seconds * 1e3, 3)
              << " ms | " << format_fixed(1.0 / c.fused_seconds, 0) << " | "
              << format_fixed(c.autograd_seconds * 1e3, 3) << " ms | "
              << format_fixed(c.autograd_seconds / c.fused_seconds, 1) << "× |\n";
}

// The same work with 1 thread and with every core, in one run: the kernel's scaling, and what
// intra-op threads do to the small LibTorch ops of the autograd step.
void print_threads(double min_time) {
  const int cores = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  std::cout << "\n### Threads (1 vs " << cores << ")\n\n"
            << "| case | 1 thread | " << cores << " threads | speed-up |\n|---|---|---|---|\n";
  for (const ThreadCase& c : measure_threads(min_time, cores))
    std::cout << "| " << c.name << " | " << format_fixed(c.one_thread_seconds * c.unit, 3) << c.unit_name << " | "
              << format_fixed(c.all_threads_seconds * c.unit, 3) << c.unit_name << " | "
              << format_fixed(c.one_thread_seconds / c.all_threads_seconds, 2) << "× |\n";
}

// Wall time of this program run with `arguments`; -1 when it failed.
double time_child(const std::string& arguments) {
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return -1;
  self[length] = '\0';
  return wall_seconds("'" + std::string(self) + "' " + arguments);
}

void print_tools(int threads) {
  std::error_code ignored;
  const std::filesystem::path folder =
      std::filesystem::temp_directory_path() / ("vqvae-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(folder);
  const std::string thread_flag = "--threads " + std::to_string(threads) + " ";
  const double validate = time_child(thread_flag + "validate");
  const double experiment = time_child(thread_flag + "experiment --quiet --plot '' --out '" +
                                       (folder / "experiment.h5").string() + "'");
  std::filesystem::remove_all(folder, ignored);
  const auto shown = [](double seconds) { return seconds < 0 ? std::string("failed") : format_fixed(seconds, 2) + " s"; };
  std::cout << "\n### Tools (wall time, child process, LibTorch start-up included)\n\n"
            << "| command | wall time |\n|---|---|\n"
            << "| `vqvae validate` | " << shown(validate) << " |\n"
            << "| `vqvae experiment` (default) | " << shown(experiment) << " |\n";
}

}  // namespace

CommandRunner add_bench_command(CLI::App& app) {
  struct Flags {
    std::vector<std::string> sections{"ceiling", "memory", "search", "step", "threads", "tools"};
    double min_time = 0.3;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand("bench", "Measure the machine's limits (FMA peak, bandwidth), SGEMM, "
                                              "the search kernel against its roofline, the training step and the tools "
                                              "(prints Markdown tables)");
  sub->add_option("--sections", flags->sections, "Any of ceiling memory search step threads tools")
      ->delimiter(',')
      ->check(CLI::IsMember({"ceiling", "memory", "search", "step", "threads", "tools"}))
      ->capture_default_str();
  sub->add_option("--min-time", flags->min_time, "Seconds each case is repeated for (median reported)")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  return [flags](const GlobalOptions& global) {
    const auto wanted = [&](const std::string& section) {
      return std::find(flags->sections.begin(), flags->sections.end(), section) != flags->sections.end();
    };
    const Limits limits = print_limits(flags->min_time);  // always: the yardstick of every rate
    if (wanted("ceiling")) print_ceiling(limits, flags->min_time);
    if (wanted("memory")) print_search_memory();
    if (wanted("search")) print_search(limits, flags->min_time);
    if (wanted("step")) print_steps(flags->min_time);
    if (wanted("threads")) print_threads(flags->min_time);
    if (wanted("tools")) print_tools(global.threads);
    return 0;
  };
}

}  // namespace vqvae::cli
