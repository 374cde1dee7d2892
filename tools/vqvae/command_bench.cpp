// `vqvae bench`: the performance numbers of docs/bench.md, measured in one process so every ratio
// compares like with like. Sections:
//   ceiling  single-precision GEMM (2048³ through LibTorch's BLAS): the arithmetic the machine
//            can do, and the yardstick for "fraction of the ceiling"
//   memory   peak resident memory of one search at B = 65536, n = 4096 against its inputs and
//            outputs (measured first, before the large naive cases, with /proc/self/clear_refs)
//   search   nearest_codeword + z_q_hard against the naive cdist(z, C).argmin(1) and FAISS's
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

double print_ceiling(double min_time) {
  const GemmCeiling c = measure_sgemm_ceiling(min_time);
  std::cout << "| SGEMM 2048³ (LibTorch → OpenBLAS) | " << format_fixed(c.seconds * 1e3, 1) << " ms | "
            << format_fixed(c.gflops, 1) << " GFLOP/s | 100 % (the ceiling) |\n";
  return c.gflops;
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

void print_search(double ceiling_gflops, double min_time) {
  std::cout << "\n### Nearest-codeword search (indices and z_q_hard), kernel: "
            << kernels::to_string(kernels::best_search_isa()) << ", " << at::get_num_threads()
            << " thread(s)\n\n"
            << "| B | n | k | time | GFLOP/s | of ceiling | naive cdist+argmin | speed-up | FAISS IndexFlatL2 | speed-up |\n"
            << "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const SearchCase& c : measure_search(min_time, faiss_search())) {
    const double faiss = c.reference_seconds;
    std::cout << "| " << c.rows << " | " << c.codewords << " | " << c.k << " | " << format_fixed(c.seconds * 1e3, 2)
              << " ms | " << format_fixed(c.gflops, 1) << " | " << format_fixed(100 * c.gflops / ceiling_gflops, 1)
              << " % | " << format_fixed(c.naive_seconds * 1e3, 2) << " ms | "
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
  CLI::App* sub = app.add_subcommand("bench", "Measure the machine's SGEMM ceiling, the search kernel, "
                                              "the training step and the tools (prints Markdown tables)");
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
    std::cout << "### Ceiling (" << at::get_num_threads() << " thread(s))\n\n"
              << "| case | time | rate | fraction |\n|---|---|---|---|\n";
    const double ceiling = print_ceiling(flags->min_time);  // always: the search table's yardstick
    if (wanted("memory")) print_search_memory();
    if (wanted("search")) print_search(ceiling, flags->min_time);
    if (wanted("step")) print_steps(flags->min_time);
    if (wanted("threads")) print_threads(flags->min_time);
    if (wanted("tools")) print_tools(global.threads);
    return 0;
  };
}

}  // namespace vqvae::cli
