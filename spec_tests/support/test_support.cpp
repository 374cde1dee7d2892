#include "test_support.h"

#include <vqvae/tensor/checks.h>

#include <ATen/ATen.h>

#include <fstream>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace vqvae::testing {

::testing::AssertionResult tensors_close(const at::Tensor& actual, const at::Tensor& expected,
                                         double atol, double rtol) {
  if (!actual.defined() || !expected.defined())
    return ::testing::AssertionFailure() << "undefined tensor: actual " << shape_string(actual)
                                         << ", expected " << shape_string(expected);
  if (actual.sizes() != expected.sizes())
    return ::testing::AssertionFailure() << "shape " << shape_string(actual) << " != expected "
                                         << shape_string(expected);
  const at::Tensor a = actual.detach().to(at::kDouble).cpu().reshape(-1);
  const at::Tensor e = expected.detach().to(at::kDouble).cpu().reshape(-1);
  const at::Tensor abs_err = (a - e).abs();
  const at::Tensor bad = (abs_err > atol + rtol * e.abs()) | (a.isnan() != e.isnan());
  const int64_t count = bad.sum().item<int64_t>();
  if (count == 0) return ::testing::AssertionSuccess();
  std::ostringstream msg;
  msg << count << " of " << a.numel() << " elements differ (atol " << atol << ", rtol " << rtol
      << "); max abs error " << abs_err.max().item<double>() << ", max rel error "
      << (abs_err / e.abs().clamp_min(1e-300)).max().item<double>() << "; first at flat index";
  const at::Tensor where = bad.nonzero().reshape(-1);
  for (int64_t i = 0; i < std::min<int64_t>(5, where.numel()); ++i) {
    const int64_t j = where[i].item<int64_t>();
    msg << " " << j << " (" << a[j].item<double>() << " vs " << e[j].item<double>() << ")";
  }
  return ::testing::AssertionFailure() << msg.str();
}

::testing::AssertionResult fails_because(const ::testing::AssertionResult& check,
                                         const std::string& reason) {
  if (check) return ::testing::AssertionFailure() << "the check passed on the reproduction";
  if (std::string(check.message()).find(reason) == std::string::npos)
    return ::testing::AssertionFailure() << "the check failed, but not because '" << reason
                                         << "': " << check.message();
  return ::testing::AssertionSuccess() << check.message();
}

namespace {
// The folders fresh_folder made, removed at exit (a static's destructor runs after main returns).
struct FoldersRemovedAtExit {
  std::vector<std::filesystem::path> folders;
  ~FoldersRemovedAtExit() {
    std::error_code ignored;
    for (const auto& folder : folders) std::filesystem::remove_all(folder, ignored);
  }
};
}  // namespace

std::filesystem::path fresh_folder(const std::string& name) {
  static FoldersRemovedAtExit made;
  const auto folder = std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  made.folders.push_back(folder);
  return folder;
}

std::string bytes_of(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

at::Tensor finite_difference_gradient(const std::function<double(const at::Tensor&)>& f,
                                      const at::Tensor& x, double eps) {
  at::Tensor point = x.detach().to(at::kDouble).clone();
  at::Tensor grad = at::zeros_like(point);
  auto flat = point.view(-1);
  auto grad_flat = grad.view(-1);
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double original = flat[i].item<double>();
    flat[i] = original + eps;
    const double up = f(point);
    flat[i] = original - eps;
    const double down = f(point);
    flat[i] = original;
    grad_flat[i] = (up - down) / (2 * eps);
  }
  return grad;
}

::testing::AssertionResult throws_invalid(const std::function<void()>& statement,
                                          std::initializer_list<std::string> fragments) {
  const Thrown thrown = thrown_by<InvalidArgument>(statement);
  if (!thrown.threw) return ::testing::AssertionFailure() << "did not throw";
  if (!thrown.is_expected_type)
    return ::testing::AssertionFailure() << "threw another exception: " << thrown.message;
  if (thrown.message.find('\n') != std::string::npos)
    return ::testing::AssertionFailure() << "message is not one line: " << thrown.message;
  for (const auto& fragment : fragments)
    if (thrown.message.find(fragment) == std::string::npos)
      return ::testing::AssertionFailure() << "message '" << thrown.message << "' lacks '" << fragment << "'";
  return ::testing::AssertionSuccess();
}

}  // namespace vqvae::testing
