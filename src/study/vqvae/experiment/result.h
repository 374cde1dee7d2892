// The R(D)-initialisation study's results (docs/study.md): the options of a study, each init's
// runs over seeds, the references (each untrained initial codebook, k-means, the Gaussian bound
// D(R), R = log2(n)), and the inits compared by paired differences over seeds. What
// run_experiment (experiment.h) and a rate sweep (sweep_report.h) produce, one per rate.
#pragma once

#include <vqvae/evaluation/metrics.h>
#include <vqvae/initialization/init_kind.h>
#include <vqvae/math/statistics.h>
#include <vqvae/study/run.h>
#include <vqvae/study/run_config.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace vqvae {

/// The five initialisations of RunConfig::init, in kInitNames's order.
std::vector<InitKind> all_inits();

/// Called after each training run (progress reporting).
using RunCallback = std::function<void(InitKind init, uint64_t seed, const RunSummary& summary)>;

struct ExperimentOptions {
  /// Initialisations to compare.
  std::vector<InitKind> inits = all_inits();
  /// Runs per initialisation: seeds config.seed, config.seed + 1, ... The dataset is always
  /// drawn with config.seed (the same data for every run); seed s draws the codebook (as
  /// RunConfig::seed = s) and the batch order / revival draws (TrainingRunOptions default).
  int64_t seeds = 5;
  /// Epochs, steps, evaluation interval and revival of every run (its shuffle_seed is ignored).
  TrainingRunOptions training;
  /// k-means reference: Lloyd iterations and restarts per seed, on the whole dataset's latents.
  int64_t kmeans_max_iter = 100;
  int64_t kmeans_n_init = 1;
  RunCallback on_run = nullptr;
};

/// mean and unbiased standard deviation (0 for a single value).
struct MeanStd {
  double mean = 0;
  double std = 0;
};
MeanStd mean_std(const std::vector<double>& values);
/// "mean ± std" with 3 decimals, as the study's tables print a column over seeds.
std::string format_mean_std(const std::vector<double>& values);

/// The runs of one initialisation, in seed order.
struct InitStudy {
  InitKind init = InitKind::uniform;
  /// What ran instead of the configuration ("kmeans init from 4096 latents instead of ..."), or
  /// with no runs, why none ran ("skipped: ..."); "" normally.
  std::string note;
  std::vector<uint64_t> seeds;              ///< of the runs, ascending
  std::vector<TrainingRunResult> runs;
  std::vector<double> initial_distortion;   ///< the untrained codebook, per seed (training set)
  std::vector<double> initial_test_distortion;  ///< the untrained codebook on the held-out set
  std::vector<double> final_distortion;     ///< per seed, on the training set
  std::vector<double> test_distortion;      ///< per seed, on the held-out set (the headline)
  std::vector<double> test_distortion_se;   ///< its standard error, per seed
  std::vector<double> test_dead_codes;      ///< at the end, on the held-out set
  std::vector<double> test_perplexity;
  std::vector<double> dead_codes;           ///< at the end (training set)
  std::vector<double> steps_to_within_10_percent;
  std::vector<double> revived;
  std::vector<double> steps;                ///< evaluated steps (the same for every seed)
  std::vector<double> mean_distortion;      ///< distortion at those steps, mean over seeds
  std::vector<double> mean_test_distortion; ///< held-out distortion at those steps, mean over seeds
};

/// Two inits compared over the seeds they share (seed s: the same data and held-out set for both):
/// the paired differences of their held-out distortion in dB, 10 log10(D_a,s / D_b,s).
struct InitComparison {
  InitKind a = InitKind::uniform, b = InitKind::uniform;
  PairedDifference db;  ///< mean, 95 % Student's t interval, and the seeds where each is lower
};

struct ExperimentResult {
  RunConfig config;
  std::vector<uint64_t> seeds;
  int64_t total_steps = 0;
  int64_t eval_every = 0;
  bool revive_dead_codes = false;
  int64_t revival_window = 0;
  int64_t kmeans_max_iter = 0, kmeans_n_init = 0;
  LatentBound bound;                        ///< of the latents of the initial model (config.seed)
  std::vector<InitStudy> inits;
  std::vector<double> kmeans_distortion;    ///< per seed (empty when the study stopped early)
  std::vector<double> kmeans_test_distortion;  ///< the same centres on the held-out set
  std::vector<double> kmeans_dead_codes;
  /// Why the k-means reference was not computed although the study finished ("" when it was):
  /// with more codewords than samples it has no sample for every codeword.
  std::string kmeans_skipped;
  /// completed; interrupted (SIGINT / SIGTERM: the finished runs, no k-means reference);
  /// diverged (the finished runs before the run that diverged).
  RunStatus status = RunStatus::completed;
  int64_t finished_runs = 0;
  std::string stop_reason;                  ///< diverged: TrainingDiverged's message and the run
  /// The sweep grid the runs belong to, as JSON (sweep_grid.h; its identity is json_identity).
  std::string grid_json;
};

/// Thrown by run_experiment when a run diverges (TrainingDiverged): what() is one line,
/// "run rd_gaussian seed 43: training diverged at step 3: ..."; partial() holds the runs that
/// finished before it (status diverged, no k-means reference).
class ExperimentDiverged : public std::runtime_error {
 public:
  ExperimentDiverged(const std::string& message, std::shared_ptr<const ExperimentResult> partial)
      : std::runtime_error(message), partial_(std::move(partial)) {}
  const ExperimentResult& partial() const { return *partial_; }

 private:
  std::shared_ptr<const ExperimentResult> partial_;
};

/// Every pair of inits with runs, a before b in the table's order; best_init (lowest mean held-out
/// distortion) and runner_up name the two the table marks (runner_up null with fewer than two).
std::vector<InitComparison> compare_inits(const ExperimentResult& result);
const InitStudy* best_init(const ExperimentResult& result);
const InitStudy* runner_up(const ExperimentResult& result);

/// The paired comparisons as the table prints them: the best init, each other one's difference
/// from it with its interval and wins, and the runner-up's verdict; each line starts with `indent`.
std::string format_comparisons(const ExperimentResult& result, const std::string& indent);

/// The held-out set's standard error of one run's D, averaged over the runs of the study (what
/// the table states as the sampling error of its test column).
double mean_test_standard_error(const ExperimentResult& result);
/// The runs whose held-out D lies below D(R) by more than 2 standard errors ("" when none): the
/// bound holds for any code on the source, so such a run means something is wrong.
std::string below_bound(const ExperimentResult& result);

}  // namespace vqvae
