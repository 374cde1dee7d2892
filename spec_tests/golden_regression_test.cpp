// Golden regression: fixtures/pca_goldens.h5 against what the library computes now, and
// the behaviour behind `vqvae goldens check|regen` (src/harness/vqvae/goldens/golden_file.h, pca_suite.h): diff reports with
// counts, errors and indices; errors that name file, group and dataset; byte-identical, atomic
// regeneration that leaves an unchanged file untouched and never writes under CI unless forced.
// Expected values come from independent facts (z = x·U_k recomputed in double, U_k orthonormal,
// fixtures/README.md's cases), not from the program's own output. Nothing here writes into the
// source tree's fixtures/: every writing test works on a copy in a temporary folder.
#include "test_support.h"

#include <vqvae/tensor/runtime.h>
#include <vqvae/goldens/pca_suite.h>
#include <vqvae/io/hdf5_file.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef VQVAE_FIXTURES_DIR
#error "VQVAE_FIXTURES_DIR must name the source tree's fixtures/ folder"
#endif

namespace vqvae {
namespace {

namespace fs = std::filesystem;
using ::vqvae::testing::tensors_close;

const std::string kCommitted = golden_file_path(VQVAE_FIXTURES_DIR);
constexpr double kAtol = 1e-5, kRtol = 1e-5;  // fixtures/README.md

using testing::bytes_of;

// A new empty folder for one test.
fs::path fresh_folder(const std::string& name) { return testing::fresh_folder("vqvae_golden_test_" + name); }

size_t files_in(const fs::path& folder) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(folder), fs::directory_iterator()));
}

std::vector<GoldenCase> committed_cases() {
  std::vector<GoldenCase> cases;
  for (const auto& spec : golden_case_specs()) cases.push_back(read_golden_case(kCommitted, spec.name));
  return cases;
}

GoldenCase& find_case(std::vector<GoldenCase>& cases, const std::string& name) {
  for (auto& c : cases)
    if (c.spec.name == name) return c;
  throw std::runtime_error("no case " + name);
}

const DatasetDiff& find_diff(const GoldenReport& report, const std::string& name,
                             const std::string& dataset) {
  for (const auto& c : report.cases)
    if (c.name == name)
      for (const auto& d : c.datasets)
        if (d.name == dataset) return d;
  throw std::runtime_error("no diff for " + name + "/" + dataset);
}

// A copy of the committed file in which case k1_d16's z[2,0] and z[5,0] moved by 1e-3 and z[1,0]
// by 1e-7 (inside the tolerance), and default_d64_k8's x_recon[0,3] by 0.5.
void write_perturbed_copy(const std::string& path) {
  std::vector<GoldenCase> cases = committed_cases();
  GoldenCase& k1 = find_case(cases, "k1_d16");
  k1.z = k1.z.clone();
  k1.z[2][0] += 1e-3;
  k1.z[5][0] += 1e-3;
  k1.z[1][0] += 1e-7;
  GoldenCase& base = find_case(cases, "default_d64_k8");
  base.x_recon = base.x_recon.clone();
  base.x_recon[0][3] += 0.5;
  write_golden_cases(path, cases, "perturbed by golden_regression_test");
}


// ------------------------------------------------------------------ the committed golden file

TEST(GoldenCases, CoverTheIssuesCases) {
  const auto specs = golden_case_specs();
  bool base = false, k1 = false, k_eq_d = false, b1 = false, d1 = false, learned = false;
  for (const auto& s : specs) {
    base |= s.d == 64 && s.k == 8 && s.sigma_noise == 0.1 && s.seed == 42 && s.n == 10000 &&
            s.encoder == GoldenEncoder::pca;
    k1 |= s.k == 1 && s.d > 1;
    k_eq_d |= s.k == s.d && s.d > 1;
    b1 |= s.B == 1;
    d1 |= s.d == 1 && s.k == 1;
    learned |= s.encoder == GoldenEncoder::learned;
  }
  EXPECT_TRUE(base && k1 && k_eq_d && b1 && d1 && learned);
}

TEST(GoldenFile, EveryExpectedCaseIsPresentWithExactShapesAndAttributes) {
  const auto names = list_golden_cases(kCommitted);
  for (const auto& spec : golden_case_specs()) {
    SCOPED_TRACE(spec.name);
    ASSERT_NE(std::find(names.begin(), names.end(), spec.name), names.end());
    const GoldenCase c = read_golden_case(kCommitted, spec.name);
    EXPECT_EQ(c.spec.d, spec.d);
    EXPECT_EQ(c.spec.k, spec.k);
    EXPECT_EQ(c.spec.n, spec.n);
    EXPECT_EQ(c.spec.seed, spec.seed);
    EXPECT_EQ(c.spec.sigma_noise, spec.sigma_noise);
    EXPECT_EQ(c.spec.encoder, spec.encoder);
    EXPECT_EQ(c.x.sizes().vec(), (std::vector<int64_t>{spec.B, spec.d}));
    EXPECT_EQ(c.U_k.sizes().vec(), (std::vector<int64_t>{spec.d, spec.k}));
    EXPECT_EQ(c.z.sizes().vec(), (std::vector<int64_t>{spec.B, spec.k}));
    EXPECT_EQ(c.x_recon.sizes().vec(), (std::vector<int64_t>{spec.B, spec.d}));
    for (const auto& [name, tensor] : c.datasets()) EXPECT_EQ(tensor.scalar_type(), torch::kFloat) << name;
    if (spec.encoder == GoldenEncoder::learned) {
      EXPECT_EQ(c.encoder_weight.sizes().vec(), (std::vector<int64_t>{spec.k, spec.d}));
      EXPECT_EQ(c.decoder_weight.sizes().vec(), (std::vector<int64_t>{spec.d, spec.k}));
    }
  }
  Hdf5Reader file(kCommitted);
  EXPECT_EQ(file.read_string_attribute("/", "library_version"), library_version());
  EXPECT_EQ(file.read_string_attribute("/", "torch_version"), torch_version());
  EXPECT_EQ(file.read_string_attribute("/", "command").rfind("vqvae goldens regen", 0), 0u);
  // The baseline's default dataset, as fixtures/README.md states it.
  EXPECT_EQ(file.read_int_attribute("default_d64_k8", "d"), 64);
  EXPECT_EQ(file.read_int_attribute("default_d64_k8", "k"), 8);
  EXPECT_EQ(file.read_int_attribute("default_d64_k8", "seed"), 42);
  EXPECT_EQ(file.read_double_attribute("default_d64_k8", "sigma_noise"), 0.1);
}

TEST(GoldenFile, StoredValuesAreConsistentInDoublePrecision) {
  for (const auto& c : committed_cases()) {
    SCOPED_TRACE(c.spec.name);
    const at::Tensor x = c.x.to(torch::kDouble), z = c.z.to(torch::kDouble);
    const at::Tensor U = c.U_k.to(torch::kDouble);
    EXPECT_TRUE(torch::isfinite(x).all().item<bool>());
    EXPECT_TRUE(tensors_close(U.t().mm(U), torch::eye(c.spec.k, torch::kDouble), 1e-5));
    if (c.spec.encoder == GoldenEncoder::pca) {
      EXPECT_TRUE(tensors_close(c.z, x.mm(U), kAtol, kRtol));
      EXPECT_TRUE(tensors_close(c.x_recon, z.mm(U.t()), kAtol, kRtol));
      // k = d: U_k is square orthogonal, so decode(encode(x)) gives x back.
      if (c.spec.k == c.spec.d) {
        EXPECT_TRUE(tensors_close(c.x_recon, x, 1e-4, 1e-5));
      }
    } else {
      const at::Tensor We = c.encoder_weight.to(torch::kDouble), Wd = c.decoder_weight.to(torch::kDouble);
      EXPECT_TRUE(tensors_close(c.z, x.mm(We.t()), kAtol, kRtol));
      EXPECT_TRUE(tensors_close(c.x_recon, z.mm(Wd.t()), kAtol, kRtol));
      const double bound = std::sqrt(6.0 / static_cast<double>(c.spec.d + c.spec.k));  // Xavier
      EXPECT_LE(We.abs().max().item<double>(), bound);
      EXPECT_LE(Wd.abs().max().item<double>(), bound);
      EXPECT_FALSE(tensors_close(We.t(), U, 0.1));  // a learned basis, not the PCA one
    }
  }
}

TEST(GoldenFile, LibraryReproducesEveryCaseWithinTolerance) {
  const GoldenReport report = compare_goldens(kCommitted);
  EXPECT_TRUE(report.ok()) << format_golden_report(report);
  EXPECT_TRUE(report.stale.empty()) << format_golden_report(report);
  EXPECT_TRUE(report.missing.empty());
  ASSERT_EQ(report.cases.size(), golden_case_specs().size());
  for (const auto& c : report.cases)
    for (const auto& d : c.datasets) {
      int64_t numel = 1;
      for (int64_t size : d.file_shape) numel *= size;
      EXPECT_EQ(d.numel, numel) << c.name << "/" << d.name;  // every element compared
    }
}

// ------------------------------------------------------------------ the diff report

TEST(GoldenReport, CompareTensorsCountsErrorsAndIndices) {
  const at::Tensor file = torch::full({3, 4}, 2.0, torch::kDouble);
  at::Tensor code = file.clone();
  code[0][1] += 1e-3;  // outside 1e-5 + 1e-5·2
  code[2][3] -= 0.5;
  code[1][2] += 1e-5;  // inside
  const DatasetDiff d = compare_tensors("z", code, file);
  EXPECT_TRUE(d.problem.empty());
  EXPECT_FALSE(d.shape_mismatch());
  EXPECT_EQ(d.numel, 12);
  EXPECT_EQ(d.differing, 2);
  EXPECT_NEAR(d.max_abs_error, 0.5, 1e-12);
  EXPECT_NEAR(d.max_rel_error, 0.25, 1e-12);
  EXPECT_EQ(d.first_differing, (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}}));
  EXPECT_FALSE(d.ok());

  code[1][1] = std::nan("");
  const DatasetDiff with_nan = compare_tensors("z", code, file);
  EXPECT_EQ(with_nan.differing, 3);
  EXPECT_TRUE(std::isinf(with_nan.max_abs_error));
  EXPECT_EQ(with_nan.first_differing[1], (std::vector<int64_t>{1, 1}));

  const at::Tensor many = file + 1.0;
  EXPECT_EQ(compare_tensors("x", many, file).first_differing.size(), 5u);  // the first five only
  EXPECT_TRUE(compare_tensors("x", file, file).ok());
  const DatasetDiff shape = compare_tensors("z", torch::zeros({3, 4}), torch::zeros({3, 5}));
  EXPECT_TRUE(shape.shape_mismatch());
  EXPECT_FALSE(shape.ok());
}

TEST(GoldenReport, PerturbedCopyIsReportedWithCountsErrorsAndIndices) {
  const fs::path folder = fresh_folder("perturbed");
  const std::string path = golden_file_path(folder.string());
  write_perturbed_copy(path);
  const GoldenReport report = compare_goldens(path);
  EXPECT_FALSE(report.ok());
  const DatasetDiff& z = find_diff(report, "k1_d16", "z");
  EXPECT_EQ(z.numel, 8);
  EXPECT_EQ(z.differing, 2);  // the 1e-7 move is inside the tolerance
  EXPECT_EQ(z.first_differing, (std::vector<std::vector<int64_t>>{{2, 0}, {5, 0}}));
  EXPECT_NEAR(z.max_abs_error, 1e-3, 2e-6);
  const DatasetDiff& x_recon = find_diff(report, "default_d64_k8", "x_recon");
  EXPECT_EQ(x_recon.differing, 1);
  EXPECT_EQ(x_recon.first_differing, (std::vector<std::vector<int64_t>>{{0, 3}}));
  EXPECT_NEAR(x_recon.max_abs_error, 0.5, 1e-5);
  int64_t differing_datasets = 0;
  for (const auto& c : report.cases)
    for (const auto& d : c.datasets) differing_datasets += d.ok() ? 0 : 1;
  EXPECT_EQ(differing_datasets, 2);

  const std::string table = format_golden_report(report);
  EXPECT_NE(table.find(path), std::string::npos) << table;
  EXPECT_NE(table.find("(2, 0) (5, 0)"), std::string::npos) << table;
  EXPECT_NE(table.find("2/8"), std::string::npos) << table;
  EXPECT_NE(table.find("2 datasets differ"), std::string::npos) << table;
  fs::remove_all(folder);
}

TEST(GoldenReport, StaleAndMissingCasesAreListed) {
  const fs::path folder = fresh_folder("stale");
  const std::string path = golden_file_path(folder.string());
  auto specs = golden_case_specs();
  const std::string dropped = specs[3].name;
  specs.erase(specs.begin() + 3);
  specs.push_back({"retired_case", 4, 2, 10, 0.1, 1, 2, GoldenEncoder::pca});
  write_goldens(path, specs, "test");
  const GoldenReport report = compare_goldens(path);
  EXPECT_EQ(report.stale, (std::vector<std::string>{"retired_case"}));
  EXPECT_EQ(report.missing, (std::vector<std::string>{dropped}));
  EXPECT_FALSE(report.ok());  // a missing case fails the check
  const std::string table = format_golden_report(report);
  EXPECT_NE(table.find("regen removes them): retired_case"), std::string::npos) << table;
  EXPECT_NE(table.find("absent from the file): " + dropped), std::string::npos) << table;

  // Stale alone is a warning: the check passes, but regen has something to do.
  specs = golden_case_specs();
  specs.push_back({"retired_case", 4, 2, 10, 0.1, 1, 2, GoldenEncoder::pca});
  write_goldens(path, specs, "test");
  const GoldenReport stale_only = compare_goldens(path);
  EXPECT_TRUE(stale_only.ok()) << format_golden_report(stale_only);
  EXPECT_FALSE(stale_only.up_to_date());
  fs::remove_all(folder);
}

// ------------------------------------------------------------------ broken fixture files

TEST(GoldenFile, WronglyShapedDatasetNamesFileGroupAndDataset) {
  const fs::path folder = fresh_folder("shape");
  const std::string path = golden_file_path(folder.string());
  std::vector<GoldenCase> cases = committed_cases();
  GoldenCase& k1 = find_case(cases, "k1_d16");
  k1.z = k1.z.repeat({1, 2});  // (8, 2) where (B, k) = (8, 1)
  write_golden_cases(path, cases, "test");

  const std::string message = testing::message_of<Hdf5Error>([&] { read_golden_case(path, "k1_d16"); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("group 'k1_d16'"), std::string::npos) << message;
  EXPECT_NE(message.find("dataset 'z'"), std::string::npos) << message;
  EXPECT_NE(message.find("shape (8, 2), expected (B, k) = (8, 1)"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);

  const GoldenReport report = compare_goldens(path);
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(find_diff(report, "k1_d16", "z").shape_mismatch());
  EXPECT_TRUE(find_diff(report, "k1_d16", "x").ok());
  const std::string table = format_golden_report(report);
  EXPECT_NE(table.find("shape in the file (8, 2), code produces (8, 1)"), std::string::npos) << table;
  fs::remove_all(folder);
}

TEST(GoldenFile, AbsentDatasetNamesFileGroupAndDataset) {
  const fs::path folder = fresh_folder("absent");
  const std::string path = golden_file_path(folder.string());
  {
    Hdf5Writer file(path);
    file.create_group("k1_d16");
    file.write_tensor("k1_d16/x", torch::zeros({8, 16}));
    for (const char* name : {"d", "k", "n", "seed"}) file.write_attribute("k1_d16", name, int64_t{1});
    file.write_attribute("k1_d16", "sigma_noise", 0.3);
    file.write_attribute("k1_d16", "encoder", std::string("pca"));
    file.commit();
  }
  const std::string message = testing::message_of<Hdf5Error>([&] { read_golden_case(path, "k1_d16"); });
  EXPECT_NE(message.find(path + ": group 'k1_d16', dataset 'x': shape (8, 16), expected (B, d) = (*, 1)"),
            std::string::npos) << message;
  const GoldenReport report = compare_goldens(path);
  EXPECT_EQ(find_diff(report, "k1_d16", "U_k").problem, "absent from the file");
  EXPECT_FALSE(report.cases[0].attribute_problems.empty());  // d = 1 in the file, 16 in the code
  const std::string missing_group = testing::message_of<Hdf5Error>([&] { read_golden_case(path, "no_such_case"); });
  EXPECT_NE(missing_group.find(path + ": group 'no_such_case' is missing"), std::string::npos)
      << missing_group;
  fs::remove_all(folder);
}

TEST(GoldenFile, MissingTruncatedOrCorruptedFileIsAClearError) {
  const fs::path folder = fresh_folder("broken");
  const std::string missing = (folder / "missing.h5").string();
  std::string message = testing::message_of<Hdf5Error>([&] { compare_goldens(missing); });
  EXPECT_NE(message.find(missing + ": file missing or not readable"), std::string::npos) << message;

  const std::string bytes = bytes_of(kCommitted);
  const std::string truncated = (folder / "truncated.h5").string();
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  message = testing::message_of<Hdf5Error>([&] { compare_goldens(truncated); });
  EXPECT_EQ(message.rfind(truncated + ": ", 0), 0u) << message;
  EXPECT_NE(message.find("truncated or corrupted"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  message = testing::message_of<Hdf5Error>([&] { read_golden_case(truncated, "k1_d16"); });
  EXPECT_EQ(message.rfind(truncated + ": ", 0), 0u) << message;

  const std::string junk = (folder / "junk.h5").string();
  std::ofstream(junk, std::ios::binary) << "not an HDF5 file at all";
  message = testing::message_of<Hdf5Error>([&] { compare_goldens(junk); });
  EXPECT_NE(message.find(junk + ": not an HDF5 file"), std::string::npos) << message;
  fs::remove_all(folder);
}

// ------------------------------------------------------------------ regeneration

TEST(GoldenRegen, TwoRegenerationsAreByteIdentical) {
  const fs::path folder = fresh_folder("bytes");
  fs::create_directories(folder / "a");
  fs::create_directories(folder / "b");
  RegenOptions options;
  options.command = "vqvae goldens regen";
  std::ostringstream log;
  const std::string a = golden_file_path((folder / "a").string());
  const std::string b = golden_file_path((folder / "b").string());
  EXPECT_EQ(regen_goldens(a, options, log).outcome, RegenOutcome::written);
  EXPECT_EQ(regen_goldens(b, options, log).outcome, RegenOutcome::written);
  EXPECT_EQ(bytes_of(a), bytes_of(b));
  const std::string first = bytes_of(a);
  options.force = true;  // rewrite over the existing file
  EXPECT_EQ(regen_goldens(a, options, log).outcome, RegenOutcome::written);
  EXPECT_EQ(bytes_of(a), first);
  EXPECT_TRUE(compare_goldens(a).up_to_date());
  fs::remove_all(folder);
}

TEST(GoldenRegen, NothingChangedLeavesTheFileUntouched) {
  const fs::path folder = fresh_folder("untouched");
  const std::string path = golden_file_path(folder.string());
  fs::copy_file(kCommitted, path);
  const auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(24 * 365);
  fs::last_write_time(path, old_time);
  const std::string before = bytes_of(path);
  std::ostringstream log;
  RegenOptions options;
  options.command = "a command that would change the bytes";
  const RegenResult result = regen_goldens(path, options, log);
  EXPECT_EQ(result.outcome, RegenOutcome::unchanged) << log.str();
  EXPECT_FALSE(result.had_changes);
  EXPECT_EQ(bytes_of(path), before);
  EXPECT_EQ(fs::last_write_time(path), old_time);
  EXPECT_NE(log.str().find("nothing changed"), std::string::npos) << log.str();
  EXPECT_EQ(files_in(folder), 1u);
  fs::remove_all(folder);
}

TEST(GoldenRegen, ChangedFileShowsTheDiffBeforeReplacingIt) {
  const fs::path folder = fresh_folder("replace");
  const std::string path = golden_file_path(folder.string());
  write_perturbed_copy(path);
  std::ostringstream log;
  RegenOptions options;
  options.command = "vqvae goldens regen";
  const RegenResult result = regen_goldens(path, options, log);
  EXPECT_EQ(result.outcome, RegenOutcome::written);
  EXPECT_TRUE(result.had_changes);
  const std::string text = log.str();
  const auto diff_at = text.find("(2, 0) (5, 0)"), wrote_at = text.find("wrote " + path);
  ASSERT_NE(diff_at, std::string::npos) << text;
  ASSERT_NE(wrote_at, std::string::npos) << text;
  EXPECT_LT(diff_at, wrote_at);
  EXPECT_TRUE(compare_goldens(path).up_to_date());
  EXPECT_EQ(files_in(folder), 1u);  // no temporary left behind

  // A stale case is removed by regen.
  auto specs = golden_case_specs();
  specs.push_back({"retired_case", 4, 2, 10, 0.1, 1, 2, GoldenEncoder::pca});
  write_goldens(path, specs, "test");
  EXPECT_EQ(regen_goldens(path, options, log).outcome, RegenOutcome::written);
  EXPECT_TRUE(compare_goldens(path).stale.empty());
  fs::remove_all(folder);
}

TEST(GoldenRegen, RefusesUnderCiUnlessForced) {
  const fs::path folder = fresh_folder("ci");
  const std::string path = golden_file_path(folder.string());
  write_perturbed_copy(path);
  const std::string before = bytes_of(path);
  std::ostringstream log;
  RegenOptions options;
  options.ci = true;
  RegenResult result = regen_goldens(path, options, log);
  EXPECT_EQ(result.outcome, RegenOutcome::refused);
  EXPECT_TRUE(result.had_changes);
  EXPECT_EQ(bytes_of(path), before);
  EXPECT_NE(log.str().find("(2, 0) (5, 0)"), std::string::npos);  // still shows what differs
  EXPECT_EQ(files_in(folder), 1u);

  options.force = true;
  result = regen_goldens(path, options, log);
  EXPECT_EQ(result.outcome, RegenOutcome::written);
  EXPECT_TRUE(compare_goldens(path).up_to_date());

  // Under CI, regen never writes, even a file that is up to date or absent.
  options.force = false;
  const std::string up_to_date = bytes_of(path);
  EXPECT_EQ(regen_goldens(path, options, log).outcome, RegenOutcome::refused);
  EXPECT_EQ(bytes_of(path), up_to_date);
  const std::string absent = golden_file_path((folder / "sub").string());
  fs::create_directories(folder / "sub");
  EXPECT_EQ(regen_goldens(absent, options, log).outcome, RegenOutcome::refused);
  EXPECT_FALSE(fs::exists(absent));
  fs::remove_all(folder);
}

TEST(GoldenRegen, AnInterruptedWriteLeavesTheOldFileWhole) {
  const fs::path folder = fresh_folder("interrupted");
  const std::string path = golden_file_path(folder.string());
  fs::copy_file(kCommitted, path);
  const std::string before = bytes_of(path);
  std::vector<GoldenCase> cases = committed_cases();
  GoldenCase broken = cases.back();
  broken.spec.name = "zz_broken";
  broken.x_recon = broken.x_recon.to(torch::kInt);  // the writer rejects int32 mid-file
  cases.push_back(broken);
  EXPECT_THROW(write_golden_cases(path, cases, "test"), Hdf5Error);
  EXPECT_EQ(bytes_of(path), before);
  EXPECT_EQ(files_in(folder), 1u);
  fs::remove_all(folder);
}

TEST(GoldenRegen, RewritesAnUnreadableFile) {
  const fs::path folder = fresh_folder("unreadable");
  const std::string path = golden_file_path(folder.string());
  std::ofstream(path, std::ios::binary) << "garbage";
  std::ostringstream log;
  RegenOptions options;
  EXPECT_EQ(regen_goldens(path, options, log).outcome, RegenOutcome::written) << log.str();
  EXPECT_NE(log.str().find("cannot be read"), std::string::npos) << log.str();
  EXPECT_TRUE(compare_goldens(path).up_to_date());
  fs::remove_all(folder);
}

}  // namespace
}  // namespace vqvae
