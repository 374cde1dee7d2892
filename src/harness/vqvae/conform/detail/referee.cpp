#include <vqvae/conform/detail/referee.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace vqvae::conform {

Check Tally::result(const std::string& what) const {
  Check c;
  if (!failures.empty()) {
    c.status = Check::Status::failed;
    c.detail = failures.front().line + (failures.size() > 1 ? " (and " + std::to_string(failures.size() - 1) + " more)" : "");
    c.failed_cases = failures;
  } else if (passed > 0) {
    c.status = Check::Status::passed;
    c.detail = what + " in " + std::to_string(passed) + (passed == 1 ? " case" : " cases") +
               (measured.empty() ? "" : ": " + measured);
  } else if (!inapplicable.empty()) {
    c.status = Check::Status::not_applicable;
    c.detail = inapplicable.front();
  } else {
    c.status = Check::Status::skipped;
    c.detail = skips.empty() ? "no case of this check in the request" : skips.front();
  }
  return c;
}

std::vector<Judged> Cases::of(ConformCaseKind kind, const char* cls) const {
  std::vector<Judged> out;
  for (const Judged& j : cases_)
    if (case_kind(*j.request) == kind && (!cls || text_attribute(*j.request, "class", "VectorQuantizer") == cls))
      out.push_back(j);
  return out;
}

std::vector<Judged> Cases::answered(Tally& tally, ConformCaseKind kind, const char* cls) const {
  std::vector<Judged> out;
  for (const Judged& j : of(kind, cls))
    if (usable(j, tally)) out.push_back(j);
  return out;
}

bool usable(const Judged& j, Tally& tally) {
  const std::string status = status_of(*j.response);
  if (status == "ok") return true;
  if (status == "missing")
    if (const SurfacePart* part = surface_part(text_attribute(*j.response, "part"))) {
      absent_part(*part, tally);
      return false;
    }
  const std::string detail = text_attribute(*j.response, "detail");
  tally.fail(j, "driver reported " + status + (detail.empty() ? "" : " (" + detail + ")"));
  return false;
}

const SurfacePart* surface_part(const std::string& name) {
  for (const SurfacePart& part : surface_parts())
    if (part.name == name) return &part;
  return nullptr;
}

void absent_part(const SurfacePart& part, Tally& tally) {
  if (part.required) tally.skip("needs " + part.name + ", which this implementation lacks (surface." + part.name + " fails)");
  else tally.not_applicable(part.name + " is not in this implementation (" + part.why_optional + ")");
}

const GoldenRecord& Cases::ours(const Judged& j) const {
  auto found = ours_.find(j.request->name);
  if (found == ours_.end()) found = ours_.emplace(j.request->name, execute_with_library(*j.request)).first;
  return found->second;
}

const std::vector<Area>& areas() {
  static const std::vector<Area> all{
      {"surface", nullptr, surface_checks},
      {"data", data_cases, data_checks},
      {"pca", nullptr, pca_checks},
      {"quantizer", quantizer_cases, quantizer_checks},
      {"loss", loss_cases, loss_checks},
      {"init", init_cases, init_checks},
      {"metrics", metrics_cases, metrics_checks},
      {"trainer", trainer_cases, trainer_checks},
  };
  return all;
}

const std::vector<CheckDefinition>& check_definitions() {
  static const std::vector<CheckDefinition> all = [] {
    std::vector<CheckDefinition> out;
    for (const Area& area : areas())
      for (CheckDefinition& d : area.checks()) {
        if (area_of(d.id) != area.name)
          throw std::logic_error("conform check id '" + d.id + "' does not start with its area '" + area.name + ".'");
        out.push_back(std::move(d));
      }
    return out;
  }();
  return all;
}

bool is_check_id(const std::string& id) {
  const auto& all = check_definitions();
  return std::any_of(all.begin(), all.end(), [&](const CheckDefinition& d) { return d.id == id; });
}

std::string area_of(const std::string& id) { return id.substr(0, id.find('.')); }

bool learned_module(const GoldenRecord& request, const char* role) {
  return text_attribute(request, role, "learned").rfind("learned", 0) == 0;
}

const std::vector<SurfacePart>& surface_parts() {
  static const std::vector<SurfacePart> all = [] {
    std::vector<SurfacePart> out;
    for (const char* name :
         {"GaussianDataset", "GaussianDataset.get_initialization_batch", "GaussianDataset.get_dataloader", "PCAEncoder",
          "LearnedLinearEncoder", "PCADecoder", "LearnedLinearDecoder", "VectorQuantizer", "RotationVectorQuantizer",
          "VQVAE", "vqvae_loss", "Trainer", "Trainer.train_step", "Trainer.evaluate", "Trainer.save_checkpoint",
          "Trainer.load_checkpoint", "MetricsTracker", "MetricsTracker.compute_utilization_metrics",
          "MetricsTracker.compute_distortion_metrics", "MetricsTracker.compute_codebook_stats", "MetricsTracker.update",
          "MetricsTracker.get_final_metrics", "MetricsTracker.save", "MetricsTracker.load", "uniform_init",
          "random_normal_init", "kmeans_init", "compute_rd_variance", "rd_gaussian_init"})
      out.push_back({name, true, ""});
    out.push_back({"ProjectionVectorQuantizer", false,
                   "optional: the baseline's earlier estimator, kept by this library for comparison; not in BASELINE_FIXES.md"});
    out.push_back({"LinearGaussianVQVAE", false, "optional: the deprecated legacy model (fix #3 applies while it exists)"});
    return out;
  }();
  return all;
}

const char* short_class(const std::string& cls) {
  if (cls == "VectorQuantizer") return "vq";
  if (cls == "RotationVectorQuantizer") return "rotation";
  if (cls == "ProjectionVectorQuantizer") return "projection";
  return "?";
}

double scalar_output(const GoldenRecord& response, const std::string& name) {
  const at::Tensor* t = output(response, name);
  return t && t->numel() == 1 ? f64(*t).reshape({1})[0].item<double>() : std::nan("");
}

std::string raised(const GoldenRecord& response, const std::string& name) {
  const std::string why = text_attribute(response, "error_" + name);
  return why.empty() ? "" : " (it raised: " + why + ")";
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

at::Tensor f64(const at::Tensor& t) { return t.detach().to(at::kDouble); }
std::string shape_of(const at::Tensor* t) { return t ? shape_string(*t) : "absent"; }

namespace {

std::vector<int64_t> shape_vector(const at::Tensor& t) { return t.sizes().vec(); }

}  // namespace

std::optional<Discrepancy> compare(const at::Tensor& theirs, const at::Tensor& ours, double atol, double rtol,
                                   const std::string& quantity, const std::string& ours_is, double* max_difference) {
  Discrepancy d;
  d.quantity = quantity;
  d.ours_is = ours_is;
  d.theirs_shape = shape_vector(theirs);
  d.ours_shape = shape_vector(ours);
  if (d.shape_mismatch()) {
    d.max_difference = std::numeric_limits<double>::infinity();
    if (max_difference) *max_difference = d.max_difference;
    return d;
  }
  const at::Tensor a = f64(theirs).reshape({-1}), b = f64(ours).reshape({-1});
  const at::Tensor diff = (a - b).abs(), allowed = atol + rtol * b.abs();
  d.max_difference = max_abs(diff);  // NaN when one is NaN
  if (max_difference) *max_difference = d.max_difference;
  const at::Tensor outside = (diff <= allowed).logical_not();  // NaN: outside
  d.outside = outside.sum().item<int64_t>();
  d.elements = a.numel();
  if (d.outside == 0) return std::nullopt;
  // The element beyond its tolerance by the most; a NaN difference is the worst of all.
  const at::Tensor excess = at::where(at::isnan(diff), at::full_like(diff, std::numeric_limits<double>::infinity()),
                                      diff - allowed);
  const int64_t flat = excess.argmax().item<int64_t>();
  d.theirs = a[flat].item<double>();
  d.ours = b[flat].item<double>();
  d.difference = diff[flat].item<double>();
  d.tolerance = allowed[flat].item<double>();
  d.element = element_of(flat, theirs.sizes());
  return d;
}

std::vector<int64_t> element_of(int64_t flat, at::IntArrayRef sizes) {
  std::vector<int64_t> element(sizes.size());
  for (size_t i = sizes.size(); i-- > 0;) {
    element[i] = flat % sizes[i];
    flat /= sizes[i];
  }
  return element;
}

std::optional<Discrepancy> shapes(const at::Tensor* theirs, std::vector<int64_t> ours_shape, const std::string& quantity,
                                  const std::string& ours_is) {
  if (!theirs) return std::nullopt;
  Discrepancy d;
  d.quantity = quantity;
  d.ours_is = ours_is;
  d.theirs_shape = shape_vector(*theirs);
  d.ours_shape = std::move(ours_shape);
  return d;
}

Discrepancy one_number(const std::string& quantity, const std::string& ours_is, std::vector<int64_t> element, double theirs,
                       double ours, double tolerance) {
  Discrepancy d;
  d.quantity = quantity;
  d.ours_is = ours_is;
  d.element = std::move(element);
  d.theirs = theirs;
  d.ours = ours;
  d.difference = d.max_difference = std::abs(theirs - ours);
  d.tolerance = tolerance;
  d.outside = d.elements = 1;
  return d;
}

std::optional<Discrepancy> compare(double theirs, double ours, double tolerance, const std::string& quantity,
                                   const std::string& ours_is) {
  if (std::abs(theirs - ours) <= tolerance) return std::nullopt;
  return one_number(quantity, ours_is, {}, theirs, ours, tolerance);
}

Failure differs(const GoldenRecord& response, const std::string& name, const at::Tensor& expected,
                const std::string& expectation, double atol, double rtol, double* max_difference) {
  const at::Tensor* got = output(response, name);
  if (!got) {
    const std::string missing = text_attribute(response, "missing");
    return "no " + name + (missing.empty() ? "" : " (missing: " + missing + ")");
  }
  const std::optional<Discrepancy> d = compare(*got, expected, atol, rtol, name, expectation, max_difference);
  if (!d) return {};
  if (d->shape_mismatch())
    return {name + " " + shape_of(got) + ", expected " + expectation + " " + shape_string(expected), *d};
  return {name + " differs from " + expectation + " by up to " + format_significant(d->max_difference, 3) +
              " (max |expected| " + format_significant(max_abs(expected), 3) + "; allowed " +
              format_significant(atol, 2) + " + " + format_significant(rtol, 2) + "·|expected|)",
          *d};
}

Failure stored_expectations_differ(const Judged& j, double atol, double rtol) {
  for (const auto& [name, expected] : j.expected)
    if (Failure why = differs(*j.response, name, expected, "the stored expectation", atol, rtol); !why.empty())
      return why;
  return {};
}

Failure bad_indices(const at::Tensor* indices, int64_t B, int64_t n) {
  if (!indices) return "no indices";
  if (indices->sizes() != at::IntArrayRef({B}))
    return {"indices " + shape_of(indices) + ", expected (B) = (" + std::to_string(B) + ")", shapes(indices, {B}, "indices", "(B)")};
  if (at::isFloatingType(indices->scalar_type())) {
    const at::Tensor values = f64(*indices);
    if (const auto numbers = compare(values, values.round(), 0, 0, "indices", "whole numbers"))
      return {"indices are not integers", numbers};
  }
  if (B == 0) return {};
  const at::Tensor values = indices->to(at::kLong);
  const int64_t lo = values.min().item<int64_t>(), hi = values.max().item<int64_t>();
  if (lo < 0 || hi >= n) {
    const int64_t row = (lo < 0 ? values.argmin() : values.argmax()).item<int64_t>();
    return {"indices range over [" + std::to_string(lo) + ", " + std::to_string(hi) + "], outside the codebook's [0, " +
                std::to_string(n - 1) + "]",
            one_number("indices", lo < 0 ? "the smallest codeword index, 0" : "the largest codeword index, n − 1", {row},
                       static_cast<double>(lo < 0 ? lo : hi), static_cast<double>(lo < 0 ? 0 : n - 1), 0)};
  }
  return {};
}


}  // namespace vqvae::conform
