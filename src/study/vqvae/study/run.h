// A whole training run (`vqvae train`): epochs or steps over the dataset in seeded random
// order, periodic evaluation on the whole training set (every metric of docs/design.md) and on a
// held-out set of the same source, optional dead-code revival, and a final summary against the
// Gaussian distortion-rate bound D(R).
//
// Symbols: N samples, d ambient, k latent, n codebook size, B batch.
#pragma once

#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/evaluation/metrics.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/study/run_config.h>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vqvae {

/// The metrics of one evaluation, on the whole dataset, with the model as it is after `step`
/// optimizer steps (step 0: the initial model).
struct EvalRecord {
  int64_t step = 0;
  double epoch = 0;                   ///< step / steps per epoch
  double loss_total = 0;              ///< vqvae_loss on the whole dataset
  double loss_recon = 0;
  double loss_codebook = 0;
  double loss_commitment = 0;
  double distortion = 0;              ///< mean over samples of ‖z − z_q_hard‖², summed over k
  double quantization_error = 0;      ///< mean over elements of (z − z_q)² = distortion / k
  double perplexity = 0;              ///< exp(entropy of the usage)
  double entropy = 0;                 ///< nats
  double rate_bits = 0;               ///< entropy in bits: the rate the code actually uses
  int64_t dead_codes = 0;             ///< usage < 1e-4
  int64_t codes_used = 0;             ///< codewords with at least one sample
  double min_usage = 0, max_usage = 0, std_usage = 0;
  double codebook_mean_norm = 0, codebook_std_norm = 0, codebook_mean_pairwise_distance = 0;
  int64_t revived = 0;                ///< codewords re-seeded so far (cumulative)
  /// The same codebook on the held-out set (TrainingRunOptions::held_out; 0 without one): the
  /// source, not the sample the codebook was fitted to.
  double test_distortion = 0;         ///< mean over held-out samples of ‖z − z_q_hard‖²
  double test_perplexity = 0;
  int64_t test_dead_codes = 0;        ///< usage < 1e-4 on the held-out set
  int64_t test_codes_used = 0;
};

class Hdf5Writer;
class Hdf5Reader;

/// The one list of EvalRecord's fields: visit(name, member) for each, `member` a pointer to an
/// int64_t or double member, in the order of HDF5 datasets and CSV columns.
template <typename Visitor>
void for_each_history_field(Visitor&& visit) {
  visit("step", &EvalRecord::step);
  visit("epoch", &EvalRecord::epoch);
  visit("loss_total", &EvalRecord::loss_total);
  visit("loss_recon", &EvalRecord::loss_recon);
  visit("loss_codebook", &EvalRecord::loss_codebook);
  visit("loss_commitment", &EvalRecord::loss_commitment);
  visit("distortion", &EvalRecord::distortion);
  visit("quantization_error", &EvalRecord::quantization_error);
  visit("perplexity", &EvalRecord::perplexity);
  visit("entropy", &EvalRecord::entropy);
  visit("rate_bits", &EvalRecord::rate_bits);
  visit("dead_codes", &EvalRecord::dead_codes);
  visit("codes_used", &EvalRecord::codes_used);
  visit("min_usage", &EvalRecord::min_usage);
  visit("max_usage", &EvalRecord::max_usage);
  visit("std_usage", &EvalRecord::std_usage);
  visit("codebook_mean_norm", &EvalRecord::codebook_mean_norm);
  visit("codebook_std_norm", &EvalRecord::codebook_std_norm);
  visit("codebook_mean_pairwise_distance", &EvalRecord::codebook_mean_pairwise_distance);
  visit("revived", &EvalRecord::revived);
  visit("test_distortion", &EvalRecord::test_distortion);
  visit("test_perplexity", &EvalRecord::test_perplexity);
  visit("test_dead_codes", &EvalRecord::test_dead_codes);
  visit("test_codes_used", &EvalRecord::test_codes_used);
}

/// The history as named columns, in for_each_history_field's order (HDF5 datasets, CSV
/// columns); integers as exact doubles.
std::vector<std::pair<std::string, std::vector<double>>> history_columns(
    const std::vector<EvalRecord>& history);

/// The final numbers of a run (what `vqvae train` prints and `--json` reports). The test_* numbers
/// are the held-out set's (the headline: the source's distortion); the others the training set's.
struct RunSummary {
  double test_distortion = 0;         ///< final D on the held-out set (0 without one)
  double test_distortion_se = 0;      ///< its standard error: std of ‖z − z_q_hard‖² / √n_test
  double test_gap_db = 0;             ///< 10 log10(test D / D(R))
  double test_perplexity = 0;
  int64_t test_dead_codes = 0;
  double distortion = 0;              ///< final D on the training set, mean ‖z − z_q_hard‖² summed over k
  double latent_variance = 0;         ///< Σ eigenvalues of the covariance of z
  double distortion_over_variance = 0;
  double rate_bits = 0;               ///< log2(n)
  double distortion_rate_bound = 0;   ///< D(R)
  double gap_db = 0;                  ///< 10 log10(D / D(R)) of the training D
  double perplexity = 0;
  int64_t dead_codes = 0;
  int64_t codes_used = 0;
  int64_t revived = 0;
  int64_t steps = 0;                  ///< optimizer steps taken
  int64_t steps_to_within_10_percent = 0;  ///< first evaluated step with D <= 1.1 · final D
  std::vector<double> eigenvalues;    ///< of the latent covariance, descending
};

/// The one list of RunSummary's scalar fields (eigenvalues aside): visit(name, member), `member`
/// a pointer to an int64_t or double member, in the order of summary_to_json.
template <typename Visitor>
void for_each_summary_field(Visitor&& visit) {
  visit("test_distortion", &RunSummary::test_distortion);
  visit("test_distortion_se", &RunSummary::test_distortion_se);
  visit("test_gap_db", &RunSummary::test_gap_db);
  visit("test_perplexity", &RunSummary::test_perplexity);
  visit("test_dead_codes", &RunSummary::test_dead_codes);
  visit("distortion", &RunSummary::distortion);
  visit("latent_variance", &RunSummary::latent_variance);
  visit("distortion_over_variance", &RunSummary::distortion_over_variance);
  visit("rate_bits", &RunSummary::rate_bits);
  visit("distortion_rate_bound", &RunSummary::distortion_rate_bound);
  visit("gap_db", &RunSummary::gap_db);
  visit("perplexity", &RunSummary::perplexity);
  visit("dead_codes", &RunSummary::dead_codes);
  visit("codes_used", &RunSummary::codes_used);
  visit("revived", &RunSummary::revived);
  visit("steps", &RunSummary::steps);
  visit("steps_to_within_10_percent", &RunSummary::steps_to_within_10_percent);
}

/// Called after every optimizer step (step counts from 1) with that batch's losses.
using StepCallback = std::function<void(int64_t step, int64_t total_steps, double total,
                                        double recon, double codebook, double commitment)>;
/// Called after every evaluation.
using EvalCallback = std::function<void(const EvalRecord& record, int64_t total_steps)>;

struct TrainingRunOptions {
  /// Passes over the dataset (ignored when steps > 0).
  TORCH_ARG(int64_t, epochs) = 20;
  /// Total optimizer steps; 0: epochs · ceil(N / batch_size).
  TORCH_ARG(int64_t, steps) = 0;
  /// Evaluate every this many steps (and at step 0 and the last step); 0: once per epoch.
  TORCH_ARG(int64_t, eval_every) = 0;
  /// Re-seed dead codewords (vector-quantize-pytorch's threshold_ema_dead_code approach): after
  /// each step, every codeword assigned no sample of the last `revival_window` steps (counted
  /// since it was last used or revived) is replaced by a latent of the current batch drawn at
  /// random (with replacement, seeded). Off by default.
  TORCH_ARG(bool, revive_dead_codes) = false;
  /// The revival window W in steps; 0: one epoch, ceil(N / batch_size) steps.
  TORCH_ARG(int64_t, revival_window) = 0;
  /// Seed of the batch order and of the revival draws; none: derived from config.seed.
  TORCH_ARG(std::optional<uint64_t>, shuffle_seed) = std::nullopt;
  TORCH_ARG(StepCallback, on_step) = nullptr;
  TORCH_ARG(EvalCallback, on_eval) = nullptr;
  /// Held-out samples (N_test, d) from the same source, never trained or initialised on: every
  /// evaluation also reports the codebook's distortion, usage and perplexity on them (the test_*
  /// fields). Undefined: none (the test_* fields stay 0). run_training(config, dataset, ...)
  /// draws config.n_test of them when none is given.
  TORCH_ARG(at::Tensor, held_out) = {};
};

/// How a run ended: every step taken; stopped because a loss term, the latents or a parameter
/// became NaN/Inf; stopped early by SIGINT / SIGTERM (core/interrupt.h).
enum class RunStatus { completed, diverged, interrupted };
inline constexpr ChoiceTable<RunStatus, 3> kRunStatusNames{{{RunStatus::completed, "completed"},
                                                            {RunStatus::diverged, "diverged"},
                                                            {RunStatus::interrupted, "interrupted"}}};
inline const char* to_string(RunStatus status) { return choice_name(kRunStatusNames, status); }

struct TrainingRunResult {
  std::vector<EvalRecord> history;  ///< step 0, every eval_every steps, and the last step
  RunSummary summary;
  at::Tensor initial_codebook;      ///< (n, k)
  at::Tensor codebook;              ///< (n, k) after training (diverged: as it was then)
  RunStatus status = RunStatus::completed;
  int64_t last_step = 0;            ///< the last step completed with finite values
  int64_t diverged_at_step = 0;     ///< diverged: the step where it happened; else 0
  std::string stop_reason;          ///< diverged: what became non-finite (one line); else ""
};

/// Thrown by run_training when, after a step, a loss term, the latents or a trained parameter
/// holds NaN or Inf: training stops at that step. what() is one line, e.g. "training diverged at
/// step 3: codebook has 2048 NaN/Inf of 2048 values after the update (adam, lr 1e+30)";
/// partial() is the run up to there (status diverged, the history's evaluations before that
/// step, last_step = step − 1, the summary of the last evaluation without the D(R) bound).
class TrainingDiverged : public std::runtime_error {
 public:
  TrainingDiverged(const std::string& message, std::shared_ptr<const TrainingRunResult> partial)
      : std::runtime_error(message), partial_(std::move(partial)) {}
  int64_t step() const { return partial_->diverged_at_step; }
  const TrainingRunResult& partial() const { return *partial_; }

 private:
  std::shared_ptr<const TrainingRunResult> partial_;
};

/// Whole-dataset evaluation of `model` on x (N, d): losses (with `beta`), distortion, usage and
/// codebook geometry. No gradient, no change to the model.
EvalRecord evaluate_model(VQVAE& model, const at::Tensor& x, double beta);

/// The codebook on held-out samples x_test (N_test, d): distortion and its standard error, usage.
struct HeldOutEvaluation {
  double distortion = 0;     ///< mean over samples of ‖z − z_q_hard‖²
  double distortion_se = 0;  ///< std of the per-sample ‖z − z_q_hard‖² / √N_test
  double perplexity = 0;
  int64_t dead_codes = 0;
  int64_t codes_used = 0;
};
HeldOutEvaluation evaluate_held_out(VQVAE& model, const at::Tensor& x_test);

/// Writes a run under `group` of `file` ("/" or "runs/kmeans/seed_43"): history/<field> (every
/// for_each_history_field column), summary (every for_each_summary_field as an attribute, and the
/// eigenvalues), initial_codebook, codebook, and the attributes status and last_step. The one
/// layout of a run in every file the study writes; read_run_group reads it back bit for bit.
void write_run_group(Hdf5Writer& file, const std::string& group, const TrainingRunResult& run);
TrainingRunResult read_run_group(const Hdf5Reader& file, const std::string& group);

/// Trains `model` on x (N, d) with config's optimizer, lr, batch_size and beta: each epoch visits
/// every sample once in an order drawn with the shuffle seed (the last batch of an epoch may be
/// smaller). Same model, data, options and threads -> identical history.
/// Throws InvalidArgument for epochs < 1 (when steps is 0), steps < 0, eval_every < 0,
/// revival_window < 0, or x not (N, d) with N >= 2.
/// After every step the four loss values and every trained parameter are checked for NaN/Inf
/// (a pass over the parameters' raw values, about 1 % of the default step): a non-finite one
/// throws TrainingDiverged. After every step it also asks core/interrupt.h's stop_requested():
/// when SIGINT / SIGTERM has arrived it evaluates at that step and returns the run so far
/// (status interrupted, summary.steps = last_step = the steps taken).
TrainingRunResult run_training(VQVAE model, const at::Tensor& x, const RunConfig& config,
                               const TrainingRunOptions& options = {});

/// build_model(config, dataset), then run_training on dataset.X.
TrainingRunResult run_training(const RunConfig& config, const GaussianDataset& dataset,
                               const TrainingRunOptions& options = {});

/// The schedule run_training resolves from its options for `samples` rows: steps per epoch
/// ceil(samples / min(batch_size, samples)), total steps (options.steps, else epochs × steps per
/// epoch), evaluation interval and revival window (each, when 0, one epoch of steps).
struct RunSchedule {
  int64_t steps_per_epoch = 0, total_steps = 0, eval_every = 0, revival_window = 0;
};
RunSchedule run_schedule(int64_t samples, int64_t batch_size, const TrainingRunOptions& options);

/// First evaluated step whose distortion is within `fraction` of the final one
/// (D <= (1 + fraction) · D_final); 0 for an empty history.
int64_t steps_to_within(const std::vector<EvalRecord>& history, double fraction);

/// The summary as one JSON object (keys distortion, latent_variance, distortion_rate_bound,
/// gap_db, perplexity, dead_codes, codes_used, and the others of RunSummary).
std::string summary_to_json(const RunSummary& summary);

/// Writes /history/<column> (float64, one entry per evaluation), /summary attributes,
/// /eigenvalues, /initial_codebook, /codebook and the configuration (JSON and one attribute per
/// key), versions and `command` as attributes of "/", with `status` ("completed", "diverged",
/// "interrupted") and `last_step`, and for a diverged run `diverged_at_step` and
/// `diverged_reason`. Atomic (Hdf5Writer).
void write_training_hdf5(const std::string& path, const TrainingRunResult& result,
                         const RunConfig& config, const TrainingRunOptions& options,
                         const std::string& command);

/// The history as CSV (header = history_columns names), written atomically.
void write_history_csv(const std::string& path, const std::vector<EvalRecord>& history);

}  // namespace vqvae
