#include <vqvae/training/fit.h>

#include <vqvae/core/format.h>
#include <vqvae/core/interrupt.h>
#include <vqvae/evaluation/metrics.h>
#include <vqvae/tensor/checks.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/training/dead_code_revival.h>
#include <vqvae/training/losses.h>
#include <vqvae/training/trainer.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <memory>
#include <optional>

namespace vqvae {
namespace {

// The shuffle / revival seed of a run when none is given: a fixed odd-constant mix of the run's
// seed, so that it differs from the codebook's draw (which uses the seed itself).
uint64_t derived_shuffle_seed(uint64_t seed) { return seed * 0x9E3779B97F4A7C15ULL + 0x5EEDULL; }

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The summary of a run from its history (the last evaluation), the codewords revived, the steps
// taken, and, when it finished, the bound of its latents and the held-out set's standard error.
RunSummary summarize(const std::vector<EvalRecord>& history, int64_t revived, int64_t steps, int64_t n,
                      const LatentBound* bound, double test_distortion_se) {
  RunSummary s;
  const EvalRecord& last = history.back();
  s.test_distortion = last.test_distortion;
  s.test_distortion_se = test_distortion_se;
  s.test_perplexity = last.test_perplexity;
  s.test_dead_codes = last.test_dead_codes;
  s.distortion = last.distortion;
  s.perplexity = last.perplexity;
  s.dead_codes = last.dead_codes;
  s.codes_used = last.codes_used;
  s.revived = revived;
  s.steps = steps;
  s.rate_bits = std::log2(static_cast<double>(n));
  s.steps_to_within_10_percent = steps_to_within(history, 0.1);
  if (bound) {
    s.latent_variance = bound->latent_variance;
    s.distortion_over_variance = bound->latent_variance > 0 ? last.distortion / bound->latent_variance : 0.0;
    s.rate_bits = bound->rate_bits;
    s.distortion_rate_bound = bound->distortion_rate;
    s.gap_db = gap_db(last.distortion, bound->distortion_rate);
    s.test_gap_db = last.test_distortion > 0 ? gap_db(last.test_distortion, bound->distortion_rate) : 0.0;
    s.eigenvalues = bound->eigenvalues;
  }
  return s;
}

}  // namespace

void check_schedule(const TrainingRunOptions& options) {
  if (options.steps() < 0)
    throw_invalid_argument(param("steps"), "must be >= 0, got " + std::to_string(options.steps()));
  if (options.steps() == 0 && options.epochs() < 1)
    throw_invalid_argument(param("epochs"), "must be >= 1, got " + std::to_string(options.epochs()));
  if (options.eval_every() < 0)
    throw_invalid_argument(param("eval_every"), "must be >= 0, got " + std::to_string(options.eval_every()));
  if (options.revival_window() < 0)
    throw_invalid_argument(param("revival_window"), "must be >= 0, got " + std::to_string(options.revival_window()));
}

RunSchedule run_schedule(int64_t samples, int64_t batch_size, const TrainingRunOptions& options) {
  RunSchedule schedule;
  schedule.steps_per_epoch = ceil_div(samples, std::min(batch_size, samples));
  schedule.total_steps = options.steps() > 0 ? options.steps() : options.epochs() * schedule.steps_per_epoch;
  schedule.eval_every = options.eval_every() > 0 ? options.eval_every() : schedule.steps_per_epoch;
  schedule.revival_window = options.revival_window() > 0 ? options.revival_window() : schedule.steps_per_epoch;
  return schedule;
}

TrainingRunResult fit(VQVAE model, const at::Tensor& x, const FitSettings& settings,
                      const TrainingRunOptions& options) {
  const char* where = "fit";
  if (!model) throw_invalid_argument(where, "model must not be null, got null");
  check_shape(x, where, "x", {-1, -1}, "(N, d)");
  check_at_least(x.size(0), 2, where, "samples N");
  check_at_least(settings.batch_size, 1, where, param("batch_size").c_str());
  check_schedule(options);

  const int64_t N = x.size(0);
  const int64_t batch = std::min(settings.batch_size, N);
  const auto [steps_per_epoch, total_steps, eval_every, window] = run_schedule(N, settings.batch_size, options);
  at::Generator generator = make_generator(options.shuffle_seed().value_or(derived_shuffle_seed(settings.seed)));

  // Revival reads each step's latents and assignments from the Trainer (last_latents,
  // last_indices): no custom loss, so the default model takes the fused step.
  Trainer trainer(model, TrainerOptions().optimizer(settings.optimizer).lr(settings.lr));
  const at::Tensor& codebook = model->quantizer()->codebook;
  const int64_t n = codebook.size(0);

  TrainingRunResult result;
  result.initial_codebook = codebook.detach().clone();
  DeadCodeRevival revival(n, window);

  const at::Tensor& held_out = options.held_out();
  if (held_out.defined()) check_shape(held_out, where, "held_out", {-1, x.size(1)}, "(N_test, d)");
  double test_distortion_se = 0.0;  // of the latest evaluation, which the summary reports
  const auto evaluate = [&](int64_t step) {
    EvalRecord record = evaluate_model(model, x, settings.beta);
    if (held_out.defined()) {
      const HeldOutEvaluation test = evaluate_held_out(model, held_out);
      test_distortion_se = test.distortion_se;
      record.test_distortion = test.distortion;
      record.test_perplexity = test.perplexity;
      record.test_dead_codes = test.dead_codes;
      record.test_codes_used = test.codes_used;
    }
    record.step = step;
    record.epoch = static_cast<double>(step) / static_cast<double>(steps_per_epoch);
    record.revived = revival.revived();
    result.history.push_back(record);
    if (options.on_eval()) options.on_eval()(record, total_steps);
  };

  DivergenceWatch watch(model);
  // Stops the run at `step`: what became non-finite, and the run up to the step before.
  const auto diverged = [&](int64_t step, const std::string& what) {
    auto partial = std::make_shared<TrainingRunResult>();
    partial->history = result.history;
    partial->initial_codebook = result.initial_codebook;
    partial->codebook = codebook.detach().clone();
    partial->status = RunStatus::diverged;
    partial->last_step = step - 1;
    partial->diverged_at_step = step;
    partial->stop_reason = what + " (" + to_string(settings.optimizer) + ", lr " + format_significant(settings.lr) + ")";
    partial->summary = summarize(partial->history, revival.revived(), step - 1, n, nullptr, 0.0);
    const std::string message = "training diverged at step " + std::to_string(step) + ": " + partial->stop_reason;
    throw TrainingDiverged(message, std::move(partial));
  };
  // The search refuses a row of z with no finite distance to any codeword: divergence when the
  // watch says why, else the refusal stands.
  const auto diagnose_search_failure = [&](int64_t step, const at::Tensor& rows) {
    if (const std::string what = watch.search_failure(model, rows); !what.empty()) diverged(step, what);
  };

  evaluate(0);
  at::Tensor order;
  int64_t steps_done = total_steps;
  for (int64_t step = 1; step <= total_steps; ++step) {
    const int64_t position = (step - 1) % steps_per_epoch;
    if (position == 0) order = at::randperm(N, generator, at::TensorOptions().dtype(at::kLong));
    const at::Tensor rows = order.slice(0, position * batch, std::min(N, (position + 1) * batch));
    const at::Tensor step_x = x.index_select(0, rows);
    LossOutput loss;
    try {
      loss = trainer.train_step(step_x, settings.beta);
    } catch (const InvalidArgument&) {
      diagnose_search_failure(step, step_x);
      throw;
    }
    if (const std::string what = watch.after_step(step, loss, trainer); !what.empty()) diverged(step, what);
    // References, not copies: a copy held across steps would make the fused step allocate.
    if (options.revive_dead_codes())
      revival.after_step(step, trainer.last_latents(), trainer.last_indices(), codebook, generator);
    const bool evaluated = step % eval_every == 0 || step == total_steps;
    if (evaluated) {
      try {
        evaluate(step);
      } catch (const InvalidArgument&) {
        diagnose_search_failure(step, x);
        throw;
      }
    }
    if (options.on_step())
      options.on_step()(step, total_steps, loss.total_value, loss.recon, loss.codebook, loss.commitment);
    if (stop_requested() && step < total_steps) {  // SIGINT / SIGTERM: stop after this step
      if (!evaluated) evaluate(step);
      result.status = RunStatus::interrupted;
      steps_done = step;
      break;
    }
  }
  result.last_step = steps_done;

  result.codebook = codebook.detach().clone();
  at::Tensor z;
  {
    c10::NoGradGuard no_grad;
    z = model->encode(x);
  }
  const LatentBound bound = latent_distortion_rate(z, n);
  result.summary = summarize(result.history, revival.revived(), steps_done, n, &bound, test_distortion_se);
  return result;
}

}  // namespace vqvae
