// The referee of `vqvae conform`, inside the harness (internal: the checks' helpers, not
// installed): the judged cases, the tally a check keeps, the check definitions (stable id, the case
// kinds read, the surface parts needed) and the registry of areas. Each area (surface, data, pca,
// quantizer, loss, init, metrics, trainer) is one file, checks_<area>.cpp, with the built-in cases
// it adds and its checks (quantizer and trainer have a second file, checks_quantizer_estimator.cpp
// and checks_trainer_evaluate.cpp, and a detail header for what the two share); adding a check is
// one definition in the area's check list (and its id in spec_tests/conform/check_ids.txt), plus
// its case.
// docs/conform_protocol.md lists the case kinds and what every check compares.
#pragma once

#include <vqvae/tensor/checks.h>
#include <vqvae/harness/check_report.h>
#include <vqvae/conform/protocol.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vqvae::conform {

/// A request case, the driver's response to it, and the expectations stored with it in the golden
/// suite (or computed by the library now, for the configuration's cases), by output name.
struct Judged {
  const GoldenRecord* request;
  const GoldenRecord* response;
  std::map<std::string, at::Tensor> expected;
};

/// Why a case failed: one line, with the numbers behind it where the case compared numbers. Empty
/// (no line) means nothing is wrong, so helpers return it as they returned "" before.
struct Failure {
  std::string why;
  std::optional<Discrepancy> numbers;
  Failure() = default;
  Failure(std::string line) : why(std::move(line)) {}  // NOLINT: a failure without numbers
  Failure(const char* line) : why(line) {}             // NOLINT
  Failure(std::string line, std::optional<Discrepancy> measured) : why(std::move(line)), numbers(std::move(measured)) {}
  bool empty() const { return why.empty(); }
};
/// The failure with `more` appended to (or `before` put in front of) its line, its numbers unchanged.
inline Failure operator+(Failure failure, const std::string& more) {
  failure.why += more;
  return failure;
}
inline Failure operator+(const std::string& before, Failure failure) {
  failure.why = before + failure.why;
  return failure;
}

/// One check over several cases: each case passes, fails (with why), is skipped (nothing to judge)
/// or is not applicable (an optional output it would judge is absent). The check fails when one
/// case failed; passes when none failed and one passed; else is not applicable when a case said
/// so, else skipped.
struct Tally {
  std::vector<FailedCase> failures;
  std::vector<std::string> skips, inapplicable;
  int passed = 0;
  std::string measured;  ///< a number or two for the detail of a pass
  /// Case `j` failed: the line reads "CASE: why".
  void fail(const Judged& j, Failure failure) {
    failures.push_back({j.request->name, j.request->name + ": " + failure.why, std::move(failure.numbers)});
  }
  /// A failure that is no one case's (the line as given).
  void fail(Failure failure) { failures.push_back({"", std::move(failure.why), std::move(failure.numbers)}); }
  void skip(const std::string& why) { skips.push_back(why); }
  void not_applicable(const std::string& why) { inapplicable.push_back(why); }
  void pass() { ++passed; }
  /// The verdict (status and detail): the first failure (and how many more), `what` with the count
  /// of cases and `measured`, the first reason it does not apply, or the first skip.
  Check result(const std::string& what) const;
};

/// The judged cases, selected by kind and class, and this library's answers to them.
class Cases {
 public:
  explicit Cases(std::vector<Judged> cases) : cases_(std::move(cases)) {}
  std::vector<Judged> of(ConformCaseKind kind, const char* cls = nullptr) const;
  /// The cases of `kind` (and class) the driver answered "ok"; each other one fails `tally` with
  /// what the driver reported.
  std::vector<Judged> answered(Tally& tally, ConformCaseKind kind, const char* cls = nullptr) const;
  /// This library's response to the case's request (execute_with_library), computed once per case:
  /// what checks compare with "ours" under the same seed or from the same state.
  const GoldenRecord& ours(const Judged& j) const;

 private:
  std::vector<Judged> cases_;
  mutable std::map<std::string, GoldenRecord> ours_;
};

/// What checks find besides their verdicts.
struct Findings {
  std::map<std::string, std::string> estimators;  ///< quantizer class -> the estimator it computes
};

/// One check of the referee: a stable id (area.subject.property), what it judges, the case kinds
/// it reads and the parts of the implementation's surface it needs (surface_parts()).
struct CheckDefinition {
  std::string id;
  std::string title;
  std::optional<int> fix;                  ///< the documented fix it guards
  std::vector<ConformCaseKind> kinds;
  std::vector<std::string> needs;
  std::function<Check(const Cases&, Findings&)> judge;  ///< status and detail
};

/// A part of the baseline's API an implementation has or lacks (docs/conform_protocol.md, "The surface").
struct SurfacePart {
  std::string name;          ///< "VectorQuantizer", "Trainer.save_checkpoint"
  bool required;
  std::string why_optional;  ///< for an optional part: why an implementation may lack it
};
/// Every part, required first.
const std::vector<SurfacePart>& surface_parts();
/// The part of that name, or null.
const SurfacePart* surface_part(const std::string& name);
/// Tells `tally` that `part` is absent: a skip naming it when it is required (its surface check
/// fails, once), not applicable with why when it is optional.
void absent_part(const SurfacePart& part, Tally& tally);

/// One area of the referee.
struct Area {
  const char* name;
  std::vector<GoldenRecord> (*builtin_cases)();    ///< the cases it adds to the request (or null)
  std::vector<CheckDefinition> (*checks)();        ///< its checks, in report order
};

/// Every area, in report order: surface, data, pca, quantizer, loss, init, metrics, trainer.
const std::vector<Area>& areas();
/// Every check, in report order, with its area's name as the id's first part (built once).
const std::vector<CheckDefinition>& check_definitions();
/// Whether a check has this id.
bool is_check_id(const std::string& id);
/// The area of a check id: its first part ("trainer" of "trainer.evaluate.recon_loss").
std::string area_of(const std::string& id);

// ---------------------------------------------------------------- the areas (one file each)
std::vector<CheckDefinition> surface_checks();
std::vector<CheckDefinition> data_checks();
std::vector<GoldenRecord> data_cases();
std::vector<CheckDefinition> pca_checks();
std::vector<CheckDefinition> quantizer_checks();
std::vector<GoldenRecord> quantizer_cases();
std::vector<CheckDefinition> loss_checks();
std::vector<GoldenRecord> loss_cases();
std::vector<CheckDefinition> init_checks();
std::vector<GoldenRecord> init_cases();
std::vector<CheckDefinition> metrics_checks();
std::vector<GoldenRecord> metrics_cases();
std::vector<CheckDefinition> trainer_checks();
std::vector<GoldenRecord> trainer_cases();
/// The surface case every request carries: all of surface_parts().
GoldenRecord surface_case();
inline constexpr const char* kSurfaceCaseName = "surface";

// ---------------------------------------------------------------- shared helpers
using Attribute = std::pair<std::string, GoldenValue>;
GoldenRecord make_record(std::string name, std::vector<Attribute> attributes,
                         std::vector<std::pair<std::string, at::Tensor>> datasets);

std::string status_of(const GoldenRecord& response);
std::string text_attribute(const GoldenRecord& r, const std::string& name, const std::string& otherwise = "");
int64_t int_attribute(const GoldenRecord& r, const std::string& name, int64_t otherwise);
double real_attribute(const GoldenRecord& r, const std::string& name, double otherwise);
bool has_attribute(const GoldenRecord& r, const std::string& name);
/// The response's dataset of that name, or null.
const at::Tensor* output(const GoldenRecord& response, const std::string& name);
/// Whether the driver answered the case "ok"; otherwise `tally` learns why not: a part the case
/// needs that is optional and absent makes it not applicable, one that is required a skip (its
/// surface.<part> check fails, once), anything else a failure.
bool usable(const Judged& j, Tally& tally);
/// Whether the case asks the implementation to be called with its defaults (attribute call = "defaults").
bool is_defaults_call(const Judged& j);

at::Tensor f64(const at::Tensor& t);
std::string shape_of(const at::Tensor* t);
/// `theirs` against `ours`, elementwise |theirs − ours| <= atol + rtol·|ours| with the same shape
/// (a NaN is never within): nothing when every element is within, else the numbers (the shapes when
/// they differ; else the element beyond its tolerance by the most, a NaN first). `quantity` and
/// `ours_is` name the two sides. `max_difference`, when given, receives the largest |theirs − ours|
/// either way (what a passing case reports; inf on a shape mismatch, NaN with a NaN).
std::optional<Discrepancy> compare(const at::Tensor& theirs, const at::Tensor& ours, double atol, double rtol,
                                   const std::string& quantity, const std::string& ours_is,
                                   double* max_difference = nullptr);
/// The index of element `flat` of a row-major tensor of `sizes`.
std::vector<int64_t> element_of(int64_t flat, at::IntArrayRef sizes);
/// The numbers of a wrongly shaped output: both shapes (nothing when `theirs` is absent).
std::optional<Discrepancy> shapes(const at::Tensor* theirs, std::vector<int64_t> ours_shape, const std::string& quantity,
                                  const std::string& ours_is);
/// The numbers of one value found wrong by a rule of its own (a NaN where a value was logged, a
/// one-sided bound): theirs, ours, |theirs − ours| and the tolerance, at `element`.
Discrepancy one_number(const std::string& quantity, const std::string& ours_is, std::vector<int64_t> element, double theirs,
                       double ours, double tolerance);
/// One number against ours: |theirs − ours| <= tolerance (a NaN never is).
std::optional<Discrepancy> compare(double theirs, double ours, double tolerance, const std::string& quantity,
                                   const std::string& ours_is);
/// "" when `got` exists and is close to `expected` (compare()); else "NAME SHAPE differs from
/// EXPECTATION SHAPE by up to E (≤ atol + rtol·|expected|)" with its numbers, or "no NAME".
/// `max_difference` as compare()'s (untouched when the output is absent).
Failure differs(const GoldenRecord& response, const std::string& name, const at::Tensor& expected,
                const std::string& expectation, double atol, double rtol, double* max_difference = nullptr);
/// Every stored expectation of `j` (golden: expected_<output>) against the response's output of
/// that name: "" or the first that differs, and by how much.
Failure stored_expectations_differ(const Judged& j, double atol, double rtol);
/// "" when indices (B) are integers in [0, n); else why not (never clamped), with the offending
/// index's numbers.
Failure bad_indices(const at::Tensor* indices, int64_t B, int64_t n);
/// Whether the model of a train, evaluate or checkpoint request has a learned `role` ("encoder",
/// "decoder"): the attribute says learned or learned:frozen, or is absent (learned by default).
bool learned_module(const GoldenRecord& request, const char* role);
/// Short names of the quantizer classes in check ids: vq, rotation, projection.
const char* short_class(const std::string& cls);
/// The value of a one-element output, or NaN when it is absent or not one element.
double scalar_output(const GoldenRecord& response, const std::string& name);
/// The attribute error_<output> a driver sets when producing `output` raised, as " (it raised: ...)", or "".
std::string raised(const GoldenRecord& response, const std::string& output);

}  // namespace vqvae::conform
