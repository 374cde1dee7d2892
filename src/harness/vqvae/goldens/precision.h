// The two ways a golden case is computed. `vqvae goldens check` compares the file with the
// library as it runs (float32); `vqvae goldens regen` writes the reference: the same draws carried
// in float64, each stored value the float64 value of its formula, applied to the stored values it
// depends on, rounded once to float32. A float32 result of a BLAS call depends on the kernel's
// summation order (OpenBLAS picks kernels by CPU: SkylakeX, Cooperlake, Haswell, Prescott ... give
// different last bits, and eigh amplifies them to ~1e-5); a float64 result differs between
// kernels by ~1e-16 relative, far inside the distance of each stored value to its nearest float32
// rounding boundary (measured by spec_tests/golden_rounding_test.cpp), so the reference's bytes
// are the same on every machine. fixtures/README.md ("Why the bytes do not depend on the CPU").
#pragma once

#include <vqvae/data/gaussian_dataset.h>

#include <ATen/core/Tensor.h>

namespace vqvae {

enum class GoldenPrecision {
  float32,  ///< the library as it runs: what `check` compares with the file
  float64,  ///< the reference the file stores: float64 arithmetic, rounded once to float32
};

/// The dataset in `precision`. float64: every tensor in double, with each column of U_k oriented
/// as the float32 computation orients it (an eigenvector's sign is LAPACK's choice, and the
/// library's float32 choice is the one the goldens pin); X, U_k as the file will store them are
/// stored_value() of these.
GaussianDataset golden_dataset(GaussianDatasetOptions options, GoldenPrecision precision);

/// The value the file will hold, in the precision the next formula uses: float64 -> rounded to
/// float32 and back (exact), so that a value computed from it is a function of the stored bits;
/// float32 -> t itself.
at::Tensor stored_value(const at::Tensor& t, GoldenPrecision precision);

/// `t` in the arithmetic of `precision` (float64 or float32; integer tensors unchanged).
at::Tensor in_precision(const at::Tensor& t, GoldenPrecision precision);

/// As written to the file: floating point tensors as float32 (rounded once), integers unchanged.
at::Tensor as_stored(const at::Tensor& t);

}  // namespace vqvae
