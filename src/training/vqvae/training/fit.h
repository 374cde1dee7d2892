// The training loop of a whole run (`vqvae train`, every run of `vqvae experiment`): epochs or
// steps over the dataset in seeded random order, periodic evaluation on the whole training set
// (every metric of docs/design.md) and on a held-out set of the same source, divergence checks
// after every step (training/divergence.h), optional dead-code revival
// (training/dead_code_revival.h), and a final summary against the Gaussian bound D(R).
//
// Symbols: N samples, d ambient, k latent, n codebook size, B batch.
#pragma once

#include <vqvae/models/vqvae.h>
#include <vqvae/training/divergence.h>
#include <vqvae/training/evaluate.h>
#include <vqvae/training/optimizer.h>
#include <vqvae/training/run_result.h>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <functional>
#include <optional>

namespace vqvae {

/// Called after every optimizer step (step counts from 1) with that batch's losses.
using StepCallback = std::function<void(int64_t step, int64_t total_steps, double total,
                                        double recon, double codebook, double commitment)>;
/// Called after every evaluation.
using EvalCallback = std::function<void(const EvalRecord& record, int64_t total_steps)>;

/// The schedule of a run (how long, how often it evaluates, revival) and what it reports to.
struct TrainingRunOptions {
  /// Passes over the dataset (ignored when steps > 0).
  TORCH_ARG(int64_t, epochs) = 20;
  /// Total optimizer steps; 0: epochs · ceil(N / batch_size).
  TORCH_ARG(int64_t, steps) = 0;
  /// Evaluate every this many steps (and at step 0 and the last step); 0: once per epoch.
  TORCH_ARG(int64_t, eval_every) = 0;
  /// Re-seed dead codewords after each step (training/dead_code_revival.h). Off by default.
  TORCH_ARG(bool, revive_dead_codes) = false;
  /// The revival window W in steps; 0: one epoch, ceil(N / batch_size) steps.
  TORCH_ARG(int64_t, revival_window) = 0;
  /// Seed of the batch order and of the revival draws; none: derived from FitSettings::seed.
  TORCH_ARG(std::optional<uint64_t>, shuffle_seed) = std::nullopt;
  TORCH_ARG(StepCallback, on_step) = nullptr;
  TORCH_ARG(EvalCallback, on_eval) = nullptr;
  /// Held-out samples (N_test, d) from the same source, never trained or initialised on: every
  /// evaluation also reports the codebook's distortion, usage and perplexity on them (the test_*
  /// fields). Undefined: none (the test_* fields stay 0).
  TORCH_ARG(at::Tensor, held_out) = {};
};

/// The one check of a schedule (the program's --epochs, --steps, --eval-every and
/// --revival-window reach it unchanged): throws InvalidArgument naming the parameter for
/// steps < 0, epochs < 1 when steps is 0, eval_every < 0 or revival_window < 0.
void check_schedule(const TrainingRunOptions& options);

/// The schedule fit resolves from its options for `samples` rows: steps per epoch
/// ceil(samples / min(batch_size, samples)), total steps (options.steps, else epochs × steps per
/// epoch), evaluation interval and revival window (each, when 0, one epoch of steps).
struct RunSchedule {
  int64_t steps_per_epoch = 0, total_steps = 0, eval_every = 0, revival_window = 0;
};
RunSchedule run_schedule(int64_t samples, int64_t batch_size, const TrainingRunOptions& options);

/// What the loop takes from a run's configuration (the study's RunConfig fields of these names).
struct FitSettings {
  OptimizerKind optimizer = OptimizerKind::adam;
  double lr = 0.01;
  int64_t batch_size = 256;
  double beta = 0.25;  ///< commitment weight of vqvae_loss
  uint64_t seed = 42;  ///< the run's seed: the shuffle seed derives from it unless options give one
};

/// Trains `model` on x (N, d) with the settings' optimizer, lr, batch size and β: each epoch visits
/// every sample once in an order drawn with the shuffle seed (the last batch of an epoch may be
/// smaller). Same model, data, settings, options and threads -> identical history.
/// Throws InvalidArgument for a schedule check_schedule refuses, batch_size < 1, or x not (N, d)
/// with N >= 2. After every step the four loss values and every trained parameter are checked for
/// NaN/Inf (a pass over the parameters' raw values): a non-finite one throws TrainingDiverged.
/// After every step it also asks core/interrupt.h's stop_requested(): when SIGINT / SIGTERM has
/// arrived it evaluates at that step and returns the run so far (status interrupted,
/// summary.steps = last_step = the steps taken).
TrainingRunResult fit(VQVAE model, const at::Tensor& x, const FitSettings& settings,
                      const TrainingRunOptions& options = {});

}  // namespace vqvae
