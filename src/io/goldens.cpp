#include "io/goldens.h"

#include "core/checks.h"
#include "core/runtime.h"
#include "data/gaussian_dataset.h"
#include "decoders/linear.h"
#include "encoders/linear.h"
#include "io/hdf5_file.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>

namespace vqvae {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "(";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ")";
  return out.str();
}

std::string number_text(double value) {
  if (std::isinf(value)) return "inf";
  if (std::isnan(value)) return "nan";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", value);
  return buffer;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// Opens a golden file, adding to the reader's one-line error what to do about it.
std::unique_ptr<Hdf5Reader> open_golden(const std::string& path) {
  const bool exists = std::filesystem::exists(path);
  try {
    return std::make_unique<Hdf5Reader>(path);
  } catch (const Hdf5Error& e) {
    throw Hdf5Error(std::string(e.what()) +
                    (exists ? " (golden file truncated or corrupted? `vqvae goldens regen` rewrites it)"
                            : " (no golden file: `vqvae goldens regen` writes it)"));
  }
}

}  // namespace

std::string golden_file_path(const std::string& fixtures_dir) {
  return (std::filesystem::path(fixtures_dir) / kGoldenFileName).string();
}

const char* to_string(GoldenEncoder encoder) {
  return encoder == GoldenEncoder::pca ? "pca" : "learned";
}

std::vector<GoldenCaseSpec> golden_case_specs() {
  using E = GoldenEncoder;
  //       name              d   k  n      sigma seed  B  encoder
  return {{"default_d64_k8", 64, 8, 10000, 0.1, 42, 16, E::pca},
          {"k1_d16", 16, 1, 500, 0.3, 7, 8, E::pca},
          {"k_eq_d_d8", 8, 8, 500, 0.1, 7, 8, E::pca},
          {"batch1_d16_k4", 16, 4, 500, 0.1, 7, 1, E::pca},
          {"d1_k1", 1, 1, 500, 0.1, 7, 8, E::pca},
          {"learned_d16_k4", 16, 4, 500, 0.1, 7, 8, E::learned}};
}

std::vector<std::pair<std::string, at::Tensor>> GoldenCase::datasets() const {
  std::vector<std::pair<std::string, at::Tensor>> out{
      {"x", x}, {"U_k", U_k}, {"z", z}, {"x_recon", x_recon}};
  if (encoder_weight.defined()) out.emplace_back("encoder_weight", encoder_weight);
  if (decoder_weight.defined()) out.emplace_back("decoder_weight", decoder_weight);
  return out;
}

GoldenCase compute_golden_case(const GoldenCaseSpec& spec) {
  const char* where = "compute_golden_case";
  if (spec.name.empty() || spec.name.find('/') != std::string::npos)
    throw_invalid_argument(where, "name must be non-empty without '/', got '" + spec.name + "'");
  check_at_least(spec.B, 1, where, "B");
  if (spec.B > spec.n)
    throw_invalid_argument(where, "B must be <= n = " + std::to_string(spec.n) + ", got " +
                                      std::to_string(spec.B));
  GaussianDataset data(GaussianDatasetOptions()
                           .d(spec.d)
                           .k(spec.k)
                           .n_samples(spec.n)
                           .sigma_noise(spec.sigma_noise)
                           .seed(spec.seed));
  GoldenCase out;
  out.spec = spec;
  out.x = data.X.slice(0, 0, spec.B).clone();
  out.U_k = data.U_k.clone();
  if (spec.encoder == GoldenEncoder::pca) {
    PCAEncoder encoder(data.U_k);
    PCADecoder decoder(data.U_k);
    out.z = encoder->forward(out.x).detach();
    out.x_recon = decoder->forward(out.z).detach();
  } else {
    LearnedLinearEncoder encoder(LearnedLinearEncoderOptions(spec.d, spec.k).seed(spec.seed + 1));
    LearnedLinearDecoder decoder(LearnedLinearDecoderOptions(spec.k, spec.d).seed(spec.seed + 2));
    out.z = encoder->forward(out.x).detach();
    out.x_recon = decoder->forward(out.z).detach();
    out.encoder_weight = encoder->weight.detach().clone();
    out.decoder_weight = decoder->weight.detach().clone();
  }
  return out;
}

void write_golden_cases(const std::string& path, const std::vector<GoldenCase>& cases,
                        const std::string& command) {
  Hdf5Writer file(path);
  for (const auto& c : cases) {
    const std::string& group = c.spec.name;
    file.create_group(group);
    for (const auto& [name, tensor] : c.datasets()) file.write_tensor(group + "/" + name, tensor);
    file.write_attribute(group, "d", c.spec.d);
    file.write_attribute(group, "k", c.spec.k);
    file.write_attribute(group, "n", c.spec.n);
    file.write_attribute(group, "sigma_noise", c.spec.sigma_noise);
    file.write_attribute(group, "seed", static_cast<int64_t>(c.spec.seed));
    file.write_attribute(group, "encoder", std::string(to_string(c.spec.encoder)));
    if (c.spec.encoder == GoldenEncoder::learned) {
      file.write_attribute(group, "encoder_seed", static_cast<int64_t>(c.spec.seed + 1));
      file.write_attribute(group, "decoder_seed", static_cast<int64_t>(c.spec.seed + 2));
    }
  }
  file.write_attribute("/", "library_version", library_version());
  file.write_attribute("/", "torch_version", torch_version());
  file.write_attribute("/", "command", command);
  file.commit();
}

void write_goldens(const std::string& path, const std::vector<GoldenCaseSpec>& specs,
                   const std::string& command) {
  std::vector<GoldenCase> cases;
  for (const auto& spec : specs) cases.push_back(compute_golden_case(spec));
  write_golden_cases(path, cases, command);
}

std::vector<std::string> list_golden_cases(const std::string& path) {
  return open_golden(path)->list("/");
}

GoldenCase read_golden_case(const std::string& path, const std::string& name) {
  const auto file = open_golden(path);
  const std::string at_group = path + ": group '" + name + "'";
  if (!file->has(name))
    throw Hdf5Error(at_group + " is missing (cases in the file: " + joined(file->list("/")) + ")");
  GoldenCase out;
  GoldenCaseSpec& spec = out.spec;
  spec.name = name;
  try {
    spec.d = file->read_int_attribute(name, "d");
    spec.k = file->read_int_attribute(name, "k");
    spec.n = file->read_int_attribute(name, "n");
    spec.sigma_noise = file->read_double_attribute(name, "sigma_noise");
    spec.seed = static_cast<uint64_t>(file->read_int_attribute(name, "seed"));
    const std::string encoder = file->read_string_attribute(name, "encoder");
    if (encoder != "pca" && encoder != "learned")
      throw Hdf5Error(at_group + ", attribute 'encoder': must be 'pca' or 'learned', got '" +
                      encoder + "'");
    spec.encoder = encoder == "pca" ? GoldenEncoder::pca : GoldenEncoder::learned;
  } catch (const Hdf5Error& e) {
    const std::string message = e.what();
    if (message.rfind(at_group, 0) == 0) throw;
    throw Hdf5Error(at_group + ": " + message.substr(path.size() + 2));
  }
  // -1: any size (B is the first dimension of x).
  const auto read = [&](const std::string& dataset, std::vector<int64_t> expected,
                        const char* symbols) {
    const std::string where = at_group + ", dataset '" + dataset + "'";
    if (!file->has(name + "/" + dataset)) throw Hdf5Error(where + ": missing");
    at::Tensor t;
    try {
      t = file->read_tensor(name + "/" + dataset);
    } catch (const Hdf5Error&) {
      throw Hdf5Error(where + ": unreadable (corrupted file?)");
    }
    bool fits = t.dim() == static_cast<int64_t>(expected.size());
    for (size_t i = 0; fits && i < expected.size(); ++i)
      fits = expected[i] < 0 || expected[i] == t.size(static_cast<int64_t>(i));
    if (!fits) {
      std::ostringstream want;
      want << "(";
      for (size_t i = 0; i < expected.size(); ++i)
        want << (i ? ", " : "") << (expected[i] < 0 ? std::string("*") : std::to_string(expected[i]));
      want << ")";
      throw Hdf5Error(where + ": shape " + shape_string(t) + ", expected " + symbols + " = " +
                      want.str());
    }
    if (!t.is_floating_point())
      throw Hdf5Error(where + ": dtype " + std::string(c10::toString(t.scalar_type())) +
                      ", expected float32");
    return t;
  };
  const int64_t d = spec.d, k = spec.k;
  out.x = read("x", {-1, d}, "(B, d)");
  spec.B = out.x.size(0);
  const int64_t B = spec.B;
  out.U_k = read("U_k", {d, k}, "(d, k)");
  out.z = read("z", {B, k}, "(B, k)");
  out.x_recon = read("x_recon", {B, d}, "(B, d)");
  if (spec.encoder == GoldenEncoder::learned) {
    out.encoder_weight = read("encoder_weight", {k, d}, "(k, d)");
    out.decoder_weight = read("decoder_weight", {d, k}, "(d, k)");
  }
  return out;
}

bool CaseDiff::ok() const {
  return attribute_problems.empty() &&
         std::all_of(datasets.begin(), datasets.end(), [](const DatasetDiff& d) { return d.ok(); });
}

bool GoldenReport::ok() const {
  return missing.empty() &&
         std::all_of(cases.begin(), cases.end(), [](const CaseDiff& c) { return c.ok(); });
}

DatasetDiff compare_tensors(const std::string& name, const at::Tensor& code,
                            const at::Tensor& file, const GoldenTolerance& tolerance) {
  DatasetDiff diff;
  diff.name = name;
  diff.code_shape = code.sizes().vec();
  diff.file_shape = file.sizes().vec();
  if (diff.code_shape != diff.file_shape) return diff;
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
  const at::Tensor bad =
      (abs_error > tolerance.atol + tolerance.rtol * e.abs()) | abs_error.isinf();
  at::Tensor rel_error = at::where(abs_error == 0, at::zeros_like(a), abs_error / e.abs());
  rel_error = at::nan_to_num(rel_error, inf, inf, inf);
  diff.differing = bad.sum().item<int64_t>();
  diff.max_abs_error = abs_error.max().item<double>();
  diff.max_rel_error = rel_error.max().item<double>();
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

GoldenReport compare_goldens(const std::string& path, const std::vector<GoldenCase>& expected,
                             const GoldenTolerance& tolerance) {
  const auto file = open_golden(path);
  GoldenReport report;
  report.path = path;
  report.tolerance = tolerance;
  std::vector<std::string> names;
  try {
    names = file->list("/");
  } catch (const Hdf5Error&) {
    throw Hdf5Error(path + ": cannot list its groups (golden file corrupted? `vqvae goldens regen` "
                           "rewrites it)");
  }
  std::set<std::string> expected_names;
  for (const auto& c : expected) {
    const std::string& name = c.spec.name;
    expected_names.insert(name);
    if (!contains(names, name)) {
      report.missing.push_back(name);
      continue;
    }
    CaseDiff diff;
    diff.name = name;
    const auto check_int = [&](const char* attribute, int64_t code) {
      try {
        const int64_t stored = file->read_int_attribute(name, attribute);
        if (stored != code)
          diff.attribute_problems.push_back(std::string(attribute) + ": file " +
                                            std::to_string(stored) + ", code " + std::to_string(code));
      } catch (const Hdf5Error&) {
        diff.attribute_problems.push_back(std::string(attribute) + ": absent or unreadable");
      }
    };
    check_int("d", c.spec.d);
    check_int("k", c.spec.k);
    check_int("n", c.spec.n);
    check_int("seed", static_cast<int64_t>(c.spec.seed));
    try {
      const double stored = file->read_double_attribute(name, "sigma_noise");
      if (stored != c.spec.sigma_noise)
        diff.attribute_problems.push_back("sigma_noise: file " + number_text(stored) + ", code " +
                                          number_text(c.spec.sigma_noise));
    } catch (const Hdf5Error&) {
      diff.attribute_problems.push_back("sigma_noise: absent or unreadable");
    }
    try {
      const std::string stored = file->read_string_attribute(name, "encoder");
      if (stored != to_string(c.spec.encoder))
        diff.attribute_problems.push_back("encoder: file " + stored + ", code " +
                                          to_string(c.spec.encoder));
    } catch (const Hdf5Error&) {
      diff.attribute_problems.push_back("encoder: absent or unreadable");
    }

    std::vector<std::string> in_group;
    try {
      in_group = file->list(name);
    } catch (const Hdf5Error&) {
      diff.attribute_problems.push_back("not a readable group");
    }
    std::vector<std::string> produced;
    for (const auto& [dataset, tensor] : c.datasets()) {
      produced.push_back(dataset);
      if (!contains(in_group, dataset)) {
        DatasetDiff absent;
        absent.name = dataset;
        absent.code_shape = tensor.sizes().vec();
        absent.problem = "absent from the file";
        diff.datasets.push_back(absent);
        continue;
      }
      at::Tensor golden;
      try {
        golden = file->read_tensor(name + "/" + dataset);
      } catch (const Hdf5Error&) {
        DatasetDiff unreadable;
        unreadable.name = dataset;
        unreadable.code_shape = tensor.sizes().vec();
        unreadable.problem = "unreadable (corrupted file?)";
        diff.datasets.push_back(unreadable);
        continue;
      }
      diff.datasets.push_back(compare_tensors(dataset, tensor, golden, tolerance));
    }
    for (const auto& stored : in_group) {
      if (contains(produced, stored)) continue;
      DatasetDiff extra;
      extra.name = stored;
      extra.problem = "in the file, not produced by the code";
      diff.datasets.push_back(extra);
    }
    report.cases.push_back(diff);
  }
  for (const auto& name : names)
    if (!expected_names.count(name)) report.stale.push_back(name);
  return report;
}

GoldenReport compare_goldens(const std::string& path) {
  std::vector<GoldenCase> expected;
  for (const auto& spec : golden_case_specs()) expected.push_back(compute_golden_case(spec));
  return compare_goldens(path, expected);
}

std::string format_golden_report(const GoldenReport& report) {
  using Row = std::array<std::string, 8>;
  std::vector<Row> rows{{"case", "dataset", "status", "shape", "differing", "max abs err",
                         "max rel err", "first differing indices / problem"}};
  int64_t compared = 0, differing_datasets = 0;
  for (const auto& c : report.cases) {
    if (!c.attribute_problems.empty()) {
      std::string problems;
      for (const auto& p : c.attribute_problems) problems += (problems.empty() ? "" : "; ") + p;
      rows.push_back({c.name, "(attributes)", "ATTR", "", "", "", "", problems});
    }
    for (const auto& d : c.datasets) {
      ++compared;
      if (!d.ok()) ++differing_datasets;
      if (!d.problem.empty()) {
        const bool extra = d.code_shape.empty() && d.problem.find("not produced") != std::string::npos;
        rows.push_back({c.name, d.name, extra ? "EXTRA" : (d.problem.rfind("absent", 0) == 0 ? "ABSENT" : "ERROR"),
                        d.code_shape.empty() ? "" : shape_text(d.code_shape), "-", "-", "-",
                        d.problem});
      } else if (d.shape_mismatch()) {
        rows.push_back({c.name, d.name, "SHAPE", shape_text(d.file_shape), "-", "-", "-",
                        "shape in the file " + shape_text(d.file_shape) + ", code produces " +
                            shape_text(d.code_shape)});
      } else {
        std::string indices;
        for (const auto& index : d.first_differing) indices += (indices.empty() ? "" : " ") + shape_text(index);
        if (d.differing > static_cast<int64_t>(d.first_differing.size())) indices += " ...";
        rows.push_back({c.name, d.name, d.differing == 0 ? "ok" : "DIFF", shape_text(d.file_shape),
                        std::to_string(d.differing) + "/" + std::to_string(d.numel),
                        number_text(d.max_abs_error), number_text(d.max_rel_error), indices});
      }
    }
  }
  std::array<size_t, 8> width{};
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::ostringstream out;
  out << "golden file " << report.path << " (tolerance: |code - file| <= "
      << number_text(report.tolerance.atol) << " + " << number_text(report.tolerance.rtol)
      << " * |file|)\n";
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i)
      line += row[i] + (i + 1 < row.size() ? std::string(width[i] - row[i].size() + 2, ' ') : "");
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  }
  out << "stale (in the file, read by no test; regen removes them): " << joined(report.stale) << "\n";
  out << "missing (expected by the code, absent from the file): " << joined(report.missing) << "\n";
  out << "result: " << report.cases.size() << " cases, " << compared << " datasets compared; ";
  if (report.ok()) {
    out << "all within tolerance" << (report.stale.empty() ? "" : " (stale cases: a warning)");
  } else {
    out << differing_datasets << (differing_datasets == 1 ? " dataset differs" : " datasets differ");
    const size_t bad_attributes = std::count_if(report.cases.begin(), report.cases.end(),
                                                [](const CaseDiff& c) { return !c.attribute_problems.empty(); });
    if (bad_attributes) out << ", " << bad_attributes << " cases with other attributes";
    if (!report.missing.empty()) out << ", " << report.missing.size() << " cases missing";
  }
  out << "\n";
  return out.str();
}

RegenResult regen_goldens(const std::string& path, const RegenOptions& options, std::ostream& log) {
  std::vector<GoldenCase> cases;
  for (const auto& spec : options.specs) cases.push_back(compute_golden_case(spec));
  RegenResult result;
  if (!std::filesystem::exists(path)) {
    log << path << ": no golden file yet: all " << cases.size() << " cases are new\n";
    result.had_changes = true;
  } else {
    try {
      const GoldenReport report = compare_goldens(path, cases, options.tolerance);
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
  write_golden_cases(path, cases, options.command);
  log << "wrote " << path << " (" << cases.size() << " cases)\n";
  result.outcome = RegenOutcome::written;
  return result;
}

}  // namespace vqvae
