// The machine's arithmetic and memory limits, measured by dependency-free loops (no LibTorch, no
// BLAS): the rate the search kernel and the fused step are judged against in `vqvae bench`
// (docs/bench.md), so that a fraction of a limit can never exceed 100 %.
#pragma once

#include <vqvae/math/search_kernel.h>

#include <cstdint>

namespace vqvae::kernels {

/// Single-precision FLOP/s (×1e9) of fused multiply-adds at `isa` (scalar: one float per FMA,
/// avx2: 8, avx512: 16; 2 flops each) on `threads` threads (OpenMP), each thread running 12
/// independent accumulators (enough to hide the FMA latency on current x86 cores), repeated for at
/// least `min_seconds`; the best repetition. Throws InvalidArgument for an isa wider than the CPU
/// supports (check_search_isa) or threads < 1.
double fma_peak_gflops(SearchIsa isa, int threads, double min_seconds);

/// Bytes/s (×1e9) of a streaming triad a[i] = b[i] + s·c[i] over three float arrays of
/// `bytes_per_array` each on `threads` threads, counting 3 · bytes_per_array per pass (two reads,
/// one write); the best pass of those run for at least `min_seconds`. Throws InvalidArgument for
/// bytes_per_array < 64 or threads < 1.
double triad_bandwidth_gbs(int64_t bytes_per_array, int threads, double min_seconds);

}  // namespace vqvae::kernels
