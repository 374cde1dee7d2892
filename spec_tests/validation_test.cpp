// `vqvae validate` (src/validation/validate.h): every quantizer × encoder × init passes on small
// sizes; a broken quantizer (the seed's conditional STE, bug #2) makes the same checks fail;
// invalid configurations are refused before any work.
#include "core/checks.h"
#include "models/factory.h"
#include "quantizers/vq.h"
#include "test_support.h"
#include "validation/validate.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

namespace vqvae {
namespace {

using testing::throws_invalid;

RunConfig small_config() {
  RunConfig c;
  c.d = 8;
  c.k = 3;
  c.n = 300;
  c.codebook_size = 16;
  c.batch_size = 64;
  c.init_samples = 100;
  return c;
}

const CheckResult& find(const ValidationReport& report, const std::string& prefix) {
  for (const auto& c : report.checks)
    if (c.name.rfind(prefix, 0) == 0) return c;
  throw std::runtime_error("no check named " + prefix);
}

class ValidationMatrix : public ::testing::TestWithParam<std::tuple<std::string, std::string, std::string>> {};

TEST_P(ValidationMatrix, EveryCheckPasses) {
  RunConfig c = small_config();
  std::tie(c.quantizer, c.encoder.kind, c.init) = GetParam();
  c.encoder.trainable = c.encoder.kind == "learned";
  c.decoder = c.encoder;
  const ValidationReport report = run_validation(c);
  EXPECT_TRUE(report.passed()) << format_report_table(report, false);
  EXPECT_EQ(report.checks.size(), 10u);
  // PCA configurations run the PCA check; vq + PCA also the legacy comparison.
  EXPECT_EQ(find(report, "PCA").status == CheckResult::Status::skipped, c.encoder.kind != "pca");
  EXPECT_EQ(find(report, "legacy").status == CheckResult::Status::passed, c.encoder.kind == "pca" && c.quantizer == "vq");
}

INSTANTIATE_TEST_SUITE_P(
    QuantizersEncodersInits, ValidationMatrix,
    ::testing::Combine(::testing::Values("vq", "rotation", "projection"), ::testing::Values("pca", "learned"),
                       ::testing::Values("uniform", "random_normal", "kmeans", "rd_gaussian", "rd_waterfill")),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + std::get<1>(info.param) + "_" + std::get<2>(info.param);
    });

// The seed's bug #2, faithfully: `if z.requires_grad: STE else: z_q = z_q_hard`.
class ConditionalSteQuantizer : public QuantizerBase {
 public:
  explicit ConditionalSteQuantizer(const QuantizerOptions& o) : QuantizerBase("ConditionalSteQuantizer", o) {}

 protected:
  at::Tensor estimate(const at::Tensor& z, const at::Tensor& q) const override {
    if (z.requires_grad()) return z + (q - z).detach();
    return codebook.index_select(0, nearest_of(z));  // z_q = z_q_hard, with the codebook's gradient
  }

 private:
  at::Tensor nearest_of(const at::Tensor& z) const {
    return (z.unsqueeze(1) - codebook.unsqueeze(0)).pow(2).sum(2).argmin(1);
  }
};

VQVAE model_with_conditional_ste(const RunConfig& c, const GaussianDataset& data) {
  VQVAE reference = build_model(c, data);
  auto quantizer = std::make_shared<ConditionalSteQuantizer>(
      QuantizerOptions(c.k, c.codebook_size).init_codebook(reference->quantizer()->codebook.detach()));
  return VQVAE(reference->encoder(), quantizer, reference->decoder());
}

TEST(Validation, ConditionalSteQuantizerFailsWithExitStatus1) {
  ValidationOptions options;
  options.factory = model_with_conditional_ste;
  std::ostringstream out;
  const int status = run_validate_command(small_config(), options, false, false, out);
  EXPECT_EQ(status, 1);
  EXPECT_NE(out.str().find("\u2717 STE consistency"), std::string::npos) << out.str();
  // With the frozen PCA encoder z has no grad, so the bug also sends the reconstruction's
  // gradient into the codebook: the analytic-gradient check catches it too.
  EXPECT_NE(out.str().find("\u2717 codebook gradient = analytic"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("validate: FAILED"), std::string::npos);
  // The same checks pass on the library's quantizer, so the failure is the bug's.
  std::ostringstream good;
  EXPECT_EQ(run_validate_command(small_config(), ValidationOptions(), false, false, good), 0) << good.str();
}

TEST(Validation, GoldenCheckComparesTheGivenFileAndFailsOnAJunkOne) {
  ValidationOptions options;
  options.training_steps = 1;
  options.fixtures_file = VQVAE_FIXTURES_DIR "/pca_goldens.h5";
  EXPECT_EQ(find(run_validation(small_config(), options), "golden").status, CheckResult::Status::passed);
  const std::string junk = ::testing::TempDir() + "/junk_goldens.h5";
  std::ofstream(junk) << "not an HDF5 file";
  options.fixtures_file = junk;
  const CheckResult golden = find(run_validation(small_config(), options), "golden");
  EXPECT_EQ(golden.status, CheckResult::Status::failed);
  EXPECT_NE(golden.detail.find(junk), std::string::npos) << golden.detail;
}

TEST(Validation, JsonReportHasConfigChecksAndTotals) {
  std::ostringstream out;
  ASSERT_EQ(run_validate_command(small_config(), ValidationOptions(), true, false, out), 0);
  const std::string json = out.str();
  for (const char* key : {"\"config\"", "\"codebook_size\": 16", "\"checks\"", "\"status\": \"passed\"",
                          "\"numbers\"", "\"seconds\"", "\"failed\": 0", "\"ok\": true"})
    EXPECT_NE(json.find(key), std::string::npos) << key << " missing from " << json;
}

TEST(Validation, InvalidConfigurationsAreRefusedBeforeAnyWork) {
  RunConfig c = small_config();
  c.k = 9;
  EXPECT_TRUE(throws_invalid([&] { run_validation(c); }, {"--k", "must be <= --d = 8", "got 9"}));
  c = small_config();
  c.codebook_size = 0;
  EXPECT_TRUE(throws_invalid([&] { run_validation(c); }, {"--codebook-size", "got 0"}));
  c = small_config();
  c.quantizer = "lattice";
  EXPECT_TRUE(throws_invalid([&] { run_validation(c); }, {"--quantizer", "'lattice'"}));
  c = small_config();
  c.init = "kmeans";
  c.init_samples = 10;
  EXPECT_TRUE(throws_invalid([&] { run_validation(c); }, {"kmeans needs at least --codebook-size = 16", "got 10"}));
  c = small_config();
  c.beta = -1;
  EXPECT_TRUE(throws_invalid([&] { run_validation(c); }, {"--beta", "got -1"}));
  EXPECT_TRUE(throws_invalid([&] { apply_config_file("/nonexistent/config.json", c); }, {"--config", "/nonexistent/config.json"}));
  EXPECT_TRUE(throws_invalid([] { parse_module_choice("pca:sometimes", "--encoder"); }, {"--encoder", "pca:sometimes"}));
}

}  // namespace
}  // namespace vqvae
