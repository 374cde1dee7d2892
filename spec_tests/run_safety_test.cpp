// Runs that cannot succeed (docs/study.md), as a library: the memory estimate and its refusal
// (src/study/vqvae/preflight/memory_estimate.h), divergence (TrainingDiverged with the partial run), a
// stop request ending a run or an experiment after the current step (core/interrupt.h), and the
// second signal removing the atomic writers' temporaries before _exit. The program's side is in
// cli/cases.sh (cli.run_safety.*).
#include "test_support.h"

#include <vqvae/core/errors.h>
#include <vqvae/core/format.h>
#include <vqvae/core/interrupt.h>
#include <vqvae/evaluation/metrics.h>
#include <vqvae/io/atomic_file.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/experiment/experiment.h>
#include <vqvae/study/factory.h>
#include <vqvae/preflight/memory_estimate.h>
#include <vqvae/study/run.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace vqvae {
namespace {

RunConfig small_config() {
  RunConfig c;
  c.n = 500;
  c.codebook_size = 16;
  c.init_samples = 100;
  return c;
}

TEST(FormatBytes, BinaryUnitsThreeDigits) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(-5), "0 B");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(14.9 * 1024 * 1024 * 1024), "14.9 GiB");
  EXPECT_EQ(format_bytes(715.0 * 1024 * 1024 * 1024), "715 GiB");
}

TEST(MemoryEstimate, GrowsWithTheParameterThatDrivesIt) {
  RunConfig c;
  const TrainingRunOptions options;
  const MemoryEstimate base = estimate_train_memory(c, options);
  EXPECT_GE(base.total_bytes(), kProcessBytes);
  c.codebook_size = 100000000;
  const MemoryEstimate big = estimate_train_memory(c, options);
  // codebook + gradient + Adam's two moments alone: 4 · 10^8 · 8 · 4 bytes.
  EXPECT_GT(big.total_bytes(), 4 * 1e8 * 8 * 4);
  EXPECT_EQ(big.largest().driver, "codebook_size");
  EXPECT_EQ(big.largest().driver_value, 100000000);
  const MemoryEstimate data = estimate_data_memory(64, 8, 1000000000);
  EXPECT_GT(data.total_bytes(), 1e9 * 64 * 4);  // X alone
  EXPECT_EQ(data.largest().driver, "n");
  // Negative sizes (rejected later by the dataset, with its own message) estimate nothing.
  EXPECT_LT(estimate_data_memory(64, 8, -5).total_bytes(), kProcessBytes + 1e6);
}

TEST(MemoryEstimate, RefusalNamesTheParameterTheEstimateAndWhatIsAvailable) {
  RunConfig c;
  c.codebook_size = 100000000;
  const MemoryEstimate estimate = estimate_train_memory(c, TrainingRunOptions().steps(1));
  try {
    require_memory(estimate, AvailableMemory{21.3 * 1024 * 1024 * 1024, "MemAvailable"});
    FAIL() << "not refused";
  } catch (const InvalidArgument& e) {
    const std::string message = e.message([](std::string_view name) { return "--" + std::string(name); });
    EXPECT_EQ(message.rfind("--codebook_size 100000000 needs ≈ ", 0), 0u) << message;
    EXPECT_NE(message.find("GiB (evaluation of the codebook, codebook and gradient, Adam state), "),
              std::string::npos) << message;
    EXPECT_NE(message.find("21.3 GiB available (MemAvailable)"), std::string::npos) << message;
  }
  EXPECT_NO_THROW(require_memory(estimate, AvailableMemory{1e15, "test"}));
}

TEST(MemoryEstimate, AvailableMemoryHonoursTheEnvironmentOverride) {
  setenv("VQVAE_MEMORY_AVAILABLE_BYTES", "123456789", 1);
  AvailableMemory available = available_memory();
  EXPECT_EQ(available.bytes, 123456789.0);
  EXPECT_EQ(available.source, "VQVAE_MEMORY_AVAILABLE_BYTES");
  setenv("VQVAE_MEMORY_AVAILABLE_BYTES", "lots", 1);
  EXPECT_THROW(available_memory(), InvalidArgument);
  unsetenv("VQVAE_MEMORY_AVAILABLE_BYTES");
  available = available_memory();
  EXPECT_GT(available.bytes, 0);  // MemAvailable or a cgroup limit on any Linux
  EXPECT_NE(available.source, "VQVAE_MEMORY_AVAILABLE_BYTES");
}

TEST(CodebookGeometry, BlockedPairwiseDistanceMatchesPdist) {
  torch::manual_seed(3);
  const at::Tensor c = torch::randn({kPairwiseDirectMax + 100, 3});
  const CodebookGeometry blocked = codebook_geometry(c);
  const double direct = at::pdist(c.to(at::kDouble)).mean().item<double>();
  EXPECT_NEAR(blocked.mean_pairwise_distance, direct, 1e-9 * direct);
  EXPECT_LT(codebook_geometry_bytes(65536, 8), 96.0 * 1024 * 1024);  // all pairs: 16 GiB
}

TEST(Divergence, HugeLearningRateStopsAtTheStepWithThePartialRun) {
  RunConfig c = small_config();
  c.lr = 1e30;
  try {
    run_training(c, make_dataset(c), TrainingRunOptions().steps(50).eval_every(1));
    FAIL() << "did not diverge";
  } catch (const TrainingDiverged& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("training diverged at step " + std::to_string(e.step()) + ": ", 0), 0u) << what;
    EXPECT_NE(what.find("codebook has "), std::string::npos) << what;
    EXPECT_NE(what.find("(adam, lr 1e+30)"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
    const TrainingRunResult& partial = e.partial();
    EXPECT_EQ(partial.status, RunStatus::diverged);
    EXPECT_EQ(partial.last_step, e.step() - 1);
    ASSERT_FALSE(partial.history.empty());
    EXPECT_EQ(partial.history.back().step, e.step() - 1);  // evaluated every step
    for (const EvalRecord& r : partial.history) EXPECT_TRUE(std::isfinite(r.distortion));
  }
}

TEST(Divergence, ExperimentStopsWithTheFinishedRuns) {
  RunConfig c = small_config();
  c.lr = 1e30;
  ExperimentOptions options;
  options.inits = {InitKind::uniform};
  options.seeds = 2;
  options.training.steps(10);
  try {
    run_experiment(c, options);
    FAIL() << "did not diverge";
  } catch (const ExperimentDiverged& e) {
    EXPECT_EQ(std::string(e.what()).rfind("run uniform seed 42: training diverged at step ", 0), 0u) << e.what();
    EXPECT_EQ(e.partial().status, RunStatus::diverged);
    EXPECT_EQ(e.partial().finished_runs, 0);
    EXPECT_TRUE(e.partial().inits.empty());
  }
}

TEST(Divergence, FiniteRunsAreCompleted) {
  const RunConfig c = small_config();
  const TrainingRunResult run = run_training(c, make_dataset(c), TrainingRunOptions().steps(20));
  EXPECT_EQ(run.status, RunStatus::completed);
  EXPECT_EQ(run.last_step, 20);
}

TEST(Interruption, StopRequestEndsTheRunAfterTheCurrentStep) {
  const RunConfig c = small_config();
  TrainingRunOptions options;
  options.steps(100).eval_every(30).on_step([](int64_t step, int64_t, double, double, double, double) {
    if (step == 7) request_stop(SIGINT);
  });
  const TrainingRunResult run = run_training(c, make_dataset(c), options);
  clear_stop_request();
  EXPECT_EQ(run.status, RunStatus::interrupted);
  EXPECT_EQ(run.last_step, 7);
  EXPECT_EQ(run.summary.steps, 7);
  EXPECT_EQ(run.history.back().step, 7);  // evaluated where it stopped
}

TEST(Interruption, ExperimentKeepsTheFinishedRuns) {
  const RunConfig c = small_config();
  ExperimentOptions options;
  options.inits = {InitKind::uniform, InitKind::rd_gaussian};
  options.seeds = 2;
  options.training.steps(10);
  int runs = 0;
  options.on_run = [&](InitKind, uint64_t, const RunSummary&) {
    if (++runs == 3) request_stop(SIGTERM);
  };
  const ExperimentResult result = run_experiment(c, options);
  clear_stop_request();
  EXPECT_EQ(result.status, RunStatus::interrupted);
  EXPECT_EQ(result.finished_runs, 3);
  ASSERT_EQ(result.inits.size(), 2u);
  EXPECT_EQ(result.inits[1].runs.size(), 1u);
  EXPECT_TRUE(result.kmeans_distortion.empty());
  char folder[] = "/tmp/vqvae_run_safety_XXXXXX";
  ASSERT_NE(mkdtemp(folder), nullptr);
  const std::string path = std::string(folder) + "/e.h5";
  write_experiment_hdf5(path, result, "test");
  Hdf5Reader reader(path);
  EXPECT_EQ(reader.read_string_attribute("/", "status"), "interrupted");
  EXPECT_EQ(reader.read_int_attribute("/", "finished_runs"), 3);
  EXPECT_FALSE(reader.has("kmeans"));
  std::remove(path.c_str());
  rmdir(folder);
}

// The second signal: the handler removes the registered temporary and exits 128 + signal at
// once; the destination keeps its old content. Run in a child process (it ends with _exit).
TEST(Interruption, SecondSignalRemovesTheTemporaryAndExits) {
  char folder[] = "/tmp/vqvae_run_safety_XXXXXX";
  ASSERT_NE(mkdtemp(folder), nullptr);
  const std::string path = std::string(folder) + "/run.h5";
  write_file_atomically(path, "old");
  for (const int signal : {SIGINT, SIGTERM}) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      install_interrupt_handlers();
      AtomicFile file(path);
      std::ofstream(file.temporary_path()) << "half of a new file";
      raise(signal);  // the first: only recorded
      if (stop_signal() != signal) _exit(3);
      raise(signal);  // the second: unlink, _exit(128 + signal)
      _exit(4);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 128 + signal);
    std::ifstream in(path);
    std::string content;
    std::getline(in, content);
    EXPECT_EQ(content, "old");
    // Only the destination is left in the folder.
    const std::string listing = std::string("ls -A ") + folder + " | grep -v '^run.h5$' | grep -q .";
    EXPECT_NE(std::system(listing.c_str()), 0) << "a temporary was left in " << folder;
  }
  std::remove(path.c_str());
  rmdir(folder);
}

TEST(DeadByConstruction, MoreCodewordsThanSamples) {
  RunConfig c = small_config();
  EXPECT_EQ(dead_by_construction(c), 0);
  EXPECT_EQ(dead_by_construction_warning(c), "");
  c.codebook_size = 512;
  EXPECT_EQ(dead_by_construction(c), 12);
  EXPECT_EQ(spell_params(dead_by_construction_warning(c), [](std::string_view n) { return "--" + std::string(n); }),
            "--codebook_size 512 > --n 500: at least 12 codewords are dead by construction (each sample has one "
            "nearest codeword)");
}

}  // namespace
}  // namespace vqvae
