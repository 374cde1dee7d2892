#include <vqvae/bench/bench.h>

#include <vqvae/math/machine_limits.h>
#include <vqvae/math/search_kernel.h>
#include <vqvae/search/nearest_codeword.h>
#include <vqvae/study/factory.h>
#include <vqvae/study/run_config.h>
#include <vqvae/training/trainer.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>

namespace vqvae {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), or -1 when unreadable.
int64_t status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  return -1;
}

// Resets VmHWM to the current VmRSS (Linux >= 4.0); false when not permitted.
bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

at::Tensor random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  return at::randn({rows, cols}, at::make_generator<at::CPUGeneratorImpl>(seed));
}

// Median seconds per Trainer::train_step on the default model with `quantizer` at `batch`.
double step_seconds(const GaussianDataset& dataset, RunConfig config, QuantizerKind quantizer,
                    int64_t batch, bool fused, double min_time) {
  config.quantizer = quantizer;
  VQVAE model = build_model(config, dataset);
  Trainer trainer(model, TrainerOptions().optimizer(config.optimizer).lr(config.lr).fused_step(fused));
  const at::Tensor x = dataset.X.slice(0, 0, batch).contiguous();
  const int chunk = fused ? 50 : 5;  // steps per timed call: the clock's own cost stays negligible
  return median_seconds([&] { for (int s = 0; s < chunk; ++s) trainer.train_step(x, config.beta); },
                        min_time, 3) / chunk;
}

GaussianDataset step_dataset(RunConfig& config) {
  config.n = 4096;  // the data only feeds batches; the model is the default one
  return make_dataset(config);
}

}  // namespace

double Roofline::bound(double flop_per_byte) const {
  return std::min(peak_gflops, flop_per_byte * bandwidth_gbs);
}

bool Roofline::memory_bound(double flop_per_byte) const { return flop_per_byte * bandwidth_gbs < peak_gflops; }

StepWork default_model_step_work(int64_t batch, int64_t d, int64_t k, int64_t n) {
  const double B = static_cast<double>(batch), D = static_cast<double>(d), K = static_cast<double>(k),
               N = static_cast<double>(n);
  StepWork work;
  work.flops = 2 * B * D * K          // encode
               + 2 * B * N * K        // search
               + B * K                // q − z
               + 2 * B * D * K + B * D  // decode, residual
               + 2 * B * D + 2 * B * K  // loss sums of squares
               + 2 * B * K            // codebook gradient
               + 13 * N * K;          // Adam
  work.bytes = 4 * (B * D + 2 * D * K + 7 * N * K);
  return work;
}

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

std::vector<FmaPeak> measure_fma_peaks(double min_time, int threads) {
  std::vector<FmaPeak> peaks;
  const int widest = static_cast<int>(kernels::best_search_isa());
  for (int isa = 0; isa <= widest; ++isa)
    for (const int t : threads > 1 ? std::vector<int>{1, threads} : std::vector<int>{1}) {
      const auto kind = static_cast<kernels::SearchIsa>(isa);
      peaks.push_back({kind, t, kernels::fma_peak_gflops(kind, t, min_time)});
    }
  return peaks;
}

double peak_of(const std::vector<FmaPeak>& peaks, kernels::SearchIsa isa, int threads) {
  for (const FmaPeak& p : peaks)
    if (p.isa == isa && p.threads == threads) return p.gflops;
  return 0;
}

std::vector<Bandwidth> measure_bandwidth(double min_time, int threads) {
  std::vector<Bandwidth> rows;
  for (const int64_t bytes : {int64_t{16} << 10, int64_t{256} << 10, int64_t{4} << 20, int64_t{64} << 20})
    for (const int t : threads > 1 ? std::vector<int>{1, threads} : std::vector<int>{1})
      rows.push_back({bytes, t, kernels::triad_bandwidth_gbs(bytes, t, min_time)});
  return rows;
}

double memory_bandwidth(const std::vector<Bandwidth>& rows, int threads) {
  int64_t largest = 0;
  double gbs = 0;
  for (const Bandwidth& b : rows)
    if (b.threads == threads && b.bytes_per_array > largest) largest = b.bytes_per_array, gbs = b.gbs;
  return gbs;
}

BlasKernel blas_kernel() {
  BlasKernel kernel;
  // Looked up at run time: LibTorch reaches the BLAS through libblas.so.3, which Debian's
  // alternatives point at OpenBLAS or at another implementation.
  using Corename = char* (*)();
  if (const auto corename = reinterpret_cast<Corename>(dlsym(RTLD_DEFAULT, "openblas_get_corename")))
    if (const char* name = corename()) kernel.name = name;
  if (const char* forced = std::getenv("OPENBLAS_CORETYPE"); forced && *forced)
    kernel.forced_by = std::string("OPENBLAS_CORETYPE=") + forced;
  return kernel;
}

GemmCeiling measure_sgemm_ceiling(double min_time) {
  GemmCeiling ceiling;
  const int64_t size = ceiling.size;
  const at::Tensor a = random_matrix(size, size, 1), b = random_matrix(size, size, 2);
  at::Tensor c = at::empty({size, size});
  ceiling.seconds = median_seconds([&] { at::mm_out(c, a, b); }, min_time, 5);
  ceiling.gflops = 2.0 * size * size * size / ceiling.seconds / 1e9;
  return ceiling;
}

std::vector<SearchMemory> measure_search_memory() {
  std::vector<SearchMemory> cases;
  for (const int64_t k : {8, 64}) {
    SearchMemory m;
    m.k = k;
    const int64_t B = m.rows, n = m.codewords;
    const auto growth = [&](bool naive) -> int64_t {
      malloc_trim(0);  // freed heap pages would otherwise be reused unseen by the RSS
      const int64_t before = status_bytes("VmRSS");
      if (!reset_peak_rss() || before < 0) return -1;
      at::Tensor z = random_matrix(B, k, 3), codebook = random_matrix(n, k, 4);
      at::Tensor indices = naive ? at::cdist(z, codebook).argmin(1) : nearest_codeword(z, codebook);
      at::Tensor z_q_hard = codebook.index_select(0, indices);
      return status_bytes("VmHWM") - before;
    };
    m.fused_growth = growth(false);
    m.naive_growth = growth(true);
    m.io_bytes = (B * k + n * k) * 4 + B * 8 + B * k * 4;
    cases.push_back(m);
  }
  return cases;
}

std::vector<SearchCase> measure_search(double min_time, const ReferenceSearch& reference) {
  std::vector<SearchCase> cases;
  for (const int64_t B : {1024, 65536})
    for (const int64_t n : {256, 1024, 4096})
      for (const int64_t k : {8, 64}) {
        const at::Tensor z = random_matrix(B, k, 5), codebook = random_matrix(n, k, 6);
        at::Tensor z_q_hard;
        SearchCase c;
        c.rows = B, c.codewords = n, c.k = k;
        c.seconds = median_seconds([&] { z_q_hard = codebook.index_select(0, nearest_codeword(z, codebook)); },
                                   min_time, 3);
        kernels::PackedCodebook packed;
        std::vector<int64_t> indices(static_cast<size_t>(B));
        c.kernel_seconds = median_seconds(
            [&] {
              kernels::pack_codebook(codebook.data_ptr<float>(), n, k, packed);
              kernels::search_nearest_parallel(packed, z.data_ptr<float>(), B, indices.data(), at::get_num_threads());
            },
            min_time, 3);
        c.naive_seconds = median_seconds(
            [&] { z_q_hard = codebook.index_select(0, at::cdist(z, codebook).argmin(1)); }, min_time, 3);
        c.reference_seconds = reference ? reference(z, codebook, min_time) : -1;
        c.flops = 2.0 * B * n * k;
        c.bytes = 4.0 * (B * k + n * k) + 8.0 * B + 4.0 * B * k;
        c.gflops = c.flops / c.seconds / 1e9;
        cases.push_back(c);
      }
  return cases;
}

std::vector<StepCase> measure_steps(double min_time) {
  std::vector<StepCase> cases;
  RunConfig config;
  const GaussianDataset dataset = step_dataset(config);
  for (const auto& [quantizer, quantizer_name] : kQuantizerNames)
    for (const int64_t batch : {64, 256, 1024}) {
      StepCase c;
      c.quantizer = quantizer;
      c.batch = batch;
      c.fused_seconds = step_seconds(dataset, config, quantizer, batch, true, min_time);
      c.autograd_seconds = step_seconds(dataset, config, quantizer, batch, false, min_time);
      c.work = default_model_step_work(batch, config.d, config.k, config.codebook_size);
      cases.push_back(c);
    }
  return cases;
}

std::vector<ThreadCase> measure_threads(double min_time, int threads) {
  const int before = at::get_num_threads();
  std::vector<ThreadCase> cases;
  RunConfig config;
  const GaussianDataset dataset = step_dataset(config);
  const auto measure = [&](const std::string& name, const std::function<double()>& seconds, double unit,
                           const char* unit_name) {
    ThreadCase c;
    c.name = name;
    c.unit = unit;
    c.unit_name = unit_name;
    at::set_num_threads(1);
    c.one_thread_seconds = seconds();
    at::set_num_threads(threads);
    c.all_threads_seconds = seconds();
    cases.push_back(c);
  };
  for (const int64_t k : {8, 64}) {
    const at::Tensor z = random_matrix(65536, k, 7), codebook = random_matrix(1024, k, 8);
    measure("search B = 65536, n = 1024, k = " + std::to_string(k),
            [&] { return median_seconds([&] { nearest_codeword(z, codebook); }, min_time, 3); }, 1e3, " ms");
  }
  measure("fused step, vq, batch 256",
          [&] { return step_seconds(dataset, config, QuantizerKind::vq, 256, true, min_time); }, 1e3, " ms");
  measure("autograd step, vq, batch 256",
          [&] { return step_seconds(dataset, config, QuantizerKind::vq, 256, false, min_time); }, 1e3, " ms");
  const at::Tensor x = dataset.X.slice(0, 0, 256).contiguous(), u = dataset.U_k;
  measure("x (256, 64) @ U_k (64, 8)", [&] { return median_seconds([&] { at::mm(x, u); }, min_time, 100); }, 1e6,
          " µs");
  at::set_num_threads(before);
  return cases;
}

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t start = line.find_first_not_of(" \t:", line.find(':'));
      return start == std::string::npos ? "" : line.substr(start);
    }
  return "";
}

double wall_seconds(const std::string& command) {
  const Clock::time_point start = Clock::now();
  const int status = std::system((command + " > /dev/null 2>&1").c_str());
  return status == 0 ? seconds_since(start) : -1;
}

}  // namespace vqvae
