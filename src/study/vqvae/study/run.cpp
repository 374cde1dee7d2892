#include <vqvae/study/run.h>

#include <vqvae/core/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/core/interrupt.h>
#include <vqvae/core/runtime.h>
#include <vqvae/io/atomic_file.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/io/provenance.h>
#include <vqvae/study/factory.h>
#include <vqvae/training/losses.h>
#include <vqvae/training/trainer.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/util/string_utils.h>
#include <torch/optim/adam.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <type_traits>

namespace vqvae {
namespace {

// The shuffle / revival seed of a run when none is given: a fixed odd-constant mix of
// config.seed, so that it differs from the codebook's draw (which uses config.seed itself).
uint64_t derived_shuffle_seed(uint64_t seed) { return seed * 0x9E3779B97F4A7C15ULL + 0x5EEDULL; }

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A parameter training changes, watched for NaN/Inf after every step.
struct Watched {
  std::string name;  // "codebook", "encoder.weight"
  at::Tensor tensor;
  float limit = std::numeric_limits<float>::max();  // larger magnitudes count as Inf
};

// A parameter beyond ±sqrt(FLT_MAX) ≈ 1.84e19 can only give Inf squared distances in float32:
// a codeword there is never anyone's nearest again, latents there are never quantized.
const float kParameterLimit = std::sqrt(std::numeric_limits<float>::max());

std::vector<Watched> trained_parameters(VQVAE& model) {
  std::vector<Watched> watched;
  for (const auto& item : model->named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    std::string name = item.key();
    if (name.rfind("quantizer.", 0) == 0) name = name.substr(10);
    watched.push_back({name, item.value(), kParameterLimit});
  }
  return watched;
}

// Values of t that are NaN or beyond ±limit: a branch-free pass over the raw values of a
// contiguous CPU float tensor (the default codebook, 2048 floats: about 0.5 µs), LibTorch ops
// otherwise.
int64_t count_non_finite(const at::Tensor& t, float limit = std::numeric_limits<float>::max()) {
  if (t.device().is_cpu() && t.is_contiguous() && t.scalar_type() == at::kFloat) {  // no detach(): it allocates
    const float* v = t.data_ptr<float>();
    const int64_t size = t.numel();
    int64_t bad = 0;
    for (int64_t start = 0; start < size; start += int64_t{1} << 30) {
      // An int32 count per block of 2^30 values: the loop vectorizes (an int64 one did not).
      const int64_t end = std::min(size, start + (int64_t{1} << 30));
      int32_t block = 0;
      for (int64_t i = start; i < end; ++i) block += std::fabs(v[i]) <= limit ? 0 : 1;
      bad += block;
    }
    return bad;
  }
  const at::Tensor d = t.detach();
  return d.numel() - (d.abs() <= static_cast<double>(limit)).sum().item<int64_t>();
}

// Adam's moments of the watched parameters (created by the first step): the second moment is
// where a huge gradient first overflows (g² beyond float32), before any parameter does.
std::vector<Watched> optimizer_state(Trainer& trainer, const std::vector<Watched>& parameters) {
  std::vector<Watched> watched;
  auto& state = trainer.optimizer().state();
  for (const Watched& p : parameters) {
    const auto found = state.find(c10::guts::to_string(p.tensor.unsafeGetTensorImpl()));
    if (found == state.end()) continue;
    const auto* adam = dynamic_cast<const torch::optim::AdamParamState*>(found->second.get());
    if (!adam) continue;
    watched.push_back({"Adam's exp_avg of " + p.name, adam->exp_avg()});
    watched.push_back({"Adam's exp_avg_sq of " + p.name, adam->exp_avg_sq()});
  }
  return watched;
}

double max_abs(const at::Tensor& t) { return t.numel() ? t.detach().abs().max().item<double>() : 0.0; }

// "" when the step's losses and the trained parameters are finite, else what is not.
std::string non_finite_after_step(const LossOutput& loss, const std::vector<Watched>& watched) {
  std::string found;
  if (!std::isfinite(loss.total_value) || !std::isfinite(loss.recon) || !std::isfinite(loss.codebook) ||
      !std::isfinite(loss.commitment))
    found = "loss not finite (total " + format_significant(loss.total_value, 4) + ": recon " +
            format_significant(loss.recon, 4) + ", codebook " + format_significant(loss.codebook, 4) +
            ", commitment " + format_significant(loss.commitment, 4) + ")";
  for (const Watched& w : watched) {
    const int64_t bad = count_non_finite(w.tensor, w.limit);
    if (bad == 0) continue;
    const int64_t non_finite = w.limit < std::numeric_limits<float>::max() ? count_non_finite(w.tensor) : bad;
    const std::string of = " of " + std::to_string(w.tensor.numel()) + " values";
    const std::string beyond = "beyond ±" + format_significant(w.limit, 3);
    found += (found.empty() ? "" : "; ") + w.name + " has ";
    if (non_finite == bad) found += std::to_string(bad) + " NaN/Inf" + of;
    else if (non_finite == 0) found += std::to_string(bad) + of + " " + beyond + " (squares Inf in float32)";
    else found += std::to_string(non_finite) + " NaN/Inf and " + std::to_string(bad - non_finite) + " more " + beyond + of;
    found += " after the update";
  }
  return found;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<double>>> history_columns(
    const std::vector<EvalRecord>& history) {
  std::vector<std::pair<std::string, std::vector<double>>> columns;
  for_each_history_field([&](const char* name, auto member) {
    std::vector<double> values;
    values.reserve(history.size());
    for (const EvalRecord& r : history) values.push_back(static_cast<double>(r.*member));
    columns.emplace_back(name, std::move(values));
  });
  return columns;
}

EvalRecord evaluate_model(VQVAE& model, const at::Tensor& x, double beta) {
  c10::NoGradGuard no_grad;
  const VQVAEOutput out = model->forward(x);
  const LossOutput loss = vqvae_loss(x, out.x_recon, out.z, out.z_q, out.z_q_hard, beta);
  EvalRecord r;
  r.loss_total = loss.total_value;
  r.loss_recon = loss.recon;
  r.loss_codebook = loss.codebook;
  r.loss_commitment = loss.commitment;
  const at::Tensor difference = (out.z - out.z_q_hard).to(at::kDouble);
  r.distortion = difference.pow(2).sum(1).mean().item<double>();
  r.quantization_error = quantization_error(out.z, out.z_q);
  const int64_t n = model->quantizer()->codebook_size();
  const CodebookUsage usage = codebook_usage(out.indices, n);
  r.perplexity = usage.perplexity;
  r.entropy = usage.entropy;
  r.rate_bits = usage.entropy / std::log(2.0);
  r.dead_codes = usage.dead_codes;
  r.codes_used = (usage.usage > 0).sum().item<int64_t>();
  r.min_usage = usage.min_usage;
  r.max_usage = usage.max_usage;
  r.std_usage = usage.std_usage;
  const CodebookGeometry geometry = codebook_geometry(model->quantizer()->codebook);
  r.codebook_mean_norm = geometry.mean_norm;
  r.codebook_std_norm = geometry.std_norm;
  r.codebook_mean_pairwise_distance = geometry.mean_pairwise_distance;
  return r;
}

HeldOutEvaluation evaluate_held_out(VQVAE& model, const at::Tensor& x_test) {
  c10::NoGradGuard no_grad;
  const VQVAEOutput out = model->forward(x_test);
  const at::Tensor per_sample = (out.z - out.z_q_hard).to(at::kDouble).pow(2).sum(1);  // (N_test)
  HeldOutEvaluation e;
  e.distortion = per_sample.mean().item<double>();
  const int64_t N = per_sample.numel();
  e.distortion_se = N > 1 ? per_sample.std().item<double>() / std::sqrt(static_cast<double>(N)) : 0.0;
  const CodebookUsage usage = codebook_usage(out.indices, model->quantizer()->codebook_size());
  e.perplexity = usage.perplexity;
  e.dead_codes = usage.dead_codes;
  e.codes_used = (usage.usage > 0).sum().item<int64_t>();
  return e;
}

// The summary of a run from its history (the last evaluation), the codewords revived, the steps
// taken, and, when it finished, the bound of its latents and the held-out set's standard error.
static RunSummary summarize(const std::vector<EvalRecord>& history, int64_t revived, int64_t steps, int64_t n,
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

RunSchedule run_schedule(int64_t samples, int64_t batch_size, const TrainingRunOptions& options) {
  RunSchedule schedule;
  schedule.steps_per_epoch = ceil_div(samples, std::min(batch_size, samples));
  schedule.total_steps = options.steps() > 0 ? options.steps() : options.epochs() * schedule.steps_per_epoch;
  schedule.eval_every = options.eval_every() > 0 ? options.eval_every() : schedule.steps_per_epoch;
  schedule.revival_window = options.revival_window() > 0 ? options.revival_window() : schedule.steps_per_epoch;
  return schedule;
}

int64_t steps_to_within(const std::vector<EvalRecord>& history, double fraction) {
  if (history.empty()) return 0;
  const double target = (1.0 + fraction) * history.back().distortion;
  for (const EvalRecord& r : history)
    if (r.distortion <= target) return r.step;
  return history.back().step;
}

TrainingRunResult run_training(VQVAE model, const at::Tensor& x, const RunConfig& config,
                               const TrainingRunOptions& options) {
  const char* where = "run_training";
  if (!model) throw_invalid_argument(where, "model must not be null, got null");
  check_shape(x, where, "x", {-1, -1}, "(N, d)");
  check_at_least(x.size(0), 2, where, "samples N");
  check_at_least(config.batch_size, 1, where, param("batch_size").c_str());
  if (options.steps() < 0)
    throw_invalid_argument(param("steps"), "must be >= 0, got " + std::to_string(options.steps()));
  if (options.steps() == 0 && options.epochs() < 1)
    throw_invalid_argument(param("epochs"), "must be >= 1, got " + std::to_string(options.epochs()));
  if (options.eval_every() < 0)
    throw_invalid_argument(param("eval_every"), "must be >= 0, got " + std::to_string(options.eval_every()));
  if (options.revival_window() < 0)
    throw_invalid_argument(param("revival_window"), "must be >= 0, got " +
                                                        std::to_string(options.revival_window()));

  const int64_t N = x.size(0);
  const int64_t batch = std::min(config.batch_size, N);
  const auto [steps_per_epoch, total_steps, eval_every, window] = run_schedule(N, config.batch_size, options);
  at::Generator generator =
      make_generator(options.shuffle_seed().value_or(derived_shuffle_seed(config.seed)));

  // Revival reads each step's latents and assignments from the Trainer (last_latents,
  // last_indices): no custom loss, so the default model takes the fused step.
  Trainer trainer(model, TrainerOptions().optimizer(config.optimizer).lr(config.lr));
  const at::Tensor& codebook = model->quantizer()->codebook;
  const int64_t n = codebook.size(0);

  TrainingRunResult result;
  result.initial_codebook = codebook.detach().clone();
  std::vector<int64_t> last_used(static_cast<size_t>(n), 0);  // step of last use or revival
  int64_t revived = 0;

  const at::Tensor& held_out = options.held_out();
  if (held_out.defined()) check_shape(held_out, where, "held_out", {-1, x.size(1)}, "(N_test, d)");
  double test_distortion_se = 0.0;  // of the latest evaluation, which the summary reports
  const auto evaluate = [&](int64_t step) {
    EvalRecord record = evaluate_model(model, x, config.beta);
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
    record.revived = revived;
    result.history.push_back(record);
    if (options.on_eval()) options.on_eval()(record, total_steps);
  };

  std::vector<Watched> watched = trained_parameters(model);
  const size_t parameter_count = watched.size();
  // Stops the run at `step`: what became non-finite, and the run up to the step before.
  const auto diverged = [&](int64_t step, const std::string& what) {
    auto partial = std::make_shared<TrainingRunResult>();
    partial->history = result.history;
    partial->initial_codebook = result.initial_codebook;
    partial->codebook = codebook.detach().clone();
    partial->status = RunStatus::diverged;
    partial->last_step = step - 1;
    partial->diverged_at_step = step;
    partial->stop_reason = what + " (" + to_string(config.optimizer) + ", lr " + format_significant(config.lr) + ")";
    partial->summary = summarize(partial->history, revived, step - 1, n, nullptr, 0.0);
    const std::string message = "training diverged at step " + std::to_string(step) + ": " + partial->stop_reason;
    throw TrainingDiverged(message, std::move(partial));
  };

  // The search (nearest_codeword) refuses a row of z with no finite distance to any codeword:
  // after a step, that is divergence when z holds NaN/Inf, or when the codebook or z have grown
  // so large that every squared distance overflows float32. Returns if it is neither.
  const auto diagnose_search_failure = [&](int64_t step, const at::Tensor& batch) {
    at::Tensor z;
    {
      c10::NoGradGuard no_grad;
      z = model->encode(batch);
    }
    const int64_t bad_z = count_non_finite(z), bad_codebook = count_non_finite(codebook);
    if (bad_z > 0)
      diverged(step, "z has " + std::to_string(bad_z) + " NaN/Inf of " + std::to_string(z.numel()) +
                         " values at the forward pass");
    if (bad_codebook > 0)
      diverged(step, "codebook has " + std::to_string(bad_codebook) + " NaN/Inf of " +
                         std::to_string(codebook.numel()) + " values");
    const double reach = max_abs(z) + max_abs(codebook);
    if (reach * reach * static_cast<double>(z.size(1)) > std::numeric_limits<float>::max())
      diverged(step, "every squared distance overflows float32 (max |codebook| " +
                         format_significant(max_abs(codebook), 3) + ", max |z| " + format_significant(max_abs(z), 3) +
                         ")");
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
      loss = trainer.train_step(step_x, config.beta);
    } catch (const InvalidArgument&) {
      diagnose_search_failure(step, step_x);
      throw;
    }
    if (step == 1)  // the optimizer's state exists from the first step on
      for (const Watched& w : optimizer_state(trainer, std::vector<Watched>(watched.begin(), watched.begin() + parameter_count)))
        watched.push_back(w);
    if (const std::string what = non_finite_after_step(loss, watched); !what.empty()) diverged(step, what);

    if (options.revive_dead_codes()) {
      // References, not copies: a copy held across steps would make the fused step allocate.
      const at::Tensor& step_z = trainer.last_latents();
      const at::Tensor& step_indices = trainer.last_indices();
      const at::Tensor used = at::bincount(step_indices, {}, n).contiguous();
      const int64_t* counts = used.data_ptr<int64_t>();
      std::vector<int64_t> dead;
      for (int64_t j = 0; j < n; ++j) {
        if (counts[j] > 0) last_used[j] = step;
        else if (step - last_used[j] >= window) dead.push_back(j);
      }
      if (!dead.empty()) {
        c10::NoGradGuard no_grad;
        const at::Tensor dead_rows = at::tensor(dead, at::kLong);
        const at::Tensor picks = at::randint(step_z.size(0), {static_cast<int64_t>(dead.size())},
                                             generator, at::TensorOptions().dtype(at::kLong));
        codebook.index_copy_(0, dead_rows, step_z.index_select(0, picks).to(codebook.scalar_type()));
        for (int64_t j : dead) last_used[j] = step;
        revived += static_cast<int64_t>(dead.size());
      }
    }
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
  result.summary = summarize(result.history, revived, steps_done, n, &bound, test_distortion_se);
  return result;
}

TrainingRunResult run_training(const RunConfig& config, const GaussianDataset& dataset,
                               const TrainingRunOptions& options) {
  TrainingRunOptions with_test = options;
  if (!with_test.held_out().defined()) with_test.held_out(dataset.draw_test_set(config.n_test).X);
  return run_training(build_model(config, dataset), dataset.X, config, with_test);
}

std::string summary_to_json(const RunSummary& s) {
  nlohmann::ordered_json j;
  for_each_summary_field([&](const char* name, auto member) { j[name] = s.*member; });
  j["eigenvalues"] = s.eigenvalues;
  return j.dump(2);
}

void write_run_group(Hdf5Writer& file, const std::string& group, const TrainingRunResult& run) {
  if (group != "/") file.create_group(group);
  file.create_group(hdf5_child(group, "history"));
  for (const auto& [name, values] : history_columns(run.history))
    file.write_tensor(hdf5_child(group, "history/" + name), at::tensor(values, at::kDouble));
  file.create_group(hdf5_child(group, "summary"));
  for_each_summary_field([&](const char* name, auto member) { file.write_attribute(hdf5_child(group, "summary"), name, run.summary.*member); });
  file.write_tensor(hdf5_child(group, "summary/eigenvalues"), at::tensor(run.summary.eigenvalues, at::kDouble));
  file.write_tensor(hdf5_child(group, "initial_codebook"), run.initial_codebook);
  file.write_tensor(hdf5_child(group, "codebook"), run.codebook);
  file.write_attribute(group, "status", std::string(to_string(run.status)));
  file.write_attribute(group, "last_step", run.last_step);
  if (run.status == RunStatus::diverged) {
    file.write_attribute(group, "diverged_at_step", run.diverged_at_step);
    file.write_attribute(group, "diverged_reason", run.stop_reason);
  }
}

TrainingRunResult read_run_group(const Hdf5Reader& file, const std::string& group) {
  TrainingRunResult run;
  bool first = true;
  for_each_history_field([&](const char* name, auto member) {
    const at::Tensor column = file.read_tensor(hdf5_child(group, std::string("history/") + name)).to(at::kDouble).contiguous();
    if (first) run.history.resize(static_cast<size_t>(column.numel()));
    first = false;
    check_shape(column, "read_run_group", name, {static_cast<int64_t>(run.history.size())}, "(evaluations)");
    const double* values = column.data_ptr<double>();
    using Field = std::decay_t<decltype(run.history[0].*member)>;
    for (size_t e = 0; e < run.history.size(); ++e) run.history[e].*member = static_cast<Field>(values[e]);
  });
  const std::string summary = hdf5_child(group, "summary");
  for_each_summary_field([&](const char* name, auto member) {
    using Field = std::decay_t<decltype(run.summary.*member)>;
    if constexpr (std::is_integral_v<Field>) run.summary.*member = file.read_int_attribute(summary, name);
    else run.summary.*member = file.read_double_attribute(summary, name);
  });
  const at::Tensor eigenvalues = file.read_tensor(hdf5_child(group, "summary/eigenvalues")).to(at::kDouble).contiguous();
  run.summary.eigenvalues.assign(eigenvalues.data_ptr<double>(), eigenvalues.data_ptr<double>() + eigenvalues.numel());
  run.initial_codebook = file.read_tensor(hdf5_child(group, "initial_codebook"));
  run.codebook = file.read_tensor(hdf5_child(group, "codebook"));
  run.status = parse_choice(kRunStatusNames, file.read_string_attribute(group, "status"), group + ": status");
  run.last_step = file.read_int_attribute(group, "last_step");
  return run;
}

void write_training_hdf5(const std::string& path, const TrainingRunResult& result,
                         const RunConfig& config, const TrainingRunOptions& options,
                         const std::string& command) {
  Hdf5Writer file(path);
  write_run_group(file, "/", result);
  write_config_attributes(file, config);
  write_provenance(file, command);
  file.write_attribute("/", "epochs", options.epochs());
  file.write_attribute("/", "steps", result.summary.steps);
  file.write_attribute("/", "eval_every", options.eval_every());
  file.write_attribute("/", "revive_dead_codes", static_cast<int64_t>(options.revive_dead_codes()));
  file.write_attribute("/", "revival_window", options.revival_window());
  file.commit();
}

void write_history_csv(const std::string& path, const std::vector<EvalRecord>& history) {
  const auto columns = history_columns(history);
  std::string csv;
  for (size_t c = 0; c < columns.size(); ++c) csv += (c ? "," : "") + columns[c].first;
  csv += "\n";
  for (size_t row = 0; row < history.size(); ++row) {
    for (size_t c = 0; c < columns.size(); ++c)
      csv += (c ? "," : "") + format_significant(columns[c].second[row], 10);
    csv += "\n";
  }
  write_file_atomically(path, csv);
}

// Revival note: the optimizer's state (Adam moments) of a revived codeword is kept; a dead
// codeword received no gradient during the window, so its moments have decayed towards zero.

}  // namespace vqvae
