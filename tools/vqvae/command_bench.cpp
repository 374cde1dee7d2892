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
// Benchmarks print numbers; no test asserts a time.
#include "commands.h"
#include "vqvae_cli_build.h"

#include <vqvae/core/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/math/search_kernel.h>
#include <vqvae/search/nearest_codeword.h>
#include <vqvae/study/factory.h>
#include <vqvae/study/run_config.h>
#include <vqvae/training/trainer.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#if VQVAE_HAVE_FAISS
#include <faiss/IndexFlat.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <malloc.h>
#include <unistd.h>
#include <vector>

namespace vqvae::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Median seconds per call of `work`: at least `min_reps` calls and at least `min_time` seconds
/// of calls (after one untimed warm-up call).
double median_seconds(const std::function<void()>& work, double min_time, int min_reps) {
  work();
  std::vector<double> times;
  const Clock::time_point start = Clock::now();
  while (static_cast<int>(times.size()) < min_reps || seconds_since(start) < min_time) {
    const Clock::time_point t0 = Clock::now();
    work();
    times.push_back(seconds_since(t0));
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

/// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), or -1 when unreadable.
int64_t status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  return -1;
}

/// Resets VmHWM to the current VmRSS (Linux >= 4.0); false when not permitted.
bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

std::string mebibytes(int64_t bytes) { return format_fixed(static_cast<double>(bytes) / (1 << 20), 1) + " MiB"; }

at::Tensor random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  return at::randn({rows, cols}, at::make_generator<at::CPUGeneratorImpl>(seed));
}

// ---------------------------------------------------------------- sections
double bench_ceiling(double min_time) {
  const int64_t size = 2048;
  const at::Tensor a = random_matrix(size, size, 1), b = random_matrix(size, size, 2);
  at::Tensor c = at::empty({size, size});
  const double seconds = median_seconds([&] { at::mm_out(c, a, b); }, min_time, 5);
  const double gflops = 2.0 * size * size * size / seconds / 1e9;
  std::cout << "| SGEMM 2048³ (LibTorch → OpenBLAS) | " << format_fixed(seconds * 1e3, 1) << " ms | "
            << format_fixed(gflops, 1) << " GFLOP/s | 100 % (the ceiling) |\n";
  return gflops;
}

void bench_memory() {
  std::cout << "\n### Peak resident memory of one search (B = 65536, n = 4096)\n\n"
            << "| k | inputs + outputs | peak RSS growth | ratio | naive cdist + argmin growth |\n"
            << "|---|---|---|---|---|\n";
  for (const int64_t k : {8, 64}) {
    const int64_t B = 65536, n = 4096;
    const auto growth = [&](bool naive) -> int64_t {
      malloc_trim(0);  // freed heap pages would otherwise be reused unseen by the RSS
      const int64_t before = status_bytes("VmRSS");
      if (!reset_peak_rss() || before < 0) return -1;
      at::Tensor z = random_matrix(B, k, 3), codebook = random_matrix(n, k, 4);
      at::Tensor indices, z_q_hard;
      if (naive) {
        indices = at::cdist(z, codebook).argmin(1);
      } else {
        indices = nearest_codeword(z, codebook);
      }
      z_q_hard = codebook.index_select(0, indices);
      return status_bytes("VmHWM") - before;
    };
    const int64_t fused = growth(false);
    const int64_t naive = growth(true);
    const int64_t io_bytes = (B * k + n * k) * 4 + B * 8 + B * k * 4;  // z, C, indices, z_q_hard
    if (fused < 0) {
      std::cout << "| " << k << " | " << mebibytes(io_bytes) << " | not measurable here (/proc/self/clear_refs) | | |\n";
      continue;
    }
    std::cout << "| " << k << " | " << mebibytes(io_bytes) << " | " << mebibytes(fused) << " | "
              << format_fixed(static_cast<double>(fused) / io_bytes, 2) << "× | " << mebibytes(naive) << " |\n";
  }
}

/// Seconds of FAISS's exact search (IndexFlatL2, 1 neighbour) of z against codebook, or -1 when
/// this build has no FAISS.
double faiss_seconds(const at::Tensor& z, const at::Tensor& codebook, double min_time) {
#if VQVAE_HAVE_FAISS
  faiss::IndexFlatL2 index(codebook.size(1));
  index.add(codebook.size(0), codebook.data_ptr<float>());
  std::vector<float> distances(z.size(0));
  std::vector<faiss::Index::idx_t> labels(z.size(0));
  return median_seconds(
      [&] { index.search(z.size(0), z.data_ptr<float>(), 1, distances.data(), labels.data()); },
      min_time, 3);
#else
  (void)z, (void)codebook, (void)min_time;
  return -1;
#endif
}

void bench_search(double ceiling_gflops, double min_time) {
  std::cout << "\n### Nearest-codeword search (indices and z_q_hard), kernel: "
            << kernels::to_string(kernels::best_search_isa()) << ", " << at::get_num_threads()
            << " thread(s)\n\n"
            << "| B | n | k | time | GFLOP/s | of ceiling | naive cdist+argmin | speed-up | FAISS IndexFlatL2 | speed-up |\n"
            << "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const int64_t B : {1024, 65536})
    for (const int64_t n : {256, 1024, 4096})
      for (const int64_t k : {8, 64}) {
        const at::Tensor z = random_matrix(B, k, 5), codebook = random_matrix(n, k, 6);
        at::Tensor z_q_hard;
        const double fused = median_seconds(
            [&] { z_q_hard = codebook.index_select(0, nearest_codeword(z, codebook)); }, min_time, 3);
        const double naive = median_seconds(
            [&] { z_q_hard = codebook.index_select(0, at::cdist(z, codebook).argmin(1)); }, min_time, 3);
        const double faiss = faiss_seconds(z, codebook, min_time);
        const double gflops = 2.0 * B * n * k / fused / 1e9;  // 2·B·n·k: the distances' FLOPs
        std::cout << "| " << B << " | " << n << " | " << k << " | " << format_fixed(fused * 1e3, 2)
                  << " ms | " << format_fixed(gflops, 1) << " | " << format_fixed(100 * gflops / ceiling_gflops, 1)
                  << " % | " << format_fixed(naive * 1e3, 2) << " ms | " << format_fixed(naive / fused, 1) << "× | "
                  << (faiss < 0 ? std::string("n/a | n/a") : format_fixed(faiss * 1e3, 2) + " ms | " + format_fixed(faiss / fused, 1) + "×")
                  << " |\n";
      }
}

/// Median seconds per Trainer::train_step on the default model with `quantizer` at `batch`.
double step_seconds(const GaussianDataset& dataset, RunConfig config, QuantizerKind quantizer,
                    int64_t batch, bool fused, double min_time) {
  config.quantizer = quantizer;
  VQVAE model = build_model(config, dataset);
  Trainer trainer(model, TrainerOptions()
                             .optimizer(config.optimizer)
                             .lr(config.lr)
                             .fused_step(fused));
  const at::Tensor x = dataset.X.slice(0, 0, batch).contiguous();
  const int chunk = fused ? 50 : 5;  // steps per timed call: the clock's own cost stays negligible
  return median_seconds([&] { for (int s = 0; s < chunk; ++s) trainer.train_step(x, config.beta); },
                        min_time, 3) / chunk;
}

GaussianDataset step_dataset(RunConfig& config) {
  config.n = 4096;  // the data only feeds batches; the model is the default one
  return make_dataset(config);
}

void bench_step(double min_time) {
  std::cout << "\n### Training step (forward, loss, backward, Adam) on the default model\n\n"
            << "| quantizer | batch | fused step | steps/s | autograd step | speed-up |\n"
            << "|---|---|---|---|---|---|\n";
  RunConfig config;
  const GaussianDataset dataset = step_dataset(config);
  for (const auto& [quantizer, quantizer_name] : kQuantizerNames)
    for (const int64_t batch : {64, 256, 1024}) {
      const double fused = step_seconds(dataset, config, quantizer, batch, true, min_time);
      const double autograd = step_seconds(dataset, config, quantizer, batch, false, min_time);
      std::cout << "| " << quantizer_name << " | " << batch << " | " << format_fixed(fused * 1e3, 3) << " ms | "
                << format_fixed(1.0 / fused, 0) << " | " << format_fixed(autograd * 1e3, 3) << " ms | "
                << format_fixed(autograd / fused, 1) << "× |\n";
    }
}

// The same work with 1 thread and with every core, in one run: the kernel's scaling, and what
// intra-op threads do to the small LibTorch ops of the autograd step.
void bench_threads(double min_time) {
  const int threads = at::get_num_threads();
  const int cores = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  std::cout << "\n### Threads (1 vs " << cores << ")\n\n"
            << "| case | 1 thread | " << cores << " threads | speed-up |\n|---|---|---|---|\n";
  RunConfig config;
  const GaussianDataset dataset = step_dataset(config);
  const auto row = [&](const std::string& name, const std::function<double()>& measure, double unit,
                       const char* unit_name) {
    at::set_num_threads(1);
    const double one = measure();
    at::set_num_threads(cores);
    const double many = measure();
    std::cout << "| " << name << " | " << format_fixed(one * unit, 3) << unit_name << " | "
              << format_fixed(many * unit, 3) << unit_name << " | " << format_fixed(one / many, 2) << "× |\n";
  };
  for (const int64_t k : {8, 64}) {
    const at::Tensor z = random_matrix(65536, k, 7), codebook = random_matrix(1024, k, 8);
    row("search B = 65536, n = 1024, k = " + std::to_string(k),
        [&] { return median_seconds([&] { nearest_codeword(z, codebook); }, min_time, 3); }, 1e3, " ms");
  }
  row("fused step, vq, batch 256", [&] { return step_seconds(dataset, config, QuantizerKind::vq, 256, true, min_time); },
      1e3, " ms");
  row("autograd step, vq, batch 256",
      [&] { return step_seconds(dataset, config, QuantizerKind::vq, 256, false, min_time); }, 1e3, " ms");
  const at::Tensor x = dataset.X.slice(0, 0, 256).contiguous(), u = dataset.U_k;
  row("x (256, 64) @ U_k (64, 8)", [&] { return median_seconds([&] { at::mm(x, u); }, min_time, 100); },
      1e6, " µs");
  at::set_num_threads(threads);
}

/// Wall time of this program run with `arguments` (output discarded); -1 when it failed.
double time_child(const std::string& arguments) {
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return -1;
  self[length] = '\0';
  const Clock::time_point start = Clock::now();
  const int status = std::system(("'" + std::string(self) + "' " + arguments + " > /dev/null 2>&1").c_str());
  return status == 0 ? seconds_since(start) : -1;
}

void bench_tools(int threads) {
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
    const double ceiling = bench_ceiling(flags->min_time);  // always: the search table's yardstick
    if (wanted("memory")) bench_memory();
    if (wanted("search")) bench_search(ceiling, flags->min_time);
    if (wanted("step")) bench_step(flags->min_time);
    if (wanted("threads")) bench_threads(flags->min_time);
    if (wanted("tools")) bench_tools(global.threads);
    return 0;
  };
}

}  // namespace vqvae::cli
