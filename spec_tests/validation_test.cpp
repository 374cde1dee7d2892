// `vqvae validate` (validate/validate.h): every quantizer × encoder × init passes on small
// sizes; a broken quantizer (the baseline's conditional STE, bug #2) makes the same checks fail;
// invalid configurations are refused before any work.
#include "test_support.h"

#include <vqvae/tensor/checks.h>
#include <vqvae/validate/validate.h>
#include <vqvae/quantizers/vq.h>
#include <vqvae/study/factory.h>

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

const Check& find(const ValidationReport& report, const std::string& prefix) {
  for (const auto& c : report.checks)
    if (c.name.rfind(prefix, 0) == 0) return c;
  throw std::runtime_error("no check named " + prefix);
}

class ValidationMatrix : public ::testing::TestWithParam<std::tuple<QuantizerKind, ModuleKind, InitKind>> {};

TEST_P(ValidationMatrix, EveryCheckPasses) {
  RunConfig c = small_config();
  std::tie(c.quantizer, c.encoder.kind, c.init) = GetParam();
  c.encoder.trainable = c.encoder.kind == ModuleKind::learned;
  c.decoder = c.encoder;
  const ValidationReport report = run_validation(c);
  EXPECT_TRUE(report.passed()) << format_report_table(report, false);
  EXPECT_EQ(report.checks.size(), 11u);
  // PCA configurations run the PCA check; vq + PCA also the legacy comparison.
  EXPECT_EQ(find(report, "PCA").status == Check::Status::skipped, c.encoder.kind != ModuleKind::pca);
  EXPECT_EQ(find(report, "legacy").status == Check::Status::passed, c.encoder.kind == ModuleKind::pca && c.quantizer == QuantizerKind::vq);
}

INSTANTIATE_TEST_SUITE_P(
    QuantizersEncodersInits, ValidationMatrix,
    ::testing::Combine(::testing::Values(QuantizerKind::vq, QuantizerKind::rotation, QuantizerKind::projection), ::testing::Values(ModuleKind::pca, ModuleKind::learned),
                       ::testing::Values(InitKind::uniform, InitKind::random_normal, InitKind::kmeans, InitKind::rd_gaussian, InitKind::rd_waterfill)),
    [](const auto& info) {
      return std::string(to_string(std::get<0>(info.param))) + "_" + to_string(std::get<1>(info.param)) + "_" +
             to_string(std::get<2>(info.param));
    });

// The baseline's bug #2, faithfully: `if z.requires_grad: STE else: z_q = z_q_hard`.
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


// The library's model for `c`, with its quantizer replaced by a `Quantizer` on the same codebook.
template <typename Quantizer>
VQVAE model_with(const RunConfig& c, const GaussianDataset& data) {
  VQVAE reference = build_model(c, data);
  auto quantizer = std::make_shared<Quantizer>(
      QuantizerOptions(c.k, c.codebook_size).init_codebook(reference->quantizer()->codebook.detach()));
  return VQVAE(reference->encoder(), quantizer, reference->decoder());
}

TEST(Validation, ConditionalSteQuantizerFailsWithExitStatus1) {
  ValidationOptions options;
  options.factory = model_with<ConditionalSteQuantizer>;
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

// Two deliberately mis-routed quantizers for the gradient-routing check: its table must catch a
// term that reaches a parameter group it must not, and one that misses a group it must reach.
// Leaky: z_q = codebook[nearest] with the codebook's gradient (no straight-through), so the
// reconstruction loss reaches the codebook. Blocking: z_q = q with no path to z, so the
// reconstruction loss never reaches a trainable encoder.
class LeakyQuantizer : public QuantizerBase {
 public:
  explicit LeakyQuantizer(const QuantizerOptions& o) : QuantizerBase("LeakyQuantizer", o) {}

 protected:
  at::Tensor estimate(const at::Tensor& z, const at::Tensor&) const override {
    return codebook.index_select(0, (z.unsqueeze(1) - codebook.unsqueeze(0)).pow(2).sum(2).argmin(1));
  }
};

class BlockingQuantizer : public QuantizerBase {
 public:
  explicit BlockingQuantizer(const QuantizerOptions& o) : QuantizerBase("BlockingQuantizer", o) {}

 protected:
  at::Tensor estimate(const at::Tensor&, const at::Tensor& q) const override { return q.clone(); }
};


TEST(Validation, GradientRoutingCheckFailsOnAMisroutedModel) {
  ValidationOptions options;
  options.training_steps = 1;
  options.factory = model_with<LeakyQuantizer>;
  Check routing = find(run_validation(small_config(), options), "gradient routing");
  EXPECT_EQ(routing.status, Check::Status::failed);
  EXPECT_NE(routing.detail.find("recon reached {codebook}, expected {}"), std::string::npos) << routing.detail;

  RunConfig learned = small_config();
  learned.encoder = learned.decoder = {ModuleKind::learned, true};
  options.factory = model_with<BlockingQuantizer>;
  routing = find(run_validation(learned, options), "gradient routing");
  EXPECT_EQ(routing.status, Check::Status::failed);
  EXPECT_NE(routing.detail.find("recon reached {decoder}, expected {decoder,encoder}"), std::string::npos)
      << routing.detail;

  // The library's own quantizer passes the same check on both configurations.
  options.factory = nullptr;
  EXPECT_EQ(find(run_validation(small_config(), options), "gradient routing").status, Check::Status::passed);
  EXPECT_EQ(find(run_validation(learned, options), "gradient routing").status, Check::Status::passed);
}

TEST(Validation, GoldenCheckComparesTheGivenFileAndFailsOnAJunkOne) {
  ValidationOptions options;
  options.training_steps = 1;
  options.fixtures_file = VQVAE_FIXTURES_DIR "/pca_goldens.h5";
  EXPECT_EQ(find(run_validation(small_config(), options), "golden").status, Check::Status::passed);
  const std::string junk = (testing::fresh_folder("junk_goldens") / "junk_goldens.h5").string();
  std::ofstream(junk) << "not an HDF5 file";
  options.fixtures_file = junk;
  const Check golden = find(run_validation(small_config(), options), "golden");
  EXPECT_EQ(golden.status, Check::Status::failed);
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

// The library names its own parameters (the configuration's keys); the program spells them as
// flags (cli.validate_invalid_config_*).
TEST(Validation, InvalidConfigurationsAreRefusedBeforeAnyWork) {
  RunConfig c = small_config();
  c.k = 9;
  EXPECT_TRUE(throws_invalid([&] { run_validation(c); }, {"k: must be <= d = 8", "got 9"}));
  c = small_config();
  c.codebook_size = 0;
  EXPECT_TRUE(throws_invalid([&] { run_validation(c); }, {"codebook_size: must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([&] { parse_choice_text("lattice", c.quantizer, param("quantizer")); },
                             {"quantizer: must be vq, rotation or projection", "'lattice'"}));
  c = small_config();
  c.init = InitKind::kmeans;
  c.init_samples = 10;
  EXPECT_TRUE(throws_invalid([&] { run_validation(c); }, {"kmeans needs at least codebook_size = 16", "got 10"}));
  c = small_config();
  c.beta = -1;
  EXPECT_TRUE(throws_invalid([&] { run_validation(c); }, {"beta", "got -1"}));
  EXPECT_TRUE(throws_invalid([&] { apply_config_file("/nonexistent/config.json", c); }, {"config", "/nonexistent/config.json"}));
  EXPECT_TRUE(throws_invalid([] { parse_module_choice("pca:sometimes", param("encoder")); }, {"encoder", "pca:sometimes"}));
}

// What the program prints: the same error with each parameter spelled as its flag.
TEST(Validation, ParametersAreRenderedAsTheCallerSpellsThem) {
  RunConfig c = small_config();
  c.k = 9;
  try {
    check_config(c);
    FAIL() << "k = 9 > d = 8 was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()), "k: must be <= d = 8, got 9");
    EXPECT_EQ(e.message([](std::string_view name) { return "--" + std::string(name); }),
              "--k: must be <= --d = 8, got 9");
  }
}

}  // namespace
}  // namespace vqvae
