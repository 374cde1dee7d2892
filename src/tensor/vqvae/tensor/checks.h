// Tensor argument checks shared by the whole library: each throws vqvae::InvalidArgument
// (core/errors.h) with one line naming the function, the argument, the expected and the actual
// value. Symbols: B batch, d ambient, k latent, n codebook size.
#pragma once

#include <vqvae/core/errors.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <initializer_list>
#include <string>

namespace vqvae {

/// "(4, 8)" for a tensor of sizes [4, 8]; "undefined" for an undefined tensor.
std::string shape_string(const at::Tensor& tensor);

/// Checks that `tensor` is defined, floating point (float32 or float64), of rank
/// expected.size(), and that each dimension equals the expected one (-1: any size).
/// `shape_names` spells the expected shape in symbols, e.g. "(B, k)".
/// Message: "VectorQuantizer::forward: z must have shape (B, k) = (*, 8), got (4, 7)".
void check_shape(const at::Tensor& tensor, const char* where, const char* argument,
                 std::initializer_list<int64_t> expected, const char* shape_names);

/// Checks value >= minimum. Message: "GaussianDataset: k must be >= 1, got 0".
void check_at_least(int64_t value, int64_t minimum, const char* where, const char* argument);

/// Checks that two sizes agree. Message:
/// "VQVAE: quantizer.dim must equal encoder.latent_dim = 8, got 4".
void check_equal(int64_t actual, int64_t expected, const char* where, const char* argument,
                 const char* expected_name);

/// Checks every element is finite. Message: "...: z must be finite, got 3 NaN/Inf of 512 elements".
void check_finite(const at::Tensor& tensor, const char* where, const char* argument);

/// max |t| over every element, as a double (exact: |x| and max are exact in any float type);
/// 0 for an empty tensor. What the checks and the divergence diagnosis report.
double max_abs(const at::Tensor& t);

/// Whether `t` is a defined, contiguous float32 CPU tensor (what the fused kernels can use in place).
bool is_float_cpu_contiguous(const at::Tensor& t);

}  // namespace vqvae
