// What a training run produces (training/fit.h): the metrics of each evaluation, the final
// summary against the Gaussian bound D(R), and how the run ended. Plain values, so that the study
// can write them (study/run.h) and read them back bit for bit.
//
// Symbols: N samples, d ambient, k latent, n codebook size.
#pragma once

#include <vqvae/core/choices.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
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
  /// The same codebook on the held-out set (TrainingRunOptions::held_out, training/fit.h; 0 without one): the
  /// source, not the sample the codebook was fitted to.
  double test_distortion = 0;         ///< mean over held-out samples of ‖z − z_q_hard‖²
  double test_perplexity = 0;
  int64_t test_dead_codes = 0;        ///< usage < 1e-4 on the held-out set
  int64_t test_codes_used = 0;
};

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

/// First evaluated step whose distortion is within `fraction` of the final one
/// (D <= (1 + fraction) · D_final); 0 for an empty history.
int64_t steps_to_within(const std::vector<EvalRecord>& history, double fraction);

}  // namespace vqvae
