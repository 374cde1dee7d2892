// Shared test support: tensor comparison with a useful failure message, and central finite
// differences for gradient checks (LibTorch has no gradcheck).
#pragma once

#include <ATen/core/Tensor.h>
#include <gtest/gtest.h>

#include <exception>
#include <filesystem>
#include <functional>
#include <string>

namespace vqvae::testing {

/// Passes when actual and expected have the same shape and |a − e| <= atol + rtol·|e| everywhere.
/// On failure: the shapes, or the count of differing elements, the max absolute and relative
/// error and the first differing indices.
::testing::AssertionResult tensors_close(const at::Tensor& actual, const at::Tensor& expected,
                                         double atol = 1e-6, double rtol = 0.0);

#define EXPECT_TENSOR_NEAR(actual, expected, atol) \
  EXPECT_TRUE(::vqvae::testing::tensors_close((actual), (expected), (atol)))
#define EXPECT_TENSOR_EQ(actual, expected) \
  EXPECT_TRUE(::vqvae::testing::tensors_close((actual), (expected), 0.0))

/// For checks run against a reproduction of a documented bug: passes when `check` failed and its
/// message contains `reason` (so a check failing for another reason does not count).
::testing::AssertionResult fails_because(const ::testing::AssertionResult& check,
                                         const std::string& reason);

/// A new, empty folder under the system's temporary folder, unique to this process; removed with
/// its content when the process exits normally (a test leaves nothing behind in /tmp).
std::filesystem::path fresh_folder(const std::string& name);

/// The whole content of a file (empty when it cannot be read).
std::string bytes_of(const std::filesystem::path& path);

/// ∂f/∂x by central differences, f: x (any shape, float64) -> scalar. eps as PyTorch's gradcheck.
at::Tensor finite_difference_gradient(const std::function<double(const at::Tensor&)>& f,
                                      const at::Tensor& x, double eps = 1e-6);

/// What `statement` threw: whether it threw at all, whether it was an E, and the message.
struct Thrown {
  bool threw = false;
  bool is_expected_type = false;
  std::string message;
};
template <typename E>
Thrown thrown_by(const std::function<void()>& statement) {
  try {
    statement();
  } catch (const E& e) {
    return {true, true, e.what()};
  } catch (const std::exception& e) {
    return {true, false, e.what()};
  }
  return {};
}

/// The message of the E that `statement` throws; "no exception" / "other exception: <what>"
/// otherwise, so that a mismatch shows what happened.
template <typename E>
std::string message_of(const std::function<void()>& statement) {
  const Thrown thrown = thrown_by<E>(statement);
  if (!thrown.threw) return "no exception";
  return thrown.is_expected_type ? thrown.message : "other exception: " + thrown.message;
}

/// Runs `statement` and checks it throws vqvae::InvalidArgument whose message is one line and
/// contains every one of `fragments` (argument name, expected value, actual value).
::testing::AssertionResult throws_invalid(const std::function<void()>& statement,
                                          std::initializer_list<std::string> fragments);

}  // namespace vqvae::testing
