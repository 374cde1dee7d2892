// `vqvae train` and `vqvae experiment` as a library: src/study/vqvae/study/run.h and
// src/study/vqvae/experiment/experiment.h. D(R) against closed forms, a 1-D source end to end, training lowers
// distortion, identical histories for the same seed, dead-code revival on a codebook built to
// have dead codes, and the HDF5 files. Small sizes throughout: the whole file runs in seconds.
#include "test_support.h"

#include <vqvae/tensor/checks.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/math/rate_distortion.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/vq.h>
#include <vqvae/experiment/experiment.h>
#include <vqvae/study/factory.h>
#include <vqvae/study/run.h>
#include <vqvae/study/run_config.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace vqvae {
namespace {

using testing::throws_invalid;

RunConfig small_config() {
  RunConfig c;
  c.d = 8;
  c.k = 2;
  c.n = 400;
  c.codebook_size = 16;
  c.init_samples = 100;
  c.batch_size = 40;  // 10 steps per epoch
  c.init = InitKind::uniform;
  return c;
}

// Four points (±a, ±b): mean 0, unbiased variances 4a²/3 and 4b²/3, no covariance. a = √3 and
// b = √3/2 give eigenvalues (4, 1).
torch::Tensor four_points(double a, double b) {
  return torch::tensor({{a, b}, {a, -b}, {-a, b}, {-a, -b}}, torch::kDouble);
}

// Isotropic: D(R) = k σ² 2^(−2R/k). k = 2, σ² = 4, n = 4 codewords (R = 2 bits): 2·4·2^(−2) = 2.
TEST(LatentDistortionRate, IsotropicClosedForm) {
  const LatentBound bound = latent_distortion_rate(four_points(std::sqrt(3.0), std::sqrt(3.0)), 4);
  ASSERT_EQ(bound.eigenvalues.size(), 2u);
  EXPECT_NEAR(bound.eigenvalues[0], 4.0, 1e-12);
  EXPECT_NEAR(bound.eigenvalues[1], 4.0, 1e-12);
  EXPECT_NEAR(bound.latent_variance, 8.0, 1e-12);
  EXPECT_DOUBLE_EQ(bound.rate_bits, 2.0);
  EXPECT_NEAR(bound.distortion_rate, 2.0, 1e-12);
  // Eight equal components at 8 bits: 8 · 1 · 2^(−2) = 2.
  EXPECT_NEAR(gaussian_distortion_rate(std::vector<double>(8, 1.0), 8.0), 2.0, 1e-12);
}

// Eigenvalues (4, 1), R = 2 bits: both active, θ = sqrt(4·1)·2^(−2R/2) = 0.5, D = 2θ = 1.
// At R = 0.5 bit: θ = 4·2^(−1) = 2 > 1, so the second component is below the water level, gets
// zero rate (½ log2(4/2) = 0.5 = R all goes to the first) and contributes its whole variance:
// D = 2 + 1 = 3.
TEST(LatentDistortionRate, ComponentBelowTheWaterLevelGetsZeroRate) {
  const LatentBound bound = latent_distortion_rate(four_points(std::sqrt(3.0), std::sqrt(3.0) / 2), 4);
  EXPECT_NEAR(bound.eigenvalues[0], 4.0, 1e-12);
  EXPECT_NEAR(bound.eigenvalues[1], 1.0, 1e-12);
  EXPECT_NEAR(bound.distortion_rate, 1.0, 1e-12);
  EXPECT_NEAR(reverse_water_level({4.0, 1.0}, 0.5), 2.0, 1e-12);
  EXPECT_NEAR(gaussian_distortion_rate({4.0, 1.0}, 0.5), 3.0, 1e-12);
}

TEST(LatentDistortionRate, GapInDecibels) {
  EXPECT_NEAR(gap_db(20.0, 10.0), 10.0 * std::log10(2.0), 1e-12);
  EXPECT_DOUBLE_EQ(gap_db(10.0, 10.0), 0.0);
  EXPECT_TRUE(std::isinf(gap_db(1.0, 0.0)));
}

TEST(StepsToWithin, FirstEvaluationWithinTenPercentOfTheFinalDistortion) {
  std::vector<EvalRecord> history(4);
  const double distortion[] = {10.0, 5.0, 2.1, 2.0};  // 2.1 <= 1.1 · 2.0 = 2.2
  for (int i = 0; i < 4; ++i) {
    history[i].step = 10 * i;
    history[i].distortion = distortion[i];
  }
  EXPECT_EQ(steps_to_within(history, 0.1), 20);
  EXPECT_EQ(steps_to_within(history, 0.0), 30);
}

// d = k = 1: a scalar Gaussian source, 4 codewords (R = 2 bits): D(R) = σ² 2^(−4) = σ²/16.
TEST(RunTraining, OneDimensionalSourceEndToEnd) {
  RunConfig c = small_config();
  c.d = 1;
  c.k = 1;
  c.n = 200;
  c.codebook_size = 4;
  c.init = InitKind::rd_waterfill;
  const GaussianDataset data = make_dataset(c);
  const TrainingRunResult r = run_training(c, data, TrainingRunOptions().epochs(5));
  const RunSummary& s = r.summary;
  ASSERT_EQ(s.eigenvalues.size(), 1u);
  EXPECT_NEAR(s.latent_variance, data.z_true.to(torch::kDouble).var().item<double>(), 1e-9);
  EXPECT_NEAR(s.distortion_rate_bound, s.latent_variance / 16.0, 1e-12);
  EXPECT_GT(s.distortion, s.distortion_rate_bound);  // no 4-level quantizer beats the bound
  EXPECT_LT(s.distortion, s.latent_variance);        // better than the mean alone
  EXPECT_TRUE(std::isfinite(s.gap_db));
  EXPECT_EQ(s.steps, 5 * 5);  // 200 / 40 = 5 steps per epoch
}

TEST(RunTraining, LowersDistortionAndRecordsEveryEvaluation) {
  const RunConfig c = small_config();
  const GaussianDataset data = make_dataset(c);
  const TrainingRunResult r = run_training(c, data, TrainingRunOptions().epochs(6).eval_every(20));
  // Steps 0, 20, 40, 60: 60 steps in all (6 epochs of 10).
  ASSERT_EQ(r.history.size(), 4u);
  EXPECT_EQ(r.history.front().step, 0);
  EXPECT_EQ(r.history.back().step, 60);
  EXPECT_LT(r.history.back().distortion, 0.5 * r.history.front().distortion);
  for (const EvalRecord& e : r.history) {
    EXPECT_NEAR(e.quantization_error, e.distortion / c.k, 1e-5 * e.distortion);
    EXPECT_NEAR(e.rate_bits, std::log2(e.perplexity), 1e-9);
    EXPECT_EQ(e.codes_used + e.dead_codes, c.codebook_size);  // usage < 1e-4 < 1/400 means unused
  }
  EXPECT_DOUBLE_EQ(r.summary.distortion, r.history.back().distortion);
  EXPECT_NEAR(r.summary.distortion_over_variance, r.summary.distortion / r.summary.latent_variance, 1e-12);
}

TEST(RunTraining, SameSeedGivesIdenticalHistory) {
  const RunConfig c = small_config();
  const GaussianDataset data = make_dataset(c);
  const auto options = TrainingRunOptions().epochs(3).eval_every(5).revive_dead_codes(true);
  const auto a = history_columns(run_training(c, data, options).history);
  const auto b = history_columns(run_training(c, data, options).history);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].second, b[i].second) << a[i].first;
  const auto other = history_columns(run_training(c, data, TrainingRunOptions(options).shuffle_seed(7)).history);
  EXPECT_NE(a[6].second, other[6].second);  // distortion: another batch order, another path
}

// Half the codewords sit on data latents, half 1000 away from everything: the far half is never
// nearest, so it never moves and stays dead; revival re-seeds it from batch latents.
TEST(RunTraining, RevivalReseedsDeadCodes) {
  const RunConfig c = small_config();
  const GaussianDataset data = make_dataset(c);
  const int64_t n = c.codebook_size;
  const auto build = [&] {
    torch::Tensor codebook = torch::cat({data.z_true.slice(0, 0, n / 2),
                                         torch::full({n / 2, c.k}, 1000.0)});
    return VQVAE(PCAEncoder(data.U_k), VectorQuantizer(QuantizerOptions(c.k, n).init_codebook(codebook)),
                 PCADecoder(data.U_k));
  };
  const TrainingRunResult plain = run_training(build(), data.X, c, TrainingRunOptions().epochs(3));
  EXPECT_EQ(plain.history.front().dead_codes, n / 2);
  EXPECT_EQ(plain.summary.dead_codes, n / 2);
  EXPECT_EQ(plain.summary.revived, 0);

  const TrainingRunResult revived =
      run_training(build(), data.X, c, TrainingRunOptions().epochs(3).revive_dead_codes(true).revival_window(5));
  EXPECT_GE(revived.summary.revived, n / 2);
  EXPECT_LT(revived.summary.dead_codes, n / 4);
  EXPECT_LT(revived.codebook.abs().max().item<double>(), 100.0);  // none left far away
  EXPECT_LT(revived.summary.distortion, plain.summary.distortion);
}

TEST(RunTraining, InvalidOptionsNameTheFlag) {
  const RunConfig c = small_config();
  const GaussianDataset data = make_dataset(c);
  EXPECT_TRUE(throws_invalid([&] { run_training(c, data, TrainingRunOptions().epochs(0)); }, {"epochs", "got 0"}));
  EXPECT_TRUE(throws_invalid([&] { run_training(c, data, TrainingRunOptions().steps(-1)); }, {"steps", "got -1"}));
}

std::string temporary_path(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "_" + std::to_string(getpid()) + ".h5";
}

TEST(RunTraining, Hdf5HoldsHistorySummaryAndConfiguration) {
  const RunConfig c = small_config();
  const GaussianDataset data = make_dataset(c);
  const TrainingRunOptions options = TrainingRunOptions().epochs(2);
  const TrainingRunResult r = run_training(c, data, options);
  const std::string path = temporary_path("train_run");
  write_training_hdf5(path, r, c, options, "vqvae train --test");
  {
    Hdf5Reader file(path);
    const torch::Tensor distortion = file.read_tensor("history/distortion");
    ASSERT_EQ(distortion.numel(), static_cast<int64_t>(r.history.size()));
    EXPECT_EQ(distortion[-1].item<double>(), r.summary.distortion);
    EXPECT_EQ(file.read_tensor("history/step")[-1].item<double>(), 20.0);
    EXPECT_EQ(file.list("history").size(), history_columns(r.history).size());
    EXPECT_EQ(file.read_double_attribute("summary", "distortion_rate_bound"), r.summary.distortion_rate_bound);
    EXPECT_EQ(file.read_int_attribute("/", "codebook_size"), 16);
    EXPECT_EQ(file.read_string_attribute("/", "init"), "uniform");
    EXPECT_NE(file.read_string_attribute("/", "config").find("\"batch_size\": 40"), std::string::npos);
    EXPECT_EQ(file.read_string_attribute("/", "command"), "vqvae train --test");
    EXPECT_FALSE(file.read_string_attribute("/", "torch_version").empty());
  }
  std::remove(path.c_str());
}

TEST(Experiment, TinyStudyIsCompleteAndReproducible) {
  RunConfig c = small_config();
  c.codebook_size = 8;
  ExperimentOptions options;
  options.inits = {InitKind::uniform, InitKind::kmeans, InitKind::rd_waterfill};
  options.seeds = 2;
  options.training.steps(20).eval_every(10);
  options.kmeans_max_iter = 20;
  const ExperimentResult a = run_experiment(c, options);
  ASSERT_EQ(a.inits.size(), 3u);
  EXPECT_EQ(a.seeds, (std::vector<uint64_t>{42, 43}));
  for (const InitStudy& s : a.inits) {
    EXPECT_EQ(s.runs.size(), 2u);
    EXPECT_EQ(s.steps, (std::vector<double>{0, 10, 20}));
    EXPECT_DOUBLE_EQ(s.mean_distortion.back(), (s.final_distortion[0] + s.final_distortion[1]) / 2);
    // The held-out numbers beside the training ones, each run's from its own summary.
    ASSERT_EQ(s.test_distortion.size(), 2u);
    EXPECT_EQ(s.test_distortion[1], s.runs[1].summary.test_distortion);
    EXPECT_DOUBLE_EQ(s.mean_test_distortion.back(), (s.test_distortion[0] + s.test_distortion[1]) / 2);
    EXPECT_NE(s.test_distortion[0], s.final_distortion[0]);
  }
  // Seed 42's run is `vqvae train --seed 42`: the same numbers.
  RunConfig first = c;
  first.init = InitKind::kmeans;
  const TrainingRunResult alone =
      run_training(first, make_dataset(c), TrainingRunOptions().steps(20).eval_every(10));
  EXPECT_EQ(alone.summary.distortion, a.inits[1].final_distortion[0]);
  ASSERT_EQ(a.kmeans_distortion.size(), 2u);
  EXPECT_LT(mean_std(a.kmeans_distortion).mean, mean_std(a.inits[0].initial_distortion).mean);
  EXPECT_GT(mean_std(a.kmeans_distortion).mean, a.bound.distortion_rate);

  const std::string table = format_experiment_table(a);
  for (const char* row : {"uniform", "kmeans", "rd_waterfill", "k-means (Lloyd, k-means++)",
                          "rd_waterfill, initial codebook", "D(R) bound", "D test", "D train", "(best)",
                          "paired over 2 seeds", "held-out set: 10000 samples"})
    EXPECT_NE(table.find(row), std::string::npos) << row << "\n" << table;

  const ExperimentResult b = run_experiment(c, options);
  for (size_t i = 0; i < a.inits.size(); ++i) {
    EXPECT_EQ(a.inits[i].final_distortion, b.inits[i].final_distortion);
    EXPECT_EQ(a.inits[i].mean_distortion, b.inits[i].mean_distortion);
  }
  EXPECT_EQ(a.kmeans_distortion, b.kmeans_distortion);

  const std::string path = temporary_path("experiment");
  write_experiment_hdf5(path, a, "vqvae experiment --test");
  {
    Hdf5Reader file(path);
    EXPECT_EQ(file.read_tensor("runs/kmeans/seed_43/history/distortion")[-1].item<double>(),
              a.inits[1].final_distortion[1]);
    EXPECT_EQ(file.read_tensor("kmeans/distortion").numel(), 2);
    EXPECT_EQ(file.read_double_attribute("/", "distortion_rate_bound"), a.bound.distortion_rate);
    EXPECT_EQ(file.read_string_attribute("/", "inits"), "uniform,kmeans,rd_waterfill");
    EXPECT_EQ(file.read_int_attribute("/", "codebook_size"), 8);
    EXPECT_EQ(file.read_tensor("runs/kmeans/test_distortion").numel(), 2);
    EXPECT_EQ(file.read_double_attribute("runs/kmeans/seed_43/summary", "test_distortion"), a.inits[1].test_distortion[1]);
    EXPECT_EQ(file.read_int_attribute("paired/uniform_minus_kmeans", "pairs"), 2);
  }
  std::remove(path.c_str());
}

TEST(Experiment, InvalidOptionsNameTheFlag) {
  ExperimentOptions options;
  options.seeds = 0;
  EXPECT_TRUE(throws_invalid([&] { run_experiment(small_config(), options); }, {"seeds", "got 0"}));
  options.seeds = 1;
  options.inits = {};  // an unknown name is the reader's to refuse (cli.bad_input.experiment_unknown_init)
  EXPECT_TRUE(throws_invalid([&] { run_experiment(small_config(), options); }, {"inits", "got none"}));
}

}  // namespace
}  // namespace vqvae
