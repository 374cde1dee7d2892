// The measurements behind `vqvae bench` (docs/bench.md): each returns numbers and prints nothing,
// so that ratios compare like with like inside one process and the program only lays out tables.
// Every time is the median of repeated calls; no test asserts a time.
//
// Symbols: B rows searched, n codebook size, k latent dimension.
#pragma once

#include <vqvae/math/search_kernel.h>
#include <vqvae/quantizers/quantizer_kind.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vqvae {

/// Median seconds per call of `work`: at least `min_reps` calls and at least `min_time` seconds
/// of calls (after one untimed warm-up call).
double median_seconds(const std::function<void()>& work, double min_time, int min_reps);

/// The roofline model (Williams, Waterman and Patterson, CACM 2009): a kernel that does F flops
/// while moving Q bytes to or from memory (arithmetic intensity I = F / Q flop/byte) reaches at
/// most min(peak, I × bandwidth) GFLOP/s. Below the ridge I = peak / bandwidth it is memory-bound.
struct Roofline {
  double peak_gflops = 0;    ///< FMA peak of the instruction set the kernel runs, at its threads
  double bandwidth_gbs = 0;  ///< memory bandwidth at those threads (the largest arrays' triad)
  double bound(double flop_per_byte) const;
  bool memory_bound(double flop_per_byte) const;
};

/// The FMA peak of one instruction set on a number of threads (math/machine_limits.h).
struct FmaPeak {
  kernels::SearchIsa isa = kernels::SearchIsa::scalar;
  int threads = 1;
  double gflops = 0;
};
/// Every instruction set this CPU has (scalar up to best_search_isa()), on 1 thread and on `threads`.
std::vector<FmaPeak> measure_fma_peaks(double min_time, int threads);
/// The peak of `isa` on `threads` among `peaks`; 0 when not measured.
double peak_of(const std::vector<FmaPeak>& peaks, kernels::SearchIsa isa, int threads);

/// Triad bandwidth at one array size on a number of threads.
struct Bandwidth {
  int64_t bytes_per_array = 0;
  int threads = 1;
  double gbs = 0;
};
/// Arrays of 16 KiB, 256 KiB, 4 MiB and 64 MiB (from the first cache level to memory), each on 1
/// thread and on `threads`.
std::vector<Bandwidth> measure_bandwidth(double min_time, int threads);
/// The memory's bandwidth among `rows`: the triad of the largest arrays on `threads`; 0 when not
/// measured.
double memory_bandwidth(const std::vector<Bandwidth>& rows, int threads);

/// The kernel OpenBLAS chose for this CPU (openblas_get_corename, "Haswell", "SkylakeX"), and
/// whether the environment forced it (OPENBLAS_CORETYPE); "" when the BLAS is not OpenBLAS.
struct BlasKernel {
  std::string name;
  std::string forced_by;  ///< "OPENBLAS_CORETYPE=Haswell" or ""
};
BlasKernel blas_kernel();

/// Single-precision GEMM 2048³ through LibTorch's BLAS: the arithmetic rate the search is judged by.
struct GemmCeiling {
  int64_t size = 2048;
  double seconds = 0;
  double gflops = 0;  ///< 2·size³ / seconds
};
GemmCeiling measure_sgemm_ceiling(double min_time);

/// Peak resident memory of one search (nearest_codeword + z_q_hard) at B = 65536, n = 4096,
/// against its inputs and outputs and against cdist + argmin. Measured through /proc/self/status
/// after resetting the peak (/proc/self/clear_refs); growth -1 where that is not permitted.
struct SearchMemory {
  int64_t rows = 65536, codewords = 4096, k = 0;
  int64_t io_bytes = 0;       ///< z, C, indices, z_q_hard
  int64_t fused_growth = -1;  ///< peak RSS growth of nearest_codeword
  int64_t naive_growth = -1;  ///< of cdist(z, C).argmin(1)
};
std::vector<SearchMemory> measure_search_memory();  ///< k = 8, 64

/// Seconds of an external exact search of z (B, k) against codebook (n, k) (e.g. FAISS's
/// IndexFlatL2), or -1 when there is none.
using ReferenceSearch = std::function<double(const at::Tensor& z, const at::Tensor& codebook, double min_time)>;

/// nearest_codeword + z_q_hard against cdist + argmin and the reference, per (B, n, k).
struct SearchCase {
  int64_t rows = 0, codewords = 0, k = 0;
  double seconds = 0, naive_seconds = 0, reference_seconds = -1;
  /// The kernel alone (kernels::pack_codebook + search_nearest_parallel on raw buffers): the
  /// same work without LibTorch's per-call part (tensor checks and allocation, index_select).
  double kernel_seconds = 0;
  double flops = 0;   ///< 2·B·n·k: the distances' multiply-adds, counted as two flops each
  double bytes = 0;   ///< 4·(B·k + n·k) read (z, C), 8·B + 4·B·k written (indices, z_q_hard)
  double gflops = 0;  ///< flops / seconds / 1e9
  double flop_per_byte() const { return flops / bytes; }
  double kernel_gflops() const { return flops / kernel_seconds / 1e9; }
};
/// B ∈ {1024, 65536}, n ∈ {256, 1024, 4096}, k ∈ {8, 64}.
std::vector<SearchCase> measure_search(double min_time, const ReferenceSearch& reference);

/// The work of one training step of the default model (PCA encoder and decoder frozen, the
/// codebook (n, k) trained by Adam), counted from the shapes and training/fused_step.h's passes.
/// Flops (a multiply-add counts two): encode z = x E 2·B·d·k; search 2·B·n·k; q − z B·k; decode
/// and residual q Dᵀ − x 2·B·d·k + B·d; the loss sums of squares 2·B·d + 2·B·k; the codebook
/// gradient 2·B·k; Adam 13·n·k (3 for the first moment, 4 the second, 3 the denominator with its
/// square root, 3 the update). Bytes: each array the step must touch, once per direction:
/// x (B, d) and E, D (d, k) read; the codebook, Adam's two moments read and written, the
/// gradient written: 4·(B·d + 2·d·k + 7·n·k). The intermediates (z, q, x̂ − x) stay in cache.
struct StepWork {
  double flops = 0;
  double bytes = 0;
  double flop_per_byte() const { return flops / bytes; }
};
StepWork default_model_step_work(int64_t batch, int64_t d, int64_t k, int64_t n);

/// Trainer::train_step on the default model, fused step against the autograd path.
struct StepCase {
  QuantizerKind quantizer = QuantizerKind::vq;
  int64_t batch = 0;
  double fused_seconds = 0, autograd_seconds = 0;
  StepWork work;  ///< the same for both paths and every quantizer (the encoder is frozen)
  double fused_gflops() const { return work.flops / fused_seconds / 1e9; }
};
/// Every quantizer, batch 64, 256, 1024.
std::vector<StepCase> measure_steps(double min_time);

/// The same work with 1 thread and with `threads`: the search kernel at k = 8 and 64, the two
/// steps and a small matmul. Restores LibTorch's thread count.
struct ThreadCase {
  std::string name;
  double one_thread_seconds = 0, all_threads_seconds = 0;
  double unit = 1e3;              ///< how the table shows the seconds: × unit ...
  std::string unit_name = " ms";  ///< ... in these
};
std::vector<ThreadCase> measure_threads(double min_time, int threads);

/// The CPU's model name (/proc/cpuinfo's first "model name"), or "" when unreadable.
std::string cpu_model_name();

/// Draws the roofline picture of a bench run into `path` (PNG or SVG, by its extension; gnuplot):
/// log-log, arithmetic intensity against GFLOP/s; one ceiling min(peak, I × bandwidth) per
/// instruction set at 1 thread, the bandwidth slopes of every triad size, and each search and
/// fused-step case as a point. Returns "" on success, else a one-line reason (gnuplot missing or
/// failing); never throws.
std::string plot_roofline(const std::string& path, const std::vector<FmaPeak>& peaks,
                          const std::vector<Bandwidth>& bandwidth, const std::vector<SearchCase>& search,
                          const std::vector<StepCase>& steps);

/// Wall seconds of `command` run by the shell with its output discarded; -1 when it failed.
double wall_seconds(const std::string& command);

}  // namespace vqvae
