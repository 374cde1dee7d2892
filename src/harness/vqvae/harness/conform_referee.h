// The referee of `vqvae conform`, inside the harness: the judged cases, the tally a check keeps,
// and the registry of areas. Each area (data, pca, quantizer, loss, init, metrics, trainer) is one
// file, conform_checks_<area>.cpp, with the built-in cases it adds and its checks; adding a check
// is one function there, called from its area's judge_<area>, plus its case.
// docs/conform_protocol.md lists the case kinds and what every check compares.
#pragma once

#include <vqvae/harness/check_report.h>
#include <vqvae/harness/conform_protocol.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
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

/// One check over several cases: each case passes, fails (with why) or is skipped (with why).
/// The check fails when one case failed; is skipped when none passed and none failed.
struct Tally {
  std::vector<std::string> failures, skips;
  int passed = 0;
  std::string measured;  ///< a number or two for the detail of a pass
  void fail(const std::string& why) { failures.push_back(why); }
  void skip(const std::string& why) { skips.push_back(why); }
  void pass() { ++passed; }
  /// The verdict: the first failure (and how many more), the first skip, or `what` with the count of
  /// cases and `measured`.
  Check result(std::string name, std::optional<int> fix, const std::string& what) const;
};

/// The judged cases, selected by kind and class.
class Cases {
 public:
  explicit Cases(std::vector<Judged> cases) : cases_(std::move(cases)) {}
  std::vector<Judged> of(ConformCaseKind kind, const char* cls = nullptr) const;
  /// The cases of `kind` (and class) the driver answered "ok"; each other one fails `tally` with
  /// what the driver reported (a missing class or function fails too: checks that treat it as a
  /// skip select with of() and say so).
  std::vector<Judged> answered(Tally& tally, ConformCaseKind kind, const char* cls = nullptr) const;

 private:
  std::vector<Judged> cases_;
};

/// What the areas' checks produce.
struct Verdicts {
  std::vector<Check> checks;
  std::map<std::string, std::string> estimators;  ///< quantizer class -> the estimator it computes
};

/// One area of the referee.
struct Area {
  const char* name;
  std::vector<ConformCaseKind> kinds;              ///< the case kinds its checks read
  std::vector<GoldenRecord> (*builtin_cases)();    ///< the cases it adds to the request (or null)
  void (*judge)(const Cases&, Verdicts&);          ///< appends its checks
};

/// Every area, in report order.
const std::vector<Area>& areas();

// ---------------------------------------------------------------- the areas (one file each)
void judge_data(const Cases& cases, Verdicts& out);
std::vector<GoldenRecord> data_cases();
void judge_pca(const Cases& cases, Verdicts& out);
void judge_quantizer(const Cases& cases, Verdicts& out);
std::vector<GoldenRecord> quantizer_cases();
void judge_loss(const Cases& cases, Verdicts& out);
std::vector<GoldenRecord> loss_cases();
void judge_init(const Cases& cases, Verdicts& out);
std::vector<GoldenRecord> init_cases();
void judge_metrics(const Cases& cases, Verdicts& out);
std::vector<GoldenRecord> metrics_cases();
void judge_trainer(const Cases& cases, Verdicts& out);
std::vector<GoldenRecord> trainer_cases();

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
/// Why a case gave nothing to judge ("case X: driver reported error (...)"), or "" when it is ok.
std::string unusable(const Judged& j);
/// Whether the case asks the implementation to be called with its defaults (attribute call = "defaults").
bool is_defaults_call(const Judged& j);

at::Tensor f64(const at::Tensor& t);
double max_abs(const at::Tensor& t);
std::string shape_of(const at::Tensor* t);
/// |a − b| <= atol + rtol·|b| everywhere, same shape; the max |a − b| into `error` (inf on a shape
/// mismatch).
bool close(const at::Tensor& a, const at::Tensor& b, double atol, double rtol, double& error);
/// "" when `got` exists and is close to `expected`; else "NAME SHAPE differs from EXPECTATION SHAPE
/// by up to E (≤ atol + rtol·|expected|)" or "no NAME".
std::string differs(const GoldenRecord& response, const std::string& name, const at::Tensor& expected,
                    const std::string& expectation, double atol, double rtol);
/// Every stored expectation of `j` (golden: expected_<output>) against the response's output of
/// that name: "" or the first that differs, and by how much.
std::string stored_expectations_differ(const Judged& j, double atol, double rtol);
/// "" when indices (B) are integers in [0, n); else why not (never clamped).
std::string bad_indices(const at::Tensor* indices, int64_t B, int64_t n);
/// This library's response to the request (execute_with_library), for checks that compare with
/// "ours" under the same seed or from the same state.
GoldenRecord ours(const GoldenRecord& request);

}  // namespace vqvae::conform
