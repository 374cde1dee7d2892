// Argument checks shared by the whole library.
//
// Two kinds of checks, as in FAISS: user errors throw vqvae::InvalidArgument with one line that
// names the function, the argument, the expected and the actual value; internal invariants use
// TORCH_INTERNAL_ASSERT. Symbols: B batch, d ambient, k latent, n codebook size.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace vqvae {

/// Bad input to a public constructor or function. what() is one line:
/// "<where>: <argument> <expected>, got <actual>".
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Throws InvalidArgument("<where>: <message>").
[[noreturn]] void throw_invalid_argument(const std::string& where, const std::string& message);

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

}  // namespace vqvae
