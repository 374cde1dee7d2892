// The study measured on data the codebook never saw, with its uncertainty stated: the held-out
// set (GaussianDataset::draw_test_set) is the same source with independent draws; a run's test
// numbers come from it and from nothing else; paired comparisons over seeds carry a Student's t
// interval that matches a hand computation and published t quantiles.
#include "test_support.h"

#include <vqvae/tensor/runtime.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/math/statistics.h>
#include <vqvae/search/nearest_codeword.h>
#include <vqvae/experiment/experiment.h>
#include <vqvae/study/factory.h>
#include <vqvae/study/run.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>
#include <string>

namespace vqvae {
namespace {

// ------------------------------------------------------------------ the held-out set

TEST(HeldOutSet, SharesNoSampleWithTheTrainingSetAndDrawsOtherNumbers) {
  const GaussianDataset data(GaussianDatasetOptions().d(16).k(4).n_samples(2000).seed(42));
  const GaussianDataset::HeldOut test = data.draw_test_set(2000);
  ASSERT_EQ(test.X.sizes(), data.X.sizes());
  ASSERT_EQ(test.Y.sizes(), data.Y.sizes());
  // No row of the held-out X is a row of the training X (compared bit for bit).
  std::set<std::string> training;
  for (int64_t i = 0; i < data.X.size(0); ++i) {
    const torch::Tensor row = data.X[i].contiguous();
    training.emplace(static_cast<const char*>(row.data_ptr()), row.numel() * sizeof(float));
  }
  int64_t shared = 0;
  for (int64_t i = 0; i < test.X.size(0); ++i) {
    const torch::Tensor row = test.X[i].contiguous();
    shared += training.count(std::string(static_cast<const char*>(row.data_ptr()), row.numel() * sizeof(float)));
  }
  EXPECT_EQ(shared, 0);
  // Other draws than the training set's for the same seed, though the same seed gives the same
  // held-out set again.
  EXPECT_FALSE(torch::allclose(test.Y, data.Y));
  EXPECT_TRUE(torch::equal(test.X, data.draw_test_set(2000).X));
  EXPECT_FALSE(torch::equal(test.X, GaussianDataset(GaussianDatasetOptions().d(16).k(4).n_samples(2000).seed(43)).draw_test_set(2000).X));
}

// The same source: the held-out X = Y_test Aᵀ + W_test with the training set's A and Σ_y, so its
// residual off span(A) is the noise alone (variance σ² per dimension), and its latent covariance
// Σ_y within the sampling error of 20,000 draws.
TEST(HeldOutSet, IsTheSameSource) {
  const double sigma = 0.1;
  const GaussianDataset data(GaussianDatasetOptions().d(16).k(4).n_samples(1000).sigma_noise(sigma).seed(7));
  const GaussianDataset::HeldOut test = data.draw_test_set(20000);
  const torch::Tensor A = data.A.to(torch::kDouble), X = test.X.to(torch::kDouble), Y = test.Y.to(torch::kDouble);
  const torch::Tensor noise = X - Y.matmul(A.t());
  EXPECT_NEAR(noise.var().item<double>(), sigma * sigma, 0.05 * sigma * sigma);
  const torch::Tensor covariance = Y.t().matmul(Y) / static_cast<double>(Y.size(0));
  const torch::Tensor sigma_y = data.Sigma_y.to(torch::kDouble);
  EXPECT_LT((covariance - sigma_y).abs().max().item<double>(), 0.05 * sigma_y.abs().max().item<double>());
}

TEST(HeldOutSet, BadSizeNamesTheArgument) {
  const GaussianDataset data(GaussianDatasetOptions().d(4).k(2).n_samples(50));
  EXPECT_TRUE(testing::throws_invalid([&] { data.draw_test_set(0); }, {"n_test", "got 0"}));
}

// ------------------------------------------------------------------ test numbers from the test set

// A run's test distortion is its final codebook on the held-out latents — recomputed here from the
// returned codebook and the held-out set — and not the training latents' (which would equal the
// training distortion; a run reporting that would fail the first assertion).
TEST(HeldOutSet, TestColumnsComeFromTheHeldOutSetOnly) {
  RunConfig c;
  c.d = 8;
  c.k = 2;
  c.n = 400;
  c.n_test = 3000;
  c.codebook_size = 64;  // 64 codewords for 400 samples: the training D is visibly below the test D
  c.init_samples = 100;
  c.batch_size = 40;
  c.init = InitKind::uniform;
  const GaussianDataset data = make_dataset(c);
  const TrainingRunResult run = run_training(c, data, TrainingRunOptions().epochs(30));
  const torch::Tensor U = data.U_k;
  const auto distortion = [&](const torch::Tensor& x) {
    const torch::Tensor z = x.matmul(U);
    const torch::Tensor q = run.codebook.index_select(0, nearest_codeword(z, run.codebook.to(z.scalar_type())));
    return (z.to(torch::kDouble) - q.to(torch::kDouble)).pow(2).sum(1).mean().item<double>();
  };
  const double on_test = distortion(data.draw_test_set(c.n_test).X), on_training = distortion(data.X);
  EXPECT_NEAR(run.summary.test_distortion, on_test, 1e-5 * on_test);
  EXPECT_NEAR(run.summary.distortion, on_training, 1e-5 * on_training);
  EXPECT_GT(run.summary.test_distortion, 1.05 * run.summary.distortion);  // the sample was fitted, not the source
  EXPECT_EQ(run.history.back().test_distortion, run.summary.test_distortion);
  // Its standard error: the spread of per-sample distortions over √n_test.
  EXPECT_GT(run.summary.test_distortion_se, 0);
  EXPECT_LT(run.summary.test_distortion_se, 0.1 * run.summary.test_distortion);
}

// ------------------------------------------------------------------ paired comparisons

// Published two-sided 95 % critical values of Student's t (any statistics table): t_{0.975, df}.
TEST(StudentT, QuantilesMatchThePublishedTable) {
  const std::pair<double, double> table[] = {{1, 12.706}, {2, 4.303}, {4, 2.776}, {9, 2.262}, {19, 2.093}, {30, 2.042}};
  for (const auto& [df, t] : table) EXPECT_NEAR(student_t_quantile(0.975, df), t, 6e-4) << "df " << df;
  EXPECT_NEAR(student_t_quantile(0.95, 10), 1.812, 6e-4);
  EXPECT_NEAR(student_t_quantile(0.025, 4), -2.776, 6e-4);
  EXPECT_NEAR(student_t_cdf(0, 3), 0.5, 1e-15);
  EXPECT_NEAR(student_t_cdf(2.776445, 4), 0.975, 1e-6);
}

// a − b = (1, 2, 3, 4, 5): mean 3, unbiased std √2.5 = 1.5811, standard error 1.5811/√5 = 0.7071,
// t_{0.975, 4} = 2.7764 (table): half width 1.9632, interval [1.0368, 4.9632]; a lower in none.
TEST(PairedDifference, MatchesAHandComputation) {
  const PairedDifference d = paired_difference({11, 12, 13, 14, 15}, {10, 10, 10, 10, 10});
  EXPECT_EQ(d.pairs, 5);
  EXPECT_DOUBLE_EQ(d.mean, 3.0);
  EXPECT_NEAR(d.std, std::sqrt(2.5), 1e-12);
  EXPECT_NEAR(d.half_width, 2.776445 * std::sqrt(2.5) / std::sqrt(5.0), 1e-5);
  EXPECT_NEAR(d.low, 1.0368, 1e-4);
  EXPECT_NEAR(d.high, 4.9632, 1e-4);
  EXPECT_EQ(d.a_lower, 0);
  EXPECT_EQ(d.b_lower, 5);
  EXPECT_FALSE(d.includes_zero());
  // Differences that straddle zero: (−1, 1, −1, 1) has mean 0 and an interval around it.
  const PairedDifference e = paired_difference({0, 2, 0, 2}, {1, 1, 1, 1});
  EXPECT_TRUE(e.includes_zero());
  EXPECT_EQ(e.a_lower, 2);
  EXPECT_EQ(e.b_lower, 2);
  EXPECT_TRUE(testing::throws_invalid([] { paired_difference({1, 2}, {1}); }, {"paired_difference", "2 and 1"}));
}

}  // namespace
}  // namespace vqvae
