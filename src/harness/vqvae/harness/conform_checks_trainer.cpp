// Area trainer: Trainer.train_step from an identical state against ours (`train` cases), and
// Trainer.evaluate against the definitions over the whole set, and its purity (`evaluate` cases).
#include <vqvae/harness/conform_referee.h>

#include <vqvae/core/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/core/runtime.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/harness/references.h>

#include <ATen/ATen.h>

namespace vqvae::conform {
namespace {


// The first step s and quantity at which the response's trajectory leaves ours, or "".
std::string trajectory_problem(const Judged& j, const GoldenRecord& mine) {
  const char* names[] = {"total", "recon", "codebook", "commitment"};
  const at::Tensor* losses = output(*j.response, "losses");
  const at::Tensor& expected = *output(mine, "losses");
  if (!losses || losses->sizes() != expected.sizes())
    return "losses " + shape_of(losses) + ", expected (S, 4) = " + shape_string(expected);
  for (int64_t s = 0; s < expected.size(0); ++s) {
    double error = 0;
    if (!close((*losses)[s], expected[s], 1e-7, 1e-5, error)) {
      const int64_t worst = (f64((*losses)[s]) - f64(expected[s])).abs().argmax().item<int64_t>();
      return "step " + std::to_string(s + 1) + ": " + names[worst] + " loss " +
             format_significant(f64((*losses)[s][worst]).item<double>(), 6) + ", ours " +
             format_significant(f64(expected[s][worst]).item<double>(), 6);
    }
    for (const char* name : {"encoder_weight", "decoder_weight", "codebook"}) {
      const at::Tensor* got = output(*j.response, name);
      const at::Tensor& want = *output(mine, name);
      if (!got || got->sizes() != want.sizes()) return std::string(name) + " " + shape_of(got) + ", expected " + shape_string(want);
      if (!close((*got)[s], want[s], 1e-5, 1e-4, error))
        return "after step " + std::to_string(s + 1) + ": " + name + " differs from ours by up to " + format_significant(error, 3) +
               " (allowed 1e-05 + 1e-04·|ours|)";
    }
  }
  return "";
}

Check train_same_as_ours(const Cases& cases, bool defaults) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::train)) {
    if (is_defaults_call(j) != defaults) continue;
    if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
    if (const std::string why = trajectory_problem(j, ours(*j.request)); !why.empty()) t.fail(j.request->name + ": " + why);
    else t.pass();
  }
  return defaults ? t.result("train_step((x, y)) with its defaults (β = 0.25) = ours from the same state", std::nullopt,
                             "losses and parameters after each step equal ours")
                  : t.result("train_step(x, β): losses and parameters after each step = ours from the same state",
                             std::nullopt, "Adam, the same learning rate; every step");
}

// recon_loss against its definition over the whole set X, from the parameters the driver
// evaluated with; every metric against the implementation's own MetricsTracker applied to the
// whole set at once (tracker_<key>): evaluate is judged on aggregating over the set, the
// metrics' definitions by the metrics area.
Check evaluate_whole_set(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::evaluate)) {
    const at::Tensor* We = output(*j.response, "evaluated_encoder_weight");
    const at::Tensor* Wd = output(*j.response, "evaluated_decoder_weight");
    const at::Tensor* C = output(*j.response, "evaluated_codebook");
    if (!We || !Wd || !C) { t.fail(j.request->name + ": the parameters evaluated with are missing"); continue; }
    const at::Tensor x = f64(j.request->dataset("X"));
    const at::Tensor z = x.matmul(f64(*We).t());
    const at::Tensor z_q = f64(*C).index_select(0, nearest_codeword_reference(z, *C));
    const double recon = (z_q.matmul(f64(*Wd).t()) - x).pow(2).mean().item<double>();
    const std::string batches = " (" + std::to_string(x.size(0)) + " rows in batches of " +
                                std::to_string(int_attribute(*j.request, "batch_size", 0)) + ")";
    std::string wrong;
    const at::Tensor* got = output(*j.response, "recon_loss");
    if (!got || got->numel() != 1) wrong = "no recon_loss";
    else if (const double value = f64(*got).reshape({1})[0].item<double>(); !(std::abs(value - recon) <= 1e-5 * recon))
      wrong = "recon_loss = " + format_significant(value, 6) + ", the mean of (x_recon − x)² over the whole set is " +
              format_significant(recon, 6) + batches;
    for (const char* key : kMetricKeys) {
      if (!wrong.empty()) break;
      const at::Tensor* value = output(*j.response, key);
      const at::Tensor* whole = output(*j.response, std::string("tracker_") + key);
      if (!value || value->numel() != 1) { wrong = std::string("no ") + key; break; }
      if (!whole || whole->numel() != 1) { wrong = std::string("no tracker_") + key + " (MetricsTracker on the whole set)"; break; }
      const double a = f64(*value).reshape({1})[0].item<double>(), b = f64(*whole).reshape({1})[0].item<double>();
      if (!(std::abs(a - b) <= 1e-9 + 1e-5 * std::abs(b)))
        wrong = std::string(key) + " = " + format_significant(a, 6) + ", MetricsTracker on the whole set gives " +
                format_significant(b, 6) + batches;
    }
    if (!wrong.empty()) t.fail(j.request->name + ": " + wrong);
    else t.pass();
  }
  return t.result("evaluate returns recon_loss and every metric over the whole set", std::nullopt,
                  "batch sizes that divide the set and one that does not");
}

Check evaluate_is_pure(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::evaluate)) {
    const at::Tensor* params = output(*j.response, "params_changed");
    const at::Tensor* state = output(*j.response, "optimizer_changed");
    const at::Tensor* rng = output(*j.response, "rng_after");
    if (!params || !state || !rng) { t.fail(j.request->name + ": what evaluation changed is not reported"); continue; }
    const at::Tensor expected_rng = at::rand({4}, make_generator(static_cast<uint64_t>(int_attribute(*j.request, "seed", 0))), at::kFloat);
    if (max_abs(*params) != 0)
      t.fail(j.request->name + ": evaluate changed a parameter by " + format_significant(max_abs(*params), 3));
    else if (max_abs(*state) != 0)
      t.fail(j.request->name + ": evaluate changed the optimizer's state by " + format_significant(max_abs(*state), 3));
    else if (rng->sizes() != expected_rng.sizes() || !at::equal(rng->to(at::kFloat), expected_rng))
      t.fail(j.request->name + ": evaluate drew from the global random generator (torch.rand(4) after it is not the "
             "seed's; iterating a DataLoader draws its base seed from it even with shuffle=False: save and restore "
             "torch's RNG state around evaluation)");
    else t.pass();
  }
  return t.result("evaluate changes nothing training reads (parameters, optimizer state, global generator)", std::nullopt,
                  "nothing changed");
}

// trainable, freeze() and unfreeze() decide which parameters the trainer moves: for each module,
// its `trainable` flag and whether its parameters require grad, as constructed, after freeze(),
// after unfreeze(), constructed with trainable=False and with trainable=True. PCA modules hold U_k
// as a buffer (no parameter: -1; a parameter is accepted, requiring grad as trainable says) and are
// not trainable unless unfrozen or built trainable.
Check trainable_flags(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::modules)) {
    std::string wrong;
    for (const char* module : kTrainableModules) {
      const bool pca = std::string(module).rfind("PCA", 0) == 0;
      const at::Tensor* flags = output(*j.response, module);
      if (!flags || flags->sizes() != at::IntArrayRef({5, 2})) { wrong = std::string("no ") + module + " flags (5, 2)"; break; }
      const at::Tensor f = flags->to(at::kLong);
      for (int64_t state = 0; state < 5 && wrong.empty(); ++state) {
        const bool trainable = pca ? state == 2 || state == 4 : state != 1 && state != 3;
        const int64_t flag = f[state][0].item<int64_t>(), requires = f[state][1].item<int64_t>();
        const bool requires_ok = pca ? (requires == -1 || requires == (trainable ? 1 : 0)) : requires == (trainable ? 1 : 0);
        if (flag != (trainable ? 1 : 0) || !requires_ok)
          wrong = std::string(module) + " " + kModuleStates[state] + ": trainable = " + std::to_string(flag) +
                  ", parameters require grad = " + std::to_string(requires) + " (-1: none), expected trainable = " +
                  (trainable ? "1" : "0") + (pca ? " (U_k a buffer)" : ", parameters requiring grad = " + std::string(trainable ? "1" : "0"));
      }
      if (!wrong.empty()) break;
    }
    if (!wrong.empty()) t.fail(j.request->name + ": " + wrong);
    else t.pass();
  }
  return t.result("trainable, freeze() and unfreeze() decide which parameters train", std::nullopt,
                  "learned encoder/decoder and quantizer trainable by default, PCA frozen; freeze, unfreeze, trainable=False");
}

// The state both sides start from: learned linear encoder and decoder (Xavier-uniform, seeded), a
// codebook of latents moved by noise, batches of the dataset's rows.
struct State {
  at::Tensor encoder_weight, decoder_weight, codebook, X, Y;
};

State initial_state() {
  const GaussianDataset data(GaussianDatasetOptions().d(16).k(4).n_samples(1000).seed(5));
  State s;
  s.X = data.X.contiguous();
  s.Y = data.Y.contiguous();
  s.encoder_weight = LearnedLinearEncoder(LearnedLinearEncoderOptions(16, 4).seed(51))->weight.detach().clone();
  s.decoder_weight = LearnedLinearDecoder(LearnedLinearDecoderOptions(4, 16).seed(52))->weight.detach().clone();
  at::Generator gen = make_generator(53);
  const at::Tensor latents = s.X.slice(0, 0, 32).matmul(s.encoder_weight.t());
  s.codebook = (latents + 0.1 * at::randn(latents.sizes(), gen, at::kFloat)).contiguous();
  return s;
}

GoldenRecord train_case(const std::string& name, const State& s, double lr, double beta, const std::string& call,
                        const std::string& batch_form, int64_t first_row) {
  const int64_t steps = 3, B = 64;
  const at::Tensor rows = at::arange(first_row, first_row + steps * B, at::kLong);
  return make_record("builtin_train_" + name,
                     {{"kind", std::string("train")}, {"lr", lr}, {"beta", beta}, {"call", call}, {"batch_form", batch_form}},
                     {{"encoder_weight", s.encoder_weight}, {"decoder_weight", s.decoder_weight}, {"codebook", s.codebook},
                      {"batches", s.X.index_select(0, rows).view({steps, B, -1}).contiguous()},
                      {"batch_targets", s.Y.index_select(0, rows).view({steps, B, -1}).contiguous()}});
}

GoldenRecord evaluate_case(const std::string& name, const State& s, int64_t batch_size, int64_t seed) {
  return make_record("builtin_evaluate_" + name,
                     {{"kind", std::string("evaluate")}, {"lr", 1e-2}, {"beta", 0.25}, {"batch_size", batch_size},
                      {"codebook_size", s.codebook.size(0)}, {"seed", seed}},
                     {{"encoder_weight", s.encoder_weight}, {"decoder_weight", s.decoder_weight}, {"codebook", s.codebook},
                      {"train_batch", s.X.slice(0, 0, 64).contiguous()}, {"X", s.X}, {"Y", s.Y}});
}

}  // namespace

std::vector<GoldenRecord> trainer_cases() {
  const State s = initial_state();
  return {train_case("explicit", s, 1e-2, 0.5, "explicit", "tensor", 0),
          train_case("defaults_pairs", s, 1e-2, 0.25, "defaults", "pair", 192),
          evaluate_case("batches_divide", s, 100, 61), evaluate_case("last_batch_short", s, 64, 62),
          make_record("builtin_modules", {{"kind", std::string("modules")}, {"d", int64_t{16}}, {"k", int64_t{4}},
                                          {"codebook_size", int64_t{32}}},
                      {{"U_k", GaussianDataset(GaussianDatasetOptions().d(16).k(4).n_samples(1000).seed(5)).U_k.contiguous()}})};
}

void judge_trainer(const Cases& cases, Verdicts& out) {
  out.checks.push_back(train_same_as_ours(cases, false));
  out.checks.push_back(train_same_as_ours(cases, true));
  out.checks.push_back(evaluate_whole_set(cases));
  out.checks.push_back(evaluate_is_pure(cases));
  out.checks.push_back(trainable_flags(cases));
}

}  // namespace vqvae::conform
