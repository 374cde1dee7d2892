// Codebook initialisers (src/modules/vqvae/initialization/): shapes, bounds, seeds, closed-form variances,
// k-means on separable clusters, reverse water-filling.
#include "test_support.h"

#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/initialization/codebook_init.h>
#include <vqvae/initialization/rd_init.h>
#include <vqvae/search/nearest_codeword.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace vqvae {
namespace {

using testing::throws_invalid;

TEST(UniformInit, IsBaselineFormulaOnGlobalGenerator) {
  torch::manual_seed(11);
  torch::Tensor expected = torch::rand({16, 4}) * (2.0 / 16) - 1.0 / 16;  // the baseline's line
  torch::manual_seed(11);
  torch::Tensor got = uniform_init(16, 4);
  EXPECT_TENSOR_EQ(got, expected);
  EXPECT_LE(got.abs().max().item<double>(), 1.0 / 16);
  EXPECT_TENSOR_EQ(uniform_init(16, 4, 3), uniform_init(16, 4, 3));
  EXPECT_FALSE(torch::equal(uniform_init(16, 4, 3), uniform_init(16, 4, 4)));
}

TEST(RandomNormalInit, StdAndShape) {
  torch::Tensor c = random_normal_init(4000, 5, 2.0, 1);
  EXPECT_EQ(c.sizes(), (std::vector<int64_t>{4000, 5}));
  EXPECT_NEAR(c.std().item<double>(), 2.0, 0.05);  // 20000 draws: std error ≈ 2/√40000 = 0.01
  EXPECT_NEAR(c.mean().item<double>(), 0.0, 0.06);  // N(0, 4): standard error of the mean 2/√20000 = 0.014
}

// compute_rd_variance on data (1, 3): unbiased variance 2; rate 1 bit: 2 · (1 − 2^−2) = 1.5.
TEST(ComputeRdVariance, HandExample) {
  EXPECT_DOUBLE_EQ(compute_rd_variance(torch::tensor({{1.0}, {3.0}}), 1.0), 1.5);
  // Two dims with variances 2 and 8 (data columns (1,3) and (0,4)): mean 5; rate 0 -> 0.
  torch::Tensor data = torch::tensor({{1.0, 0.0}, {3.0, 4.0}});
  EXPECT_DOUBLE_EQ(compute_rd_variance(data, 0.5), 5.0 * 0.5);
  EXPECT_DOUBLE_EQ(compute_rd_variance(data, 0.0), 0.0);
}

TEST(RdGaussianInit, VarianceFollowsComputeRdVariance) {
  torch::Tensor data = torch::randn({2000, 4}, torch::TensorOptions().dtype(torch::kFloat)) * 3.0;
  // rate = log2(256)/4 = 2 bits per dimension.
  const double variance = compute_rd_variance(data, 2.0);
  torch::Tensor c = rd_gaussian_init(256, 4, data, std::nullopt, 9);
  EXPECT_EQ(c.sizes(), (std::vector<int64_t>{256, 4}));
  torch::Tensor big = rd_gaussian_init(40000, 4, data, 2.0, 9);
  EXPECT_NEAR(big.var().item<double>(), variance, 0.03 * variance);
}

// Data with exact covariance structure along the axes: variances 100, 1, 0.01 (±1 patterns).
// At n = 2 (R = 1 bit) the water level is θ = 100/4 = 25 > 1 (water-filling closed form), so
// only the first component gets spread: every codeword equals the mean in components 2 and 3.
TEST(RdWaterfillInit, NoSpreadBelowWaterLevel) {
  torch::Tensor signs = torch::tensor({{1.0, 1.0, 1.0}, {1.0, -1.0, -1.0}, {-1.0, 1.0, -1.0}, {-1.0, -1.0, 1.0}},
                                      torch::kDouble);  // orthogonal columns, mean 0
  torch::Tensor data = (signs * torch::tensor({10.0, 1.0, 0.1}, torch::kDouble)).repeat({100, 1}) +
                       torch::tensor({5.0, -3.0, 2.0}, torch::kDouble);
  torch::Tensor c = rd_waterfill_init(2, 3, data, 1).to(torch::kDouble);
  EXPECT_TENSOR_NEAR(c.slice(1, 1, 3), torch::tensor({{-3.0, 2.0}, {-3.0, 2.0}}, torch::kDouble), 1e-5);
  EXPECT_GT((c.select(1, 0) - 5.0).abs().max().item<double>(), 0.0);
}

// The study's prototype, on the default data, put rd_waterfill's untrained codebook at D ≈ 15.6
// with every codeword in use, against ≈ 27.8 for rd_gaussian (n = 256, latents of the 10000
// samples, codebook from the 500-sample initialisation batch). An independent number, checked
// to 5 %; the draws differ, not the distributions.
TEST(RdWaterfillInit, BeatsRdGaussianOnDefaultDataAsPrototyped) {
  GaussianDataset data;
  torch::Tensor init = data.get_initialization_batch(500);
  const double d_water = mean_squared_distortion(data.z_true, rd_waterfill_init(256, 8, init, 1));
  const double d_gauss = mean_squared_distortion(data.z_true, rd_gaussian_init(256, 8, init, std::nullopt, 1));
  EXPECT_NEAR(d_water, 15.6, 0.05 * 15.6);
  EXPECT_NEAR(d_gauss, 27.8, 0.05 * 27.8);
  torch::Tensor used = std::get<0>(at::_unique(nearest_codeword(data.z_true, rd_waterfill_init(256, 8, init, 1))));
  EXPECT_EQ(used.numel(), 256);
}

// Three tight clusters around (0,0), (10,0), (0,10): k-means with n = 3 finds their means.
TEST(KMeansInit, RecoversSeparatedClusters) {
  torch::Tensor centres = torch::tensor({{0.0, 0.0}, {10.0, 0.0}, {0.0, 10.0}});
  torch::Tensor offsets = torch::tensor({{0.1, 0.0}, {-0.1, 0.0}, {0.0, 0.1}, {0.0, -0.1}});
  torch::Tensor data = (centres.unsqueeze(1) + offsets.unsqueeze(0)).reshape({12, 2});
  torch::Tensor found = kmeans_init(3, 2, data, KMeansOptions().seed(2));
  torch::Tensor order = std::get<1>(torch::sort(found.select(1, 0) + 2 * found.select(1, 1)));
  EXPECT_TENSOR_NEAR(found.index_select(0, order), centres, 1e-6);
  EXPECT_TENSOR_EQ(kmeans_init(3, 2, data, KMeansOptions().seed(2)), found);  // deterministic
  EXPECT_NEAR(mean_squared_distortion(data, found), 0.01, 1e-6);
}

TEST(Initializers, BadInputNamesArgumentAndValues) {
  torch::Tensor data = torch::randn({10, 2});
  EXPECT_TRUE(throws_invalid([] { uniform_init(0, 2); }, {"uniform_init", "n must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([] { random_normal_init(2, 2, -1.0); }, {"std", "-1"}));
  EXPECT_TRUE(throws_invalid([&] { kmeans_init(11, 2, data); }, {"kmeans_init", "at least n = 11", "got 10"}));
  EXPECT_TRUE(throws_invalid([&] { kmeans_init(3, 3, data); }, {"data", "(N, k) = (*, 3)", "got (10, 2)"}));
  EXPECT_TRUE(throws_invalid([&] { rd_gaussian_init(4, 3, data); }, {"rd_gaussian_init", "(N, k) = (*, 3)"}));
  EXPECT_TRUE(throws_invalid([&] { rd_waterfill_init(4, 2, torch::ones({1, 2})); }, {"data rows N must be >= 2", "got 1"}));
  EXPECT_TRUE(throws_invalid([&] { compute_rd_variance(data, -1.0); }, {"rate", "-1"}));
}

}  // namespace
}  // namespace vqvae
