// Metrics and the distortion-rate bound (src/modules/vqvae/evaluation/, src/math/vqvae/math/rate_distortion.h): hand-computed values and closed forms.
#include "test_support.h"

#include <vqvae/evaluation/metrics.h>
#include <vqvae/evaluation/metrics_log.h>
#include <vqvae/math/rate_distortion.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace vqvae {
namespace {

using testing::throws_invalid;

// indices (0, 0, 1, 3) of n = 4: p = (1/2, 1/4, 0, 1/4); H = ½ln2 + 2·¼ln4 = 1.5 ln 2 nats;
// perplexity = e^H = 2^1.5 = 2.8284; one dead code; min usage over the codes in use (the
// baseline's definition: the unused code 2 does not count) 1/4; std of (.5,.25,0,.25) (unbiased) = 0.2041.
TEST(CodebookUsage, HandExample) {
  CodebookUsage u = codebook_usage(torch::tensor({0, 0, 1, 3}, torch::kLong), 4);
  EXPECT_TENSOR_NEAR(u.usage, torch::tensor({0.5, 0.25, 0.0, 0.25}, torch::kDouble), 1e-15);
  EXPECT_NEAR(u.entropy, 1.5 * std::log(2.0), 1e-12);
  EXPECT_NEAR(u.perplexity, std::pow(2.0, 1.5), 1e-12);
  EXPECT_EQ(u.dead_codes, 1);
  EXPECT_DOUBLE_EQ(u.min_usage, 0.25);
  EXPECT_DOUBLE_EQ(u.max_usage, 0.5);
  EXPECT_NEAR(u.std_usage, std::sqrt((0.0625 + 0 + 0.0625 + 0) / 3), 1e-12);  // mean 0.25
}

TEST(Metrics, QuantizationErrorAndGeometryByHand) {
  // (z − z_q)² = (1, 4, 0, 9): mean 3.5.
  EXPECT_DOUBLE_EQ(quantization_error(torch::tensor({{1.0, 2.0}, {0.0, 3.0}}), torch::tensor({{0.0, 0.0}, {0.0, 0.0}})), 3.5);
  // Codewords (0,0), (3,4), (0,4): norms 0, 5, 4 -> mean 3, std sqrt(((9 + 4 + 1)/2)) = sqrt(7);
  // pairwise distances 5, 4, 3 -> mean 4.
  CodebookGeometry g = codebook_geometry(torch::tensor({{0.0, 0.0}, {3.0, 4.0}, {0.0, 4.0}}));
  EXPECT_NEAR(g.mean_norm, 3.0, 1e-12);
  EXPECT_NEAR(g.std_norm, std::sqrt(7.0), 1e-12);
  EXPECT_NEAR(g.mean_pairwise_distance, 4.0, 1e-12);
}

// Reverse water-filling by hand (λ descending, R bits per vector):
//  (4, 1), R = 1: θ = 1, D = 2   [R = ½log2(4/1) + ½log2(1/1) = 1]
//  (4, 1), R = 2: θ = ½, D = 1   [½log2 8 + ½log2 2 = 2]
//  (16, 1), R = 1: θ = 4, D = 5  [only the first component active: ½log2(16/4) = 1]
//  isotropic: D = kσ²2^(−2R/k)
TEST(DistortionRate, ReverseWaterFillingByHand) {
  EXPECT_NEAR(reverse_water_level({4, 1}, 1), 1.0, 1e-12);
  EXPECT_NEAR(gaussian_distortion_rate({4, 1}, 1), 2.0, 1e-12);
  EXPECT_NEAR(gaussian_distortion_rate({1, 4}, 2), 1.0, 1e-12);
  EXPECT_NEAR(reverse_water_level({16, 1}, 1), 4.0, 1e-12);
  EXPECT_NEAR(gaussian_distortion_rate({16, 1}, 1), 5.0, 1e-12);
  EXPECT_NEAR(gaussian_distortion_rate(std::vector<double>(8, 2.5), 8), 8 * 2.5 * std::pow(2.0, -2.0), 1e-12);
  EXPECT_NEAR(gaussian_distortion_rate({3, 2, 1}, 0), 6.0, 1e-12);
  // A zero-variance component costs no rate and adds no distortion: {3, 0, 1} at R = 1 is {3, 1}
  // with both components above the water, ½log2(3/θ) + ½log2(1/θ) = 1 ⇒ θ = √3/2, D = 2θ = √3.
  EXPECT_NEAR(reverse_water_level({3, 0, 1}, 1), std::sqrt(3.0) / 2, 1e-12);
  EXPECT_NEAR(gaussian_distortion_rate({3, 0, 1}, 1), std::sqrt(3.0), 1e-12);
  // The rate spent equals R at the computed level.
  const std::vector<double> lambda = {30.1, 17.6, 10.4, 5.0, 2.0, 1.0, 0.5, 0.1};
  const double theta = reverse_water_level(lambda, 8.0);
  double rate = 0;
  for (double l : lambda) rate += std::max(0.0, 0.5 * std::log2(l / theta));
  EXPECT_NEAR(rate, 8.0, 1e-9);
}

TEST(Evaluation, BadInputNamesArgumentAndValues) {
  EXPECT_TRUE(throws_invalid([] { codebook_usage(torch::tensor({0, 5}, torch::kLong), 4); }, {"indices must lie in [0, 4)", "[0, 5]"}));
  EXPECT_TRUE(throws_invalid([] { codebook_usage(torch::zeros({0}, torch::kLong), 4); }, {"indices size B must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([] { codebook_usage(torch::tensor({0}, torch::kLong), 0); }, {"codebook_size n must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([] { reverse_water_level({}, 1); }, {"variances must not be empty"}));
  EXPECT_TRUE(throws_invalid([] { reverse_water_level({1, -2}, 1); }, {"variances[1]", "-2"}));
  EXPECT_TRUE(throws_invalid([] { gaussian_distortion_rate({1}, -1); }, {"rate_bits", "-1"}));
  EXPECT_TRUE(throws_invalid([] { quantization_error(torch::zeros({2, 2}), torch::zeros({2, 3})); }, {"z_q", "(B, k) = (2, 2)", "got (2, 3)"}));
}

// The logging path by hand: eval_D logged at steps 0 and 200 only, late first at step 200.
// Rows: step 0 (loss 4.5, eval_D 17.25, -), 100 (3.75, -, -), 200 (3.5, 15.125, 1/3), 300 (3.25, -, 0.5).
// Final metrics: each key's last logged value: loss 3.25, eval_D 15.125 (not empty: it keeps it), late 0.5.
TEST(MetricsLog, RowsFinalMetricsAndCsvRoundTripByHand) {
  MetricsLog log;
  log.update(0, {{"loss", 4.5}, {"eval_D", 17.25}});
  log.update(100, {{"loss", 3.75}});
  log.update(200, {{"loss", 3.5}, {"eval_D", 15.125}, {"late", 1.0 / 3.0}});
  log.update(300, {{"late", 0.5}, {"loss", 3.25}});
  EXPECT_EQ(log.keys(), (std::vector<std::string>{"loss", "eval_D", "late"}));
  const std::vector<double> late = log.column("late");
  ASSERT_EQ(late.size(), 4u);
  EXPECT_TRUE(std::isnan(late[0]) && std::isnan(late[1]));
  EXPECT_EQ(late[2], 1.0 / 3.0);
  EXPECT_TRUE(std::isnan(log.column("eval_D")[3]));
  const std::map<std::string, double> final = log.final_metrics();
  EXPECT_EQ(final.at("loss"), 3.25);
  EXPECT_EQ(final.at("eval_D"), 15.125);
  EXPECT_EQ(final.at("late"), 0.5);
  const std::string csv = log.to_csv();
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "step,loss,eval_D,late");
  EXPECT_NE(csv.find("\n100,3.75,,\n"), std::string::npos) << csv;  // empty where not logged
  const MetricsLog loaded = MetricsLog::from_csv(csv, "test");
  EXPECT_EQ(loaded.steps(), log.steps());
  EXPECT_EQ(loaded.final_metrics(), final);
  EXPECT_EQ(loaded.column("late")[2], 1.0 / 3.0);  // 17 digits: read back exactly
  EXPECT_TRUE(throws_invalid([] { MetricsLog::from_csv("loss\n1\n", "log.csv"); }, {"log.csv", "step"}));
  EXPECT_TRUE(throws_invalid([] { MetricsLog::from_csv("step,loss\n1,x\n", "log.csv"); }, {"log.csv", "line 2", "'x'"}));
  EXPECT_TRUE(throws_invalid([&] { MetricsLog().update(0, {{"a", 1.0}, {"a", 2.0}}); }, {"MetricsLog.update", "'a'", "twice"}));
}

}  // namespace
}  // namespace vqvae
