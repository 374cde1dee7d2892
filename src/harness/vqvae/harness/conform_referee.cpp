#include <vqvae/harness/conform_referee.h>

#include <vqvae/core/checks.h>
#include <vqvae/core/format.h>

#include <ATen/ATen.h>

#include <limits>

namespace vqvae::conform {

Check Tally::result(std::string name, std::optional<int> fix, const std::string& what) const {
  Check c;
  c.name = std::move(name);
  c.fix = fix;
  if (!failures.empty()) {
    c.status = Check::Status::failed;
    c.detail = failures.front() + (failures.size() > 1 ? " (and " + std::to_string(failures.size() - 1) + " more)" : "");
  } else if (passed == 0) {
    c.status = Check::Status::skipped;
    c.detail = skips.empty() ? "no case of this check in the request" : skips.front();
  } else {
    c.status = Check::Status::passed;
    c.detail = what + " in " + std::to_string(passed) + (passed == 1 ? " case" : " cases") +
               (measured.empty() ? "" : ": " + measured);
  }
  return c;
}

std::vector<Judged> Cases::of(ConformCaseKind kind, const char* cls) const {
  std::vector<Judged> out;
  for (const Judged& j : cases_)
    if (case_kind(*j.request) == kind && (!cls || text_attribute(*j.request, "class") == cls)) out.push_back(j);
  return out;
}

std::vector<Judged> Cases::answered(Tally& tally, ConformCaseKind kind, const char* cls) const {
  std::vector<Judged> out;
  for (const Judged& j : of(kind, cls)) {
    if (const std::string why = unusable(j); !why.empty()) tally.fail(why);
    else out.push_back(j);
  }
  return out;
}

const std::vector<Area>& areas() {
  using K = ConformCaseKind;
  static const std::vector<Area> all{
      {"data", {K::dataset}, data_cases, judge_data},
      {"pca", {K::pca, K::legacy}, nullptr, judge_pca},
      {"quantizer", {K::quantizer, K::ste}, quantizer_cases, judge_quantizer},
      {"loss", {K::loss, K::model, K::ste}, loss_cases, judge_loss},
      {"init", {K::init}, init_cases, judge_init},
      {"metrics", {K::metrics}, metrics_cases, judge_metrics},
      {"trainer", {K::train, K::evaluate, K::modules}, trainer_cases, judge_trainer},
  };
  return all;
}

GoldenRecord make_record(std::string name, std::vector<Attribute> attributes,
                         std::vector<std::pair<std::string, at::Tensor>> datasets) {
  GoldenRecord r;
  r.name = std::move(name);
  r.attributes = std::move(attributes);
  r.datasets = std::move(datasets);
  return r;
}

std::string status_of(const GoldenRecord& response) { return std::get<std::string>(response.attribute("status")); }

bool is_defaults_call(const Judged& j) { return text_attribute(*j.request, "call") == "defaults"; }

std::string text_attribute(const GoldenRecord& r, const std::string& name, const std::string& otherwise) {
  for (const auto& [key, value] : r.attributes)
    if (key == name)
      if (const auto* text = std::get_if<std::string>(&value)) return *text;
  return otherwise;
}

int64_t int_attribute(const GoldenRecord& r, const std::string& name, int64_t otherwise) {
  for (const auto& [key, value] : r.attributes)
    if (key == name)
      if (const auto* i = std::get_if<int64_t>(&value)) return *i;
  return otherwise;
}

double real_attribute(const GoldenRecord& r, const std::string& name, double otherwise) {
  for (const auto& [key, value] : r.attributes)
    if (key == name) {
      if (const auto* d = std::get_if<double>(&value)) return *d;
      if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
    }
  return otherwise;
}

bool has_attribute(const GoldenRecord& r, const std::string& name) {
  for (const auto& entry : r.attributes)
    if (entry.first == name) return true;
  return false;
}

const at::Tensor* output(const GoldenRecord& response, const std::string& name) {
  for (const auto& entry : response.datasets)
    if (entry.first == name) return &entry.second;
  return nullptr;
}

std::string unusable(const Judged& j) {
  const std::string status = status_of(*j.response);
  if (status == "ok") return "";
  const std::string detail = text_attribute(*j.response, "detail");
  return "case " + j.request->name + ": driver reported " + status + (detail.empty() ? "" : " (" + detail + ")");
}

at::Tensor f64(const at::Tensor& t) { return t.detach().to(at::kDouble); }
double max_abs(const at::Tensor& t) { return t.numel() ? t.detach().to(at::kDouble).abs().max().item<double>() : 0.0; }
std::string shape_of(const at::Tensor* t) { return t ? shape_string(*t) : "absent"; }

bool close(const at::Tensor& a, const at::Tensor& b, double atol, double rtol, double& error) {
  if (a.sizes() != b.sizes()) {
    error = std::numeric_limits<double>::infinity();
    return false;
  }
  const at::Tensor diff = (f64(a) - f64(b)).abs();
  error = max_abs(diff);
  // NaN anywhere: not close (a comparison with NaN is false).
  return (diff <= atol + rtol * f64(b).abs()).all().item<bool>();
}

std::string differs(const GoldenRecord& response, const std::string& name, const at::Tensor& expected,
                    const std::string& expectation, double atol, double rtol) {
  const at::Tensor* got = output(response, name);
  if (!got) {
    const std::string missing = text_attribute(response, "missing");
    return "no " + name + (missing.empty() ? "" : " (missing: " + missing + ")");
  }
  double error = 0;
  if (close(*got, expected, atol, rtol, error)) return "";
  if (got->sizes() != expected.sizes())
    return name + " " + shape_of(got) + ", expected " + expectation + " " + shape_string(expected);
  return name + " differs from " + expectation + " by up to " + format_significant(error, 3) + " (max |expected| " +
         format_significant(max_abs(expected), 3) + "; allowed " + format_significant(atol, 2) + " + " +
         format_significant(rtol, 2) + "·|expected|)";
}

std::string stored_expectations_differ(const Judged& j, double atol, double rtol) {
  for (const auto& [name, expected] : j.expected)
    if (const std::string why = differs(*j.response, name, expected, "the stored expectation", atol, rtol); !why.empty())
      return why;
  return "";
}

std::string bad_indices(const at::Tensor* indices, int64_t B, int64_t n) {
  if (!indices) return "no indices";
  if (indices->sizes() != at::IntArrayRef({B})) return "indices " + shape_of(indices) + ", expected (B) = (" + std::to_string(B) + ")";
  if (at::isFloatingType(indices->scalar_type()) && !(f64(*indices) == f64(*indices).round()).all().item<bool>())
    return "indices are not integers";
  if (B == 0) return "";
  const int64_t lo = indices->to(at::kLong).min().item<int64_t>(), hi = indices->to(at::kLong).max().item<int64_t>();
  if (lo < 0 || hi >= n)
    return "indices range over [" + std::to_string(lo) + ", " + std::to_string(hi) + "], outside the codebook's [0, " +
           std::to_string(n - 1) + "]";
  return "";
}

GoldenRecord ours(const GoldenRecord& request) { return execute_with_library(request); }

}  // namespace vqvae::conform
