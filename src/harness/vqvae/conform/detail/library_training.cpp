// execute_with_library for the case kinds that carry state across calls (detail/library.h):
// `train` (steps from the request's state, the caller's init_codebook after them), `evaluate`
// (twice, its purity, and training after it against a twin that never evaluated), `checkpoint`
// (the round trip into a trainer on another state) and `tracker` (the logging path: MetricsLog
// updated, saved as CSV and loaded).
#include <vqvae/conform/detail/library.h>
#include <vqvae/conform/detail/referee.h>

#include <vqvae/core/format.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/evaluation/metrics_log.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/study/run.h>
#include <vqvae/training/losses.h>
#include <vqvae/training/trainer.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/optim/adam.h>

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

namespace vqvae::conform::library {
namespace {

// The model of `train`, `evaluate` and `checkpoint` (docs/conform_protocol.md): the quantizer class
// on `codebook` (passed as init_codebook), learned modules with the request's weights (datasets
// `prefix`encoder_weight, `prefix`decoder_weight) or PCA modules on U_k.
VQVAE request_model(const GoldenRecord& r, const at::Tensor& codebook, const std::string& prefix = "") {
  const at::Tensor U_k = conform::output(r, "U_k") ? r.dataset("U_k") : at::Tensor();
  const int64_t k = codebook.size(1);
  const std::string encoder_choice = text_attribute(r, "encoder", "learned"), decoder_choice = text_attribute(r, "decoder", "learned");
  EncoderPtr encoder;
  if (encoder_choice.rfind("learned", 0) == 0) {
    const at::Tensor weight = r.dataset(prefix + "encoder_weight");
    LearnedLinearEncoder e(LearnedLinearEncoderOptions(weight.size(1), k).seed(0).trainable(encoder_choice == "learned"));
    {
      c10::NoGradGuard no_grad;
      e->weight.copy_(weight);
    }
    encoder = e.ptr();
  } else {
    encoder = PCAEncoder(U_k, encoder_choice == "pca:trainable").ptr();
  }
  DecoderPtr decoder;
  if (decoder_choice.rfind("learned", 0) == 0) {
    const at::Tensor weight = r.dataset(prefix + "decoder_weight");
    LearnedLinearDecoder dd(LearnedLinearDecoderOptions(k, weight.size(0)).seed(0).trainable(decoder_choice == "learned"));
    {
      c10::NoGradGuard no_grad;
      dd->weight.copy_(weight);
    }
    decoder = dd.ptr();
  } else {
    decoder = PCADecoder(U_k, decoder_choice == "pca:trainable").ptr();
  }
  return VQVAE(encoder, make_class(text_attribute(r, "class", "VectorQuantizer"), codebook), decoder);
}

TrainerOptions request_trainer(const GoldenRecord& r) {
  return TrainerOptions()
      .lr(real(r, "lr"))
      .optimizer(parse_choice(kOptimizerNames, text_attribute(r, "optimizer", "adam"), "conform: optimizer"));
}

// The parameters after a step, where the model has them: learned modules' weights, the codebook.
void add_parameters(VQVAE& model, const GoldenRecord& r, const std::string& prefix,
                    std::vector<std::pair<std::string, at::Tensor>>& out) {
  if (learned_module(r, "encoder"))
    out.emplace_back(prefix + "encoder_weight", model->encoder()->parameters()[0].detach().clone());
  if (learned_module(r, "decoder"))
    out.emplace_back(prefix + "decoder_weight", model->decoder()->parameters()[0].detach().clone());
  out.emplace_back(prefix + "codebook", model->quantizer()->codebook.detach().clone());
}

at::Tensor loss_row(const LossOutput& loss) {
  return at::tensor({loss.total_value, loss.recon, loss.codebook, loss.commitment}, at::kDouble);
}

// Steps on batches[first, last): the losses (S, 4) and the parameters after each step (S, ...),
// named `prefix`losses and so on.
void steps(Trainer& trainer, const GoldenRecord& r, const at::Tensor& batches, int64_t first, int64_t last, double beta,
           const std::string& prefix, std::vector<std::pair<std::string, at::Tensor>>& out) {
  std::vector<at::Tensor> losses;
  std::vector<std::vector<std::pair<std::string, at::Tensor>>> parameters;
  for (int64_t s = first; s < last; ++s) {
    losses.push_back(loss_row(trainer.train_step(batches[s], beta)));
    parameters.emplace_back();
    add_parameters(trainer.model(), r, prefix, parameters.back());
  }
  out.emplace_back(prefix + "losses", at::stack(losses));
  for (size_t i = 0; i < parameters.front().size(); ++i) {
    std::vector<at::Tensor> trajectory;
    for (const auto& after : parameters) trajectory.push_back(after[i].second);
    out.emplace_back(parameters.front()[i].first, at::stack(trajectory));
  }
}

// Every tensor of the Adam state (exp_avg, exp_avg_sq) and the step counts, copied.
std::vector<at::Tensor> optimizer_state(torch::optim::Optimizer& optimizer) {
  std::vector<at::Tensor> out;
  for (const auto& [key, state] : optimizer.state())
    if (const auto* adam = dynamic_cast<const torch::optim::AdamParamState*>(state.get())) {
      out.push_back(adam->exp_avg().clone());
      out.push_back(adam->exp_avg_sq().clone());
      out.push_back(at::full({1}, static_cast<double>(adam->step()), at::kDouble));
    }
  return out;
}

double max_change(const std::vector<at::Tensor>& before, const std::vector<at::Tensor>& after) {
  if (before.size() != after.size()) return std::numeric_limits<double>::infinity();
  double change = 0;
  for (size_t i = 0; i < before.size(); ++i)
    change = std::max(change, (after[i].to(at::kDouble) - before[i].to(at::kDouble)).abs().max().item<double>());
  return change;
}

std::vector<at::Tensor> parameters_of(VQVAE& model) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& p : model->parameters()) out.push_back(p.detach().clone());
  return out;
}

}  // namespace

void run_train(const GoldenRecord& request, std::vector<std::pair<std::string, at::Tensor>>& out) {
  // The caller's tensor, passed as init_codebook and read after training.
  const at::Tensor caller_codebook = request.dataset("codebook").clone();
  Trainer trainer(request_model(request, caller_codebook), request_trainer(request));
  const double beta = defaults_call(request) ? 0.25 : real(request, "beta");
  const at::Tensor batches = request.dataset("batches");
  steps(trainer, request, batches, 0, batches.size(0), beta, "", out);
  out.emplace_back("init_codebook_after", caller_codebook.clone());
}

void run_evaluate(const GoldenRecord& request, std::vector<std::pair<std::string, at::Tensor>>& out) {
  VQVAE model = request_model(request, request.dataset("codebook"));
  Trainer trainer(model, request_trainer(request));
  const double beta = real(request, "beta");
  trainer.train_step(request.dataset("train_batch"), beta);
  const std::vector<at::Tensor> parameters = parameters_of(model), state = optimizer_state(trainer.optimizer());
  const at::Tensor X = request.dataset("X");
  const int64_t n = integer(request, "codebook_size");
  // The evaluation's values: recon_loss, then the metrics of MetricsTracker's three methods.
  const auto evaluation = [&](const std::string& prefix) {
    const EvalRecord r = evaluate_model(model, X, beta);
    out.emplace_back(prefix + "recon_loss", scalar(r.loss_recon));
    c10::NoGradGuard no_grad;
    const VQVAEOutput o = model->forward(X);
    add_metrics(o.indices, n, o.z, o.z_q, model->quantizer()->codebook, out, prefix);
  };
  // The global generator, as a Python driver seeds torch's: evaluation must not draw from it.
  at::manual_seed(static_cast<uint64_t>(integer(request, "seed")));
  const size_t first = out.size();  // recon_loss, then the metrics in kMetricKeys' order
  evaluation("");
  const at::Tensor rng_after = at::rand({4}, at::kFloat);
  at::manual_seed(static_cast<uint64_t>(integer(request, "seed")));
  evaluation("second_");
  // The tracker on the whole set at once: this library's evaluation computes exactly that.
  for (size_t i = 0; i < std::size(kMetricKeys); ++i)
    out.emplace_back(std::string("tracker_") + kMetricKeys[i], out[first + 1 + i].second.clone());
  if (learned_module(request, "encoder"))
    out.emplace_back("evaluated_encoder_weight", parameters.front());
  if (learned_module(request, "decoder"))
    out.emplace_back("evaluated_decoder_weight", model->decoder()->parameters()[0].detach().clone());
  out.emplace_back("evaluated_codebook", model->quantizer()->codebook.detach().clone());
  out.emplace_back("params_changed", scalar(max_change(parameters, parameters_of(model))));
  out.emplace_back("optimizer_changed", scalar(max_change(state, optimizer_state(trainer.optimizer()))));
  out.emplace_back("rng_after", rng_after);
  // Training after the evaluations, and the twin that trains without them.
  out.emplace_back("after_losses", loss_row(trainer.train_step(request.dataset("train_batch_after"), beta)));
  add_parameters(model, request, "after_", out);
  Trainer twin(request_model(request, request.dataset("codebook")), request_trainer(request));
  twin.train_step(request.dataset("train_batch"), beta);
  out.emplace_back("twin_losses", loss_row(twin.train_step(request.dataset("train_batch_after"), beta)));
  add_parameters(twin.model(), request, "twin_", out);
}

// The checkpoint round trip: trainer A saves after steps_before steps and goes on; trainer B, on
// another state, loads the checkpoint and takes the same steps.
void run_checkpoint(const GoldenRecord& request, std::vector<std::pair<std::string, at::Tensor>>& out,
                    std::vector<std::pair<std::string, GoldenValue>>& attributes) {
  const double beta = real(request, "beta");
  const at::Tensor batches = request.dataset("batches");
  const int64_t before = integer(request, "steps_before");
  Trainer a(request_model(request, request.dataset("codebook")), request_trainer(request));
  for (int64_t s = 0; s < before; ++s) a.train_step(batches[s], beta);
  char pattern[] = "/tmp/vqvae-checkpoint-XXXXXX";
  if (!mkdtemp(pattern)) throw_invalid_argument("conform", "cannot create a temporary folder for the checkpoint");
  const std::string folder = pattern, path = folder + "/checkpoint.pt";
  struct Cleanup {
    std::string folder;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(folder, ignored);
    }
  } cleanup{folder};
  a.save_checkpoint(path);
  steps(a, request, batches, before, batches.size(0), beta, "continued_", out);
  Trainer b(request_model(request, request.dataset("other_codebook"), "other_"), request_trainer(request));
  b.load_checkpoint(path);
  steps(b, request, batches, before, batches.size(0), beta, "resumed_", out);
  attributes.emplace_back("checkpoint_keys", std::string("model_state_dict,optimizer_state_dict"));
}

// The logging path: a MetricsLog updated row by row, its final metrics, saved as CSV and loaded.
void run_tracker(const GoldenRecord& request, std::vector<std::pair<std::string, at::Tensor>>& out) {
  const std::vector<std::string> keys = split(request_text(request, "keys"), ',');
  const at::Tensor steps = request.dataset("steps").to(at::kLong), values = request.dataset("values").to(at::kDouble);
  MetricsLog log;
  for (int64_t row = 0; row < steps.size(0); ++row) {
    std::vector<std::pair<std::string, double>> logged;
    for (size_t key = 0; key < keys.size(); ++key) {
      const double value = values[row][static_cast<int64_t>(key)].item<double>();
      if (!std::isnan(value)) logged.emplace_back(keys[key], value);
    }
    log.update(steps[row].item<int64_t>(), logged);
  }
  const auto add_log = [&](const MetricsLog& l, const std::string& prefix) {
    for (const std::string& key : keys) out.emplace_back(prefix + "rows_" + key, at::tensor(l.column(key), at::kDouble));
    out.emplace_back(prefix + "rows_step", at::tensor(l.steps(), at::kLong).to(at::kDouble));
    const std::map<std::string, double> final = l.final_metrics();
    std::vector<double> value;
    std::vector<int64_t> has;
    for (const std::string& key : keys) {
      const auto found = final.find(key);
      value.push_back(found == final.end() ? std::nan("") : found->second);
      has.push_back(found != final.end());
    }
    out.emplace_back(prefix + "final", at::tensor(value, at::kDouble));
    out.emplace_back(prefix + "final_has", at::tensor(has, at::kLong));
  };
  add_log(log, "");
  const std::string csv = log.to_csv();
  out.emplace_back("saved", at::tensor(std::vector<int64_t>(csv.begin(), csv.end()), at::kLong));
  add_log(MetricsLog::from_csv(csv, "conform: the saved log"), "loaded_");
}

}  // namespace vqvae::conform::library
