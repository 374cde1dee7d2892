// `vqvae bench`: the performance numbers of docs/bench.md, measured in one process so every ratio
// compares like with like. Sections:
//   (always) the machine's limits: the FMA peak of each instruction set on 1 thread and every
//            core, the triad bandwidth from L1 to memory: the yardsticks of every rate
//   ceiling  single-precision GEMM (2048³ through LibTorch's BLAS, naming OpenBLAS's kernel), a
//            reference row as a fraction of the FMA peak
//   memory   peak resident memory of one search at B = 65536, n = 4096 against its inputs and
//            outputs (measured first, before the large naive cases, with /proc/self/clear_refs)
//   search   nearest_codeword + z_q_hard against its roofline bound min(FMA peak, flop/byte ×
//            bandwidth), the naive cdist(z, C).argmin(1) and FAISS's IndexFlatL2 (when built
//            with it) in the same process, for B ∈ {1024, 65536}, n ∈ {256, 1024, 4096}, k ∈ {8, 64}
//   step     Trainer::train_step on the default model for each quantizer, batch 64, 256, 1024:
//            the fused step against its roofline bound and against the autograd path
//   threads  1 thread against every core: the search kernel, the two steps, a small matmul
//   tools    wall time of `vqvae validate` and the default `vqvae experiment` (child processes)
// --json prints every row as one object instead of the tables; --plot draws the roofline.
// The measurements are the library's (study/vqvae/bench/bench.h); this file lays out the tables
// and the JSON object and brings FAISS when the program is built with it. Benchmarks print numbers; no test asserts a
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

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
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

// Everything one `vqvae bench` run measured: the tables are printed from it as each section
// finishes (unless --json), the JSON object and the roofline plot at the end.
struct BenchRun {
  int threads = 1, cores = 1;
  std::vector<FmaPeak> peaks;
  std::vector<Bandwidth> bandwidth;
  Roofline search_roofline;  // the search kernel's ISA on the threads in use
  Roofline step_roofline;    // the fused step: single-threaded, the same ISA
  std::optional<GemmCeiling> sgemm;
  BlasKernel blas;
  std::vector<SearchMemory> memory;
  std::vector<SearchCase> search;
  std::vector<StepCase> steps;
  std::vector<ThreadCase> thread_cases;
  std::optional<std::pair<double, double>> tools;  // validate, experiment wall seconds (-1: failed)
};

std::string percent(double fraction) { return format_fixed(100 * fraction, 1) + " %"; }

// The machine's limits in this run: the FMA peak of every instruction set on 1 thread and on
// every core, the triad bandwidth from the first cache level to memory.
void measure_limits(BenchRun& run, double min_time) {
  run.threads = at::get_num_threads();
  run.cores = std::max(run.threads, static_cast<int>(std::thread::hardware_concurrency()));
  run.peaks = measure_fma_peaks(min_time, run.cores);
  run.bandwidth = measure_bandwidth(min_time, run.cores);
  const kernels::SearchIsa isa = kernels::best_search_isa();
  const int search_threads = std::min(run.threads, run.cores);
  run.search_roofline = {peak_of(run.peaks, isa, search_threads), memory_bandwidth(run.bandwidth, search_threads)};
  run.step_roofline = {peak_of(run.peaks, isa, 1), memory_bandwidth(run.bandwidth, 1)};
}

void print_limits(const BenchRun& run) {
  std::cout << "### The machine's limits (measured now" << (cpu_model_name().empty() ? "" : ", " + cpu_model_name())
            << ")\n\n| limit | 1 thread | " << run.cores << " threads |\n|---|---|---|\n";
  for (const FmaPeak& p : run.peaks) {
    if (p.threads != 1) continue;
    std::cout << "| FMA peak, " << kernels::to_string(p.isa) << " | " << format_fixed(p.gflops, 1) << " GFLOP/s | "
              << format_fixed(peak_of(run.peaks, p.isa, run.cores), 1) << " GFLOP/s |\n";
  }
  for (const Bandwidth& b : run.bandwidth) {
    if (b.threads != 1) continue;
    double all = 0;
    for (const Bandwidth& other : run.bandwidth)
      if (other.bytes_per_array == b.bytes_per_array && other.threads == run.cores) all = other.gbs;
    std::cout << "| triad bandwidth, 3 arrays of " << format_bytes(static_cast<double>(b.bytes_per_array)) << " | "
              << format_fixed(b.gbs, 1) << " GB/s | " << format_fixed(all, 1) << " GB/s |\n";
  }
  std::cout << "\nFMA peak: 12 independent fused multiply-adds per thread in a loop, 2 flops each, per "
               "instruction set. Triad: a[i] = b[i] + s·c[i], 3 arrays, two reads and one write per element; "
               "the largest arrays are the memory's bandwidth, the smaller ones the caches'.\n";
}

// SGEMM as a reference row: OpenBLAS's own kernel (which the environment may force), as a
// fraction of the widest FMA peak.
double sgemm_fraction(const BenchRun& run) {
  const double peak = peak_of(run.peaks, kernels::best_search_isa(), std::min(run.threads, run.cores));
  return peak > 0 ? run.sgemm->gflops / peak : 0;
}

void print_ceiling(const BenchRun& run) {
  const GemmCeiling& c = *run.sgemm;
  std::cout << "\n### SGEMM, a reference (" << run.threads << " thread(s))\n\n"
            << "| case | time | rate | of the " << kernels::to_string(kernels::best_search_isa())
            << " FMA peak |\n|---|---|---|---|\n"
            << "| SGEMM 2048³ (LibTorch → OpenBLAS" << (run.blas.name.empty() ? "" : " " + run.blas.name)
            << (run.blas.forced_by.empty() ? "" : ", forced by " + run.blas.forced_by) << ") | "
            << format_fixed(c.seconds * 1e3, 1) << " ms | " << format_fixed(c.gflops, 1) << " GFLOP/s | "
            << percent(sgemm_fraction(run)) << " |\n";
}

void print_search_memory(const BenchRun& run) {
  std::cout << "\n### Peak resident memory of one search (B = 65536, n = 4096)\n\n"
            << "| k | inputs + outputs | peak RSS growth | ratio | naive cdist + argmin growth |\n"
            << "|---|---|---|---|---|\n";
  for (const SearchMemory& m : run.memory) {
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
// memory bandwidth).
void print_search(const BenchRun& run) {
  const Roofline& roof = run.search_roofline;
  std::cout << "\n### Nearest-codeword search (indices and z_q_hard), kernel: "
            << kernels::to_string(kernels::best_search_isa()) << ", " << run.threads
            << " thread(s); roofline: FMA peak " << format_fixed(roof.peak_gflops, 1) << " GFLOP/s, bandwidth "
            << format_fixed(roof.bandwidth_gbs, 1) << " GB/s\n\n"
            << "| B | n | k | time | GFLOP/s | flop/byte | bound | of bound | kernel alone | of bound | naive cdist+argmin | speed-up | FAISS IndexFlatL2 | speed-up |\n"
            << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const SearchCase& c : run.search) {
    const double intensity = c.flop_per_byte(), bound = roof.bound(intensity), faiss = c.reference_seconds;
    std::cout << "| " << c.rows << " | " << c.codewords << " | " << c.k << " | " << format_fixed(c.seconds * 1e3, 2)
              << " ms | " << format_fixed(c.gflops, 1) << " | " << format_fixed(intensity, 0) << " | "
              << format_fixed(bound, 1) << (roof.memory_bound(intensity) ? " (memory)" : " (FMA)") << " | "
              << percent(c.gflops / bound) << " | " << format_fixed(c.kernel_seconds * 1e3, 2) << " ms | "
              << percent(c.kernel_gflops() / bound) << " | " << format_fixed(c.naive_seconds * 1e3, 2) << " ms | "
              << format_fixed(c.naive_seconds / c.seconds, 1) << "× | "
              << (faiss < 0 ? std::string("n/a | n/a")
                            : format_fixed(faiss * 1e3, 2) + " ms | " + format_fixed(faiss / c.seconds, 1) + "×")
              << " |\n";
  }
  std::cout << "\nGFLOP/s: 2·B·n·k (the distances' multiply-adds) per second. flop/byte: that over the bytes of "
               "z, C, the indices and z_q_hard. bound: min(FMA peak, flop/byte × bandwidth), the roofline; "
               "of bound: GFLOP/s ÷ bound. kernel alone: the same search on raw buffers, without LibTorch's "
               "per-call part (checks, allocation, index_select for z_q_hard). Speed-ups: the other method's time ÷ "
               "the first column's.\n";
}

void print_steps(const BenchRun& run) {
  const Roofline& roof = run.step_roofline;
  std::cout << "\n### Training step (forward, loss, backward, Adam) on the default model, 1 thread; roofline: FMA "
               "peak "
            << format_fixed(roof.peak_gflops, 1) << " GFLOP/s, bandwidth " << format_fixed(roof.bandwidth_gbs, 1)
            << " GB/s\n\n"
            << "| quantizer | batch | fused step | steps/s | flop/step | bytes/step | GFLOP/s | of bound | autograd step | speed-up |\n"
            << "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const StepCase& c : run.steps) {
    const double gflops = c.fused_gflops();
    std::cout << "| " << to_string(c.quantizer) << " | " << c.batch << " | " << format_fixed(c.fused_seconds * 1e3, 3)
              << " ms | " << format_fixed(1.0 / c.fused_seconds, 0) << " | "
              << format_fixed(c.work.flops / 1e6, 2) << " M | " << format_bytes(c.work.bytes) << " | "
              << format_fixed(gflops, 1) << " | " << percent(gflops / roof.bound(c.work.flop_per_byte())) << " | "
              << format_fixed(c.autograd_seconds * 1e3, 3) << " ms | "
              << format_fixed(c.autograd_seconds / c.fused_seconds, 1) << "× |\n";
  }
  std::cout << "\nflop/step and bytes/step: counted from the shapes (docs/bench.md: encode, search, decode, loss, "
               "codebook gradient, Adam; x, the weights, the codebook and Adam's moments once per direction). "
               "GFLOP/s and of bound: the fused step's, against min(FMA peak, flop/byte × bandwidth). speed-up: "
               "the autograd step's time ÷ the fused step's.\n";
}

// The same work with 1 thread and with every core, in one run: the kernel's scaling, and what
// intra-op threads do to the small LibTorch ops of the autograd step.
void print_threads(const BenchRun& run) {
  const int cores = std::max(2, run.cores);
  std::cout << "\n### Threads (1 vs " << cores << ")\n\n"
            << "| case | 1 thread | " << cores << " threads | speed-up |\n|---|---|---|---|\n";
  for (const ThreadCase& c : run.thread_cases)
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

std::pair<double, double> measure_tools(int threads) {
  std::error_code ignored;
  const std::filesystem::path folder =
      std::filesystem::temp_directory_path() / ("vqvae-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(folder);
  const std::string thread_flag = "--threads " + std::to_string(threads) + " ";
  const double validate = time_child(thread_flag + "validate");
  const double experiment = time_child(thread_flag + "experiment --quiet --plot '' --out '" +
                                       (folder / "experiment.h5").string() + "'");
  std::filesystem::remove_all(folder, ignored);
  return {validate, experiment};
}

void print_tools(const BenchRun& run) {
  const auto shown = [](double seconds) { return seconds < 0 ? std::string("failed") : format_fixed(seconds, 2) + " s"; };
  std::cout << "\n### Tools (wall time, child process, LibTorch start-up included)\n\n"
            << "| command | wall time |\n|---|---|\n"
            << "| `vqvae validate` | " << shown(run.tools->first) << " |\n"
            << "| `vqvae experiment` (default) | " << shown(run.tools->second) << " |\n";
}

// Every row of the run as one JSON object (docs/bench.md, "JSON"): seconds, rates and fractions
// as numbers, a section absent when it was not run.
nlohmann::ordered_json to_json(const BenchRun& run) {
  using Json = nlohmann::ordered_json;
  Json out;
  out["machine"] = {{"cpu", cpu_model_name()},
                    {"threads", run.threads},
                    {"cores", run.cores},
                    {"search_isa", kernels::to_string(kernels::best_search_isa())}};
  Json peaks = Json::array(), bandwidth = Json::array();
  for (const FmaPeak& p : run.peaks)
    peaks.push_back({{"isa", kernels::to_string(p.isa)}, {"threads", p.threads}, {"gflops", p.gflops}});
  for (const Bandwidth& b : run.bandwidth)
    bandwidth.push_back({{"bytes_per_array", b.bytes_per_array}, {"threads", b.threads}, {"gbs", b.gbs}});
  out["limits"] = {{"fma_peak", peaks}, {"triad_bandwidth", bandwidth}};
  if (run.sgemm)
    out["sgemm"] = {{"size", run.sgemm->size},
                    {"seconds", run.sgemm->seconds},
                    {"gflops", run.sgemm->gflops},
                    {"fraction_of_peak", sgemm_fraction(run)},
                    {"openblas_kernel", run.blas.name},
                    {"forced_by", run.blas.forced_by}};
  if (!run.memory.empty()) {
    Json rows = Json::array();
    for (const SearchMemory& m : run.memory)
      rows.push_back({{"rows", m.rows}, {"codewords", m.codewords}, {"k", m.k}, {"io_bytes", m.io_bytes},
                      {"peak_rss_growth_bytes", m.fused_growth}, {"naive_peak_rss_growth_bytes", m.naive_growth}});
    out["search_memory"] = rows;
  }
  const auto roofline = [](const Roofline& r) { return Json{{"peak_gflops", r.peak_gflops}, {"bandwidth_gbs", r.bandwidth_gbs}}; };
  if (!run.search.empty()) {
    Json rows = Json::array();
    for (const SearchCase& c : run.search) {
      const double intensity = c.flop_per_byte(), bound = run.search_roofline.bound(intensity);
      rows.push_back({{"rows", c.rows}, {"codewords", c.codewords}, {"k", c.k}, {"seconds", c.seconds},
                      {"flops", c.flops}, {"bytes", c.bytes}, {"gflops", c.gflops}, {"flop_per_byte", intensity},
                      {"bound_gflops", bound},
                      {"bound_by", run.search_roofline.memory_bound(intensity) ? "memory" : "fma"},
                      {"fraction_of_bound", c.gflops / bound}, {"kernel_seconds", c.kernel_seconds},
                      {"kernel_fraction_of_bound", c.kernel_gflops() / bound},
                      {"naive_seconds", c.naive_seconds},
                      {"faiss_seconds", c.reference_seconds < 0 ? Json() : Json(c.reference_seconds)}});
    }
    out["search"] = {{"roofline", roofline(run.search_roofline)}, {"cases", rows}};
  }
  if (!run.steps.empty()) {
    Json rows = Json::array();
    for (const StepCase& c : run.steps) {
      const double gflops = c.fused_gflops(), bound = run.step_roofline.bound(c.work.flop_per_byte());
      rows.push_back({{"quantizer", to_string(c.quantizer)}, {"batch", c.batch}, {"fused_seconds", c.fused_seconds},
                      {"autograd_seconds", c.autograd_seconds}, {"flops", c.work.flops}, {"bytes", c.work.bytes},
                      {"gflops", gflops}, {"bound_gflops", bound}, {"fraction_of_bound", gflops / bound}});
    }
    out["step"] = {{"roofline", roofline(run.step_roofline)}, {"cases", rows}};
  }
  if (!run.thread_cases.empty()) {
    Json rows = Json::array();
    for (const ThreadCase& c : run.thread_cases)
      rows.push_back({{"case", c.name}, {"one_thread_seconds", c.one_thread_seconds},
                      {"all_threads_seconds", c.all_threads_seconds}});
    out["threads"] = rows;
  }
  if (run.tools) {
    const auto seconds = [](double s) { return s < 0 ? Json() : Json(s); };
    out["tools"] = {{"validate_seconds", seconds(run.tools->first)}, {"experiment_seconds", seconds(run.tools->second)}};
  }
  return out;
}

}  // namespace

CommandRunner add_bench_command(CLI::App& app) {
  struct Flags {
    std::vector<std::string> sections{"ceiling", "memory", "search", "step", "threads", "tools"};
    double min_time = 0.3;
    bool json = false;
    std::string plot;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand("bench", "Measure the machine's limits (FMA peak, bandwidth), SGEMM, "
                                              "the search kernel and the training step against their roofline, and "
                                              "the tools (prints Markdown tables)");
  sub->add_option("--sections", flags->sections, "Any of ceiling memory search step threads tools")
      ->delimiter(',')
      ->check(CLI::IsMember({"ceiling", "memory", "search", "step", "threads", "tools"}))
      ->capture_default_str();
  sub->add_option("--min-time", flags->min_time, "Seconds each case is repeated for (median reported)")
      ->check(CLI::Range(0.0, 60.0))
      ->capture_default_str();
  sub->add_flag("--json", flags->json, "Print every row as one JSON object instead of the tables");
  sub->add_option("--plot", flags->plot,
                  "Also draw the roofline with the search and step cases (.png or .svg; gnuplot)");
  return [flags](const GlobalOptions& global) {
    if (!flags->plot.empty()) check_output_folder(flags->plot, "--plot");
    const auto wanted = [&](const std::string& section) {
      return std::find(flags->sections.begin(), flags->sections.end(), section) != flags->sections.end();
    };
    const bool tables = !flags->json;
    const double min_time = flags->min_time;
    BenchRun run;
    measure_limits(run, min_time);  // always: the yardstick of every rate
    if (tables) print_limits(run);
    if (wanted("ceiling")) {
      run.sgemm = measure_sgemm_ceiling(min_time);
      run.blas = blas_kernel();
      if (tables) print_ceiling(run);
    }
    if (wanted("memory")) {
      run.memory = measure_search_memory();
      if (tables) print_search_memory(run);
    }
    if (wanted("search")) {
      run.search = measure_search(min_time, faiss_search());
      if (tables) print_search(run);
    }
    if (wanted("step")) {
      run.steps = measure_steps(min_time);
      if (tables) print_steps(run);
    }
    if (wanted("threads")) {
      run.thread_cases = measure_threads(min_time, std::max(2, run.cores));
      if (tables) print_threads(run);
    }
    if (wanted("tools")) {
      run.tools = measure_tools(global.threads);
      if (tables) print_tools(run);
    }
    if (flags->json) std::cout << to_json(run).dump(2) << std::endl;
    if (!flags->plot.empty()) {
      const std::string problem = plot_roofline(flags->plot, run.peaks, run.bandwidth, run.search, run.steps);
      // With --json, stdout holds the JSON object alone: the plot's line goes to stderr.
      (flags->json ? std::cerr : std::cout) << (problem.empty() ? "wrote " + flags->plot : "plot: " + problem) << "\n";
    }
    return 0;
  };
}

}  // namespace vqvae::cli
