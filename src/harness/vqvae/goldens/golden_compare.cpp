// The golden-file mechanism (golden_file.h), comparing and regenerating: a file against the
// records the code computes now (attributes, every dataset within its tolerance, cases missing or
// extra), the report `vqvae goldens check` prints, and `vqvae goldens regen` (show what changed,
// refuse under CI, write only when needed). golden_file.cpp writes and reads the files.
#include <vqvae/goldens/golden_file.h>
#include <vqvae/goldens/detail/golden_file.h>

#include <vqvae/core/format.h>
#include <vqvae/io/hdf5_file.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

namespace vqvae {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + ")";
}

std::string value_text(const GoldenValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const auto* r = std::get_if<double>(&value)) return format_significant(*r, 3);
  return std::get<std::string>(value);
}

}  // namespace

bool CaseDiff::ok() const {
  return attribute_problems.empty() &&
         std::all_of(datasets.begin(), datasets.end(), [](const DatasetDiff& d) { return d.ok(); });
}

bool GoldenReport::ok() const {
  return missing.empty() && std::all_of(cases.begin(), cases.end(), [](const CaseDiff& c) { return c.ok(); });
}

int64_t GoldenReport::datasets_compared() const {
  int64_t count = 0;
  for (const auto& c : cases) count += static_cast<int64_t>(c.datasets.size());
  return count;
}

int64_t GoldenReport::datasets_differing() const {
  int64_t count = 0;
  for (const auto& c : cases)
    for (const auto& d : c.datasets) count += d.ok() ? 0 : 1;
  return count;
}

double GoldenReport::max_abs_error() const {
  double worst = 0;
  for (const auto& c : cases)
    for (const auto& d : c.datasets) worst = std::max(worst, d.max_abs_error);
  return worst;
}

DatasetDiff compare_tensors(const std::string& name, const at::Tensor& code, const at::Tensor& file,
                            const GoldenTolerance& tolerance) {
  DatasetDiff diff;
  diff.name = name;
  diff.code_shape = code.sizes().vec();
  diff.file_shape = file.sizes().vec();
  if (diff.code_shape != diff.file_shape) {
    diff.status = DatasetStatus::shape_mismatch;
    return diff;
  }
  const at::Tensor a = code.detach().cpu().to(at::kDouble).reshape(-1);
  const at::Tensor e = file.detach().cpu().to(at::kDouble).reshape(-1);
  diff.numel = a.numel();
  if (diff.numel == 0) return diff;
  const double inf = std::numeric_limits<double>::infinity();
  const at::Tensor nan_mismatch = a.isnan() != e.isnan();
  const at::Tensor both_nan = a.isnan() & e.isnan();
  // |a − e|: 0 where both are NaN (or both the same infinity), inf where only one is NaN.
  at::Tensor abs_error = at::where(a == e, at::zeros_like(a), (a - e).abs());
  abs_error = abs_error.masked_fill(both_nan, 0.0).masked_fill(nan_mismatch, inf);
  const at::Tensor bad = (abs_error > tolerance.atol + tolerance.rtol * e.abs()) | abs_error.isinf();
  at::Tensor rel_error = at::where(abs_error == 0, at::zeros_like(a), abs_error / e.abs());
  rel_error = at::nan_to_num(rel_error, inf, inf, inf);
  diff.differing = bad.sum().item<int64_t>();
  diff.max_abs_error = abs_error.max().item<double>();
  diff.max_rel_error = rel_error.max().item<double>();
  diff.status = diff.differing == 0 ? DatasetStatus::ok : DatasetStatus::differs;
  const at::Tensor where = bad.nonzero().reshape(-1);
  for (int64_t i = 0; i < std::min<int64_t>(5, where.numel()); ++i) {
    int64_t flat = where[i].item<int64_t>();
    std::vector<int64_t> index(diff.code_shape.size());
    for (int64_t dim = static_cast<int64_t>(index.size()) - 1; dim >= 0; --dim) {
      index[dim] = flat % diff.code_shape[dim];
      flat /= diff.code_shape[dim];
    }
    diff.first_differing.push_back(index);
  }
  return diff;
}

GoldenReport compare_golden_records(const std::string& path, const std::vector<GoldenRecord>& expected,
                                    const GoldenTolerance& tolerance) {
  const auto file = golden::open_golden(path);
  GoldenReport report;
  report.path = path;
  report.tolerance = tolerance;
  std::vector<std::string> names;
  try {
    names = file->list("/");
  } catch (const Hdf5Error&) {
    throw Hdf5Error(path + ": cannot list its groups (golden file corrupted? `vqvae goldens regen` rewrites it)");
  }
  std::set<std::string> expected_names;
  for (const GoldenRecord& c : expected) {
    expected_names.insert(c.name);
    if (!golden::contains(names, c.name)) {
      report.missing.push_back(c.name);
      continue;
    }
    CaseDiff diff;
    diff.name = c.name;
    for (const auto& [attribute, code] : c.attributes) {
      try {
        GoldenValue stored;
        if (std::holds_alternative<int64_t>(code)) stored = file->read_int_attribute(c.name, attribute);
        else if (std::holds_alternative<double>(code)) stored = file->read_double_attribute(c.name, attribute);
        else stored = file->read_string_attribute(c.name, attribute);
        if (stored != code)
          diff.attribute_problems.push_back(attribute + ": file " + value_text(stored) + ", code " + value_text(code));
      } catch (const Hdf5Error&) {
        diff.attribute_problems.push_back(attribute + ": absent or unreadable");
      }
    }
    std::vector<std::string> in_group;
    try {
      in_group = file->list(c.name);
    } catch (const Hdf5Error&) {
      diff.attribute_problems.push_back("not a readable group");
    }
    for (const auto& [dataset, tensor] : c.datasets) {
      DatasetDiff problem;
      problem.name = dataset;
      problem.code_shape = tensor.sizes().vec();
      if (!golden::contains(in_group, dataset)) {
        problem.status = DatasetStatus::absent;
        problem.problem = "absent from the file";
        diff.datasets.push_back(problem);
        continue;
      }
      at::Tensor golden;
      try {
        golden = file->read_tensor(c.name + "/" + dataset);
      } catch (const Hdf5Error&) {
        problem.status = DatasetStatus::unreadable;
        problem.problem = "unreadable (corrupted file?)";
        diff.datasets.push_back(problem);
        continue;
      }
      diff.datasets.push_back(compare_tensors(dataset, tensor, golden, tolerance));
    }
    for (const auto& stored : in_group) {
      const bool produced = std::any_of(c.datasets.begin(), c.datasets.end(),
                                        [&](const auto& entry) { return entry.first == stored; });
      if (produced) continue;
      DatasetDiff extra;
      extra.name = stored;
      extra.status = DatasetStatus::extra;
      extra.problem = "in the file, not produced by the code";
      diff.datasets.push_back(extra);
    }
    report.cases.push_back(diff);
  }
  for (const auto& name : names)
    if (!expected_names.count(name)) report.stale.push_back(name);
  return report;
}

std::string format_golden_report(const GoldenReport& report) {
  using Row = std::array<std::string, 8>;
  std::vector<Row> rows{{"case", "dataset", "status", "shape", "differing", "max abs err", "max rel err",
                         "first differing indices / problem"}};
  for (const auto& c : report.cases) {
    if (!c.attribute_problems.empty()) {
      std::string problems;
      for (const auto& p : c.attribute_problems) problems += (problems.empty() ? "" : "; ") + p;
      rows.push_back({c.name, "(attributes)", "ATTR", "", "", "", "", problems});
    }
    for (const auto& d : c.datasets) {
      const std::string code_shape = d.code_shape.empty() ? "" : shape_text(d.code_shape);
      switch (d.status) {
        case DatasetStatus::absent:
          rows.push_back({c.name, d.name, "ABSENT", code_shape, "-", "-", "-", d.problem});
          break;
        case DatasetStatus::unreadable:
          rows.push_back({c.name, d.name, "ERROR", code_shape, "-", "-", "-", d.problem});
          break;
        case DatasetStatus::extra:
          rows.push_back({c.name, d.name, "EXTRA", "", "-", "-", "-", d.problem});
          break;
        case DatasetStatus::shape_mismatch:
          rows.push_back({c.name, d.name, "SHAPE", shape_text(d.file_shape), "-", "-", "-",
                          "shape in the file " + shape_text(d.file_shape) + ", code produces " +
                              shape_text(d.code_shape)});
          break;
        case DatasetStatus::ok:
        case DatasetStatus::differs: {
          std::string indices;
          for (const auto& index : d.first_differing) indices += (indices.empty() ? "" : " ") + shape_text(index);
          if (d.differing > static_cast<int64_t>(d.first_differing.size())) indices += " ...";
          rows.push_back({c.name, d.name, d.ok() ? "ok" : "DIFF", shape_text(d.file_shape),
                          std::to_string(d.differing) + "/" + std::to_string(d.numel),
                          format_significant(d.max_abs_error, 3), format_significant(d.max_rel_error, 3), indices});
          break;
        }
      }
    }
  }
  std::array<size_t, 8> width{};
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::ostringstream out;
  out << "golden file " << report.path << " (tolerance: |code - file| <= "
      << format_significant(report.tolerance.atol, 3) << " + " << format_significant(report.tolerance.rtol, 3)
      << " * |file|)\n";
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i)
      line += row[i] + (i + 1 < row.size() ? std::string(width[i] - row[i].size() + 2, ' ') : "");
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  }
  out << "stale (in the file, read by no test; regen removes them): " << golden::joined_or_none(report.stale) << "\n";
  out << "missing (expected by the code, absent from the file): " << golden::joined_or_none(report.missing) << "\n";
  out << "result: " << report.cases.size() << " cases, " << report.datasets_compared() << " datasets compared; ";
  if (report.ok()) {
    out << "all within tolerance" << (report.stale.empty() ? "" : " (stale cases: a warning)");
  } else {
    const int64_t differing = report.datasets_differing();
    out << differing << (differing == 1 ? " dataset differs" : " datasets differ");
    const auto bad_attributes = std::count_if(report.cases.begin(), report.cases.end(),
                                              [](const CaseDiff& c) { return !c.attribute_problems.empty(); });
    if (bad_attributes) out << ", " << bad_attributes << " cases with other attributes";
    if (!report.missing.empty()) out << ", " << report.missing.size() << " cases missing";
  }
  out << "\n";
  return out.str();
}

RegenResult regen_golden_records(const std::string& path, const GoldenSchema& schema,
                                 const std::vector<GoldenRecord>& expected, const RegenOptions& options,
                                 std::ostream& log) {
  RegenResult result;
  if (!std::filesystem::exists(path)) {
    log << path << ": no golden file yet: all " << expected.size() << " cases are new\n";
    result.had_changes = true;
  } else {
    try {
      const GoldenReport report = compare_golden_records(path, expected, options.tolerance);
      log << format_golden_report(report);
      result.had_changes = !report.up_to_date();
    } catch (const Hdf5Error& e) {
      log << e.what() << "\nthe old file cannot be read: every case will be rewritten\n";
      result.had_changes = true;
    }
  }
  if (options.ci && !options.force) {
    result.outcome = RegenOutcome::refused;
    return result;
  }
  if (!result.had_changes && !options.force) {
    log << "nothing changed: " << path << " left untouched\n";
    result.outcome = RegenOutcome::unchanged;
    return result;
  }
  if (!result.had_changes) log << "nothing changed; --force: rewriting " << path << " anyway\n";
  write_golden_records(path, schema, expected, options.command);
  log << "wrote " << path << " (" << expected.size() << " cases)\n";
  result.outcome = RegenOutcome::written;
  return result;
}

}  // namespace vqvae