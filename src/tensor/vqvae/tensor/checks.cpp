#include <vqvae/tensor/checks.h>

#include <ATen/ATen.h>

#include <sstream>

namespace vqvae {

std::string shape_string(const at::Tensor& tensor) {
  if (!tensor.defined()) return "undefined";
  std::ostringstream out;
  out << "(";
  for (int64_t i = 0; i < tensor.dim(); ++i) out << (i ? ", " : "") << tensor.size(i);
  out << ")";
  return out.str();
}

void check_shape(const at::Tensor& tensor, const char* where, const char* argument,
                 std::initializer_list<int64_t> expected, const char* shape_names) {
  std::ostringstream want;
  want << shape_names << " = (";
  int64_t i = 0;
  for (int64_t size : expected) {
    want << (i++ ? ", " : "");
    if (size < 0) want << "*"; else want << size;
  }
  want << ")";
  if (!tensor.defined())
    throw_invalid_argument(where, std::string(argument) + " must have shape " + want.str() +
                                      ", got an undefined tensor");
  if (tensor.scalar_type() != at::kFloat && tensor.scalar_type() != at::kDouble)
    throw_invalid_argument(where, std::string(argument) + " must be float32 or float64, got " +
                                      std::string(c10::toString(tensor.scalar_type())));
  bool ok = tensor.dim() == static_cast<int64_t>(expected.size());
  i = 0;
  for (int64_t size : expected) {
    if (!ok) break;
    ok = size < 0 || tensor.size(i) == size;
    ++i;
  }
  if (!ok)
    throw_invalid_argument(where, std::string(argument) + " must have shape " + want.str() +
                                      ", got " + shape_string(tensor));
}

void check_at_least(int64_t value, int64_t minimum, const char* where, const char* argument) {
  if (value < minimum)
    throw_invalid_argument(where, std::string(argument) + " must be >= " +
                                      std::to_string(minimum) + ", got " + std::to_string(value));
}

void check_equal(int64_t actual, int64_t expected, const char* where, const char* argument,
                 const char* expected_name) {
  if (actual != expected)
    throw_invalid_argument(where, std::string(argument) + " must equal " + expected_name + " = " +
                                      std::to_string(expected) + ", got " +
                                      std::to_string(actual));
}

bool is_float_cpu_contiguous(const at::Tensor& t) {
  return t.defined() && t.scalar_type() == at::kFloat && t.device().is_cpu() && t.is_contiguous();
}

void check_finite(const at::Tensor& tensor, const char* where, const char* argument) {
  const int64_t bad = (~at::isfinite(tensor)).sum().item<int64_t>();
  if (bad > 0)
    throw_invalid_argument(where, std::string(argument) + " must be finite, got " +
                                      std::to_string(bad) + " NaN/Inf of " +
                                      std::to_string(tensor.numel()) + " elements");
}

double max_abs(const at::Tensor& t) { return t.numel() ? t.detach().abs().max().item<double>() : 0.0; }

}  // namespace vqvae
