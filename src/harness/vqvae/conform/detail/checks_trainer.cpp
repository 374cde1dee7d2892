// Area trainer: Trainer.train_step from an identical state against ours in each setting (`train`
// cases: learned modules with Adam, (x, y) pairs with the defaults, SGD, the frozen-PCA
// codebook-only setting for each quantizer class, the configuration's own model), the caller's
// init_codebook after training; the checkpoint round trip (`checkpoint` cases); trainable/freeze/
// unfreeze (`modules`); the area's built-in cases and its check list, in report order. The checks
// of Trainer.evaluate (`evaluate` cases) are in checks_trainer_evaluate.cpp (detail/checks_trainer.h).
#include <vqvae/conform/detail/checks_trainer.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>

#include <ATen/ATen.h>

#include <cmath>

namespace vqvae::conform {
namespace {

using K = ConformCaseKind;

std::string setting_of(const Judged& j) { return text_attribute(*j.request, "setting"); }

}  // namespace

std::vector<std::string> parameter_names(const GoldenRecord& request) {
  std::vector<std::string> out;
  if (learned_module(request, "encoder")) out.push_back("encoder_weight");
  if (learned_module(request, "decoder")) out.push_back("decoder_weight");
  out.push_back("codebook");
  return out;
}

Failure trajectory_problem(const GoldenRecord& got, const std::string& got_prefix, const GoldenRecord& want,
                               const std::string& want_prefix, const std::vector<std::string>& names, bool losses,
                               bool parameters, double atol, double rtol, const std::string& whose) {
  const auto stage = [](const std::string& prefix, const std::string& otherwise) {
    return prefix.empty() ? otherwise : prefix.substr(0, prefix.size() - 1);
  };
  const at::Tensor* l = output(got, got_prefix + "losses");
  const at::Tensor* expected = output(want, want_prefix + "losses");
  if (!expected) return "no " + want_prefix + "losses to compare with" + raised(want, stage(want_prefix, "losses"));
  const int64_t steps = expected->dim() == 2 ? expected->size(0) : 1;
  const at::Tensor e = expected->reshape({steps, 4});
  if (losses && (!l || l->numel() != e.numel()))
    return {got_prefix + "losses " + shape_of(l) + ", expected " + shape_string(*expected) + raised(got, stage(got_prefix, "losses")),
            shapes(l, expected->sizes().vec(), got_prefix + "losses", whose)};
  for (int64_t s = 0; s < steps; ++s) {
    if (losses) {
      const at::Tensor row = l->reshape({steps, 4})[s];
      if (auto numbers = compare(row, e[s], 1e-7, 1e-5, got_prefix + "losses", whose)) {
        const int64_t worst = numbers->element.front();
        numbers->element.insert(numbers->element.begin(), s);  // (step, loss)
        return {"step " + std::to_string(s + 1) + ": " + kLossNames[worst] + " loss " + format_significant(numbers->theirs, 6) +
                    ", " + whose + " " + format_significant(numbers->ours, 6),
                numbers};
      }
    }
    if (!parameters) continue;
    for (const std::string& name : names) {
      const at::Tensor* p = output(got, got_prefix + name);
      const at::Tensor* w = output(want, want_prefix + name);
      if (!w) return "no " + want_prefix + name + " to compare with";
      if (!p || p->sizes() != w->sizes())
        return {got_prefix + name + " " + shape_of(p) + ", expected " + shape_string(*w) + raised(got, stage(got_prefix, name)),
                shapes(p, w->sizes().vec(), got_prefix + name, whose)};
      // (S, ...) trajectories step by step; one step's parameters whole.
      const bool per_step = steps > 1 && w->dim() > 0 && w->size(0) == steps;
      if (auto numbers = compare(per_step ? (*p)[s] : *p, per_step ? (*w)[s] : *w, atol, rtol, got_prefix + name, whose)) {
        if (per_step) numbers->element.insert(numbers->element.begin(), s);  // (step, ...)
        return {"after step " + std::to_string(s + 1) + ": " + name + " differs from " + whose + " by up to " +
                    format_significant(numbers->max_difference, 3) + " (allowed " + format_significant(atol, 2) + " + " +
                    format_significant(rtol, 2) + "·|" + whose + "|)",
                numbers};
      }
    }
  }
  return {};
}

namespace {

// The train cases of `setting`, each step against ours: the returned losses, the parameters, or both.
Check train_same_as_ours(const Cases& cases, const std::string& setting, const std::string& cls, bool losses, bool parameters,
                         const std::string& what) {
  Tally t;
  for (const Judged& j : cases.of(K::train)) {
    if (setting_of(j) != setting || (!cls.empty() && text_attribute(*j.request, "class", "VectorQuantizer") != cls)) continue;
    if (!usable(j, t)) continue;
    if (const Failure why = trajectory_problem(*j.response, "", cases.ours(j), "", parameter_names(*j.request), losses, parameters,
                                               1e-5, 1e-4, "ours");
        !why.empty())
      t.fail(j, why);
    else t.pass();
  }
  return t.result(what);
}

// State across calls: a quantizer built from init_codebook owns a copy; training never writes into
// the caller's tensor.
Check init_codebook_not_written(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.of(K::train)) {
    if (status_of(*j.response) == "error") {  // training raised: the train_step checks report it
      t.skip(j.request->name + ": training raised, so nothing to judge (" + text_attribute(*j.response, "detail") + ")");
      continue;
    }
    if (!usable(j, t)) continue;
    const at::Tensor* after = output(*j.response, "init_codebook_after");
    if (!after) { t.fail(j, "no init_codebook_after"); continue; }
    if (const auto numbers = compare(*after, j.request->dataset("codebook"), 0, 0, "init_codebook_after",
                                     "the tensor as passed"))
      t.fail(j, {"training wrote into the tensor passed as init_codebook (it moved by up to " +
                     format_significant(numbers->max_difference, 3) + "): the quantizer must own a copy",
                 numbers});
    else t.pass();
  }
  return t.result("the caller's tensor unchanged after training");
}

// ---------------------------------------------------------------- checkpoint
// The checkpoint cases the driver answered. One whose steps before the save raised is skipped
// (nothing to judge: the train_step checks report it), never failed.
std::vector<Judged> checkpoint_cases(const Cases& cases, Tally& t) {
  std::vector<Judged> out;
  for (const Judged& j : cases.of(K::checkpoint)) {
    if (status_of(*j.response) == "error")
      t.skip(j.request->name + ": training before save_checkpoint raised (" + text_attribute(*j.response, "detail") + ")");
    else if (usable(j, t))
      out.push_back(j);
  }
  return out;
}

Check checkpoint_resumes(const Cases& cases) {
  Tally t;
  for (const Judged& j : checkpoint_cases(cases, t)) {
    if (!output(*j.response, "resumed_losses")) {
      const std::string why = !text_attribute(*j.response, "error_saved").empty()   ? "save_checkpoint raised" + raised(*j.response, "saved")
                              : !text_attribute(*j.response, "error_resumed").empty() ? "load_checkpoint or the steps after it raised" + raised(*j.response, "resumed")
                                                                                       : "no resumed_losses";
      t.fail(j, why);
      continue;
    }
    if (const Failure why = trajectory_problem(*j.response, "resumed_", *j.response, "continued_", parameter_names(*j.request),
                                               true, true, 1e-7, 1e-6, "the run without the round trip");
        !why.empty())
      t.fail(j, "after save_checkpoint and load_checkpoint into a fresh trainer, " + why);
    else t.pass();
  }
  return t.result("steps after load_checkpoint = steps without the round trip");
}

Check checkpoint_contents(const Cases& cases) {
  Tally t;
  for (const Judged& j : checkpoint_cases(cases, t)) {
    const std::string keys = "," + text_attribute(*j.response, "checkpoint_keys") + ",";
    std::string absent;
    for (const char* key : {"model_state_dict", "optimizer_state_dict"})
      if (keys.find(std::string(",") + key + ",") == std::string::npos) absent += (absent.empty() ? "" : ", ") + std::string(key);
    if (!absent.empty())
      t.fail(j, "the checkpoint holds {" + text_attribute(*j.response, "checkpoint_keys") + "}, without " + absent +
             raised(*j.response, "saved"));
    else t.pass();
  }
  return t.result("{model_state_dict, optimizer_state_dict}");
}

// ---------------------------------------------------------------- modules
// trainable, freeze() and unfreeze() decide which parameters the trainer moves: the module's
// `trainable` flag and whether its parameters require grad, as constructed, after freeze(), after
// unfreeze(), constructed with trainable=False and with trainable=True. PCA modules hold U_k as a
// buffer (no parameter: -1; a parameter is accepted, requiring grad as trainable says) and are
// not trainable unless unfrozen or built trainable.
Check trainable_flags(const Cases& cases, const std::string& module) {
  Tally t;
  const bool pca = module.rfind("PCA", 0) == 0;
  for (const Judged& j : cases.answered(t, K::modules)) {
    Failure wrong;
    const at::Tensor* flags = output(*j.response, module);
    if (!flags || flags->sizes() != at::IntArrayRef({5, 2}))
      wrong = {"no " + module + " flags (5, 2)", shapes(flags, {5, 2}, module, "(state, [trainable, requires grad])")};
    const at::Tensor f = flags ? flags->to(at::kLong) : at::Tensor();
    for (int64_t state = 0; state < 5 && wrong.empty(); ++state) {
      const bool trainable = pca ? state == 2 || state == 4 : state != 1 && state != 3;
      const int64_t flag = f[state][0].item<int64_t>(), requires = f[state][1].item<int64_t>();
      const bool requires_ok = pca ? (requires == -1 || requires == (trainable ? 1 : 0)) : requires == (trainable ? 1 : 0);
      if (flag != (trainable ? 1 : 0) || !requires_ok) {
        const bool flag_wrong = flag != (trainable ? 1 : 0);
        wrong = {module + " " + kModuleStates[state] + ": trainable = " + std::to_string(flag) + ", parameters require grad = " +
                     std::to_string(requires) + " (-1: none), expected trainable = " + (trainable ? "1" : "0") +
                     (pca ? " (U_k a buffer)" : ", parameters requiring grad = " + std::string(trainable ? "1" : "0")),
                 one_number(module + (flag_wrong ? " trainable" : " parameters require grad") + " (1 yes, 0 no)",
                            std::string("as defined, ") + kModuleStates[state], {state, flag_wrong ? 0 : 1},
                            static_cast<double>(flag_wrong ? flag : requires), trainable ? 1.0 : 0.0, 0)};
      }
    }
    if (!wrong.empty()) t.fail(j, wrong);
    else t.pass();
  }
  return t.result(pca ? "frozen by default, trainable when unfrozen or built trainable"
                      : "trainable by default, frozen by freeze() or trainable=False");
}

// ---------------------------------------------------------------- the built-in cases
// The state both sides start from: learned linear encoder and decoder (Xavier-uniform, seeded), a
// codebook of latents moved by noise, batches of the dataset's rows.
struct State {
  at::Tensor encoder_weight, decoder_weight, codebook, X, Y, U_k;
};

State initial_state(uint64_t seed, int64_t codewords) {
  const GaussianDataset data(GaussianDatasetOptions().d(16).k(4).n_samples(1000).seed(5));
  State s;
  s.X = data.X.contiguous();
  s.Y = data.Y.contiguous();
  s.U_k = data.U_k.contiguous();
  s.encoder_weight = LearnedLinearEncoder(LearnedLinearEncoderOptions(16, 4).seed(seed))->weight.detach().clone();
  s.decoder_weight = LearnedLinearDecoder(LearnedLinearDecoderOptions(4, 16).seed(seed + 1))->weight.detach().clone();
  at::Generator gen = make_generator(seed + 2);
  const at::Tensor latents = s.X.slice(0, 0, codewords).matmul(s.encoder_weight.t());
  s.codebook = (latents + 0.1 * at::randn(latents.sizes(), gen, at::kFloat)).contiguous();
  return s;
}

// The model's attributes and datasets: learned modules take the state's weights, PCA ones its U_k.
void add_model(std::vector<Attribute>& attributes, std::vector<std::pair<std::string, at::Tensor>>& datasets, const State& s,
               const std::string& cls, const std::string& modules, const std::string& optimizer) {
  attributes.insert(attributes.end(), {{"class", cls}, {"encoder", modules}, {"decoder", modules}, {"optimizer", optimizer}});
  if (modules == "pca") datasets.emplace_back("U_k", s.U_k);
  else datasets.insert(datasets.end(), {{"encoder_weight", s.encoder_weight}, {"decoder_weight", s.decoder_weight}});
  datasets.emplace_back("codebook", s.codebook);
}

GoldenRecord train_case(const std::string& name, const std::string& setting, const State& s, double lr, double beta,
                        const std::string& call, const std::string& batch_form, int64_t first_row, const std::string& cls,
                        const std::string& modules, const std::string& optimizer) {
  const int64_t steps = 3, B = 64;
  const at::Tensor rows = at::arange(first_row, first_row + steps * B, at::kLong);
  std::vector<Attribute> attributes{{"kind", std::string("train")}, {"setting", setting}, {"lr", lr}, {"beta", beta},
                                    {"call", call}, {"batch_form", batch_form}};
  std::vector<std::pair<std::string, at::Tensor>> datasets;
  add_model(attributes, datasets, s, cls, modules, optimizer);
  datasets.emplace_back("batches", s.X.index_select(0, rows).view({steps, B, -1}).contiguous());
  datasets.emplace_back("batch_targets", s.Y.index_select(0, rows).view({steps, B, -1}).contiguous());
  return make_record("builtin_train_" + name, std::move(attributes), std::move(datasets));
}

GoldenRecord evaluate_case(const std::string& name, const State& s, int64_t batch_size, int64_t seed, const std::string& cls,
                           const std::string& modules) {
  std::vector<Attribute> attributes{{"kind", std::string("evaluate")}, {"lr", 1e-2}, {"beta", 0.25}, {"batch_size", batch_size},
                                    {"codebook_size", s.codebook.size(0)}, {"seed", seed}};
  std::vector<std::pair<std::string, at::Tensor>> datasets;
  add_model(attributes, datasets, s, cls, modules, "adam");
  datasets.insert(datasets.end(), {{"train_batch", s.X.slice(0, 0, 64).contiguous()},
                                   {"train_batch_after", s.X.slice(0, 64, 128).contiguous()},
                                   {"X", s.X},
                                   {"Y", s.Y}});
  return make_record("builtin_evaluate_" + name, std::move(attributes), std::move(datasets));
}

GoldenRecord checkpoint_case(const State& s, const State& other) {
  std::vector<Attribute> attributes{{"kind", std::string("checkpoint")}, {"lr", 1e-2}, {"beta", 0.25}, {"steps_before", int64_t{2}}};
  std::vector<std::pair<std::string, at::Tensor>> datasets;
  add_model(attributes, datasets, s, "VectorQuantizer", "learned", "adam");
  datasets.insert(datasets.end(), {{"other_encoder_weight", other.encoder_weight},
                                   {"other_decoder_weight", other.decoder_weight},
                                   {"other_codebook", other.codebook},
                                   {"batches", s.X.slice(0, 0, 4 * 64).view({4, 64, -1}).contiguous()}});
  return make_record("builtin_checkpoint_round_trip", std::move(attributes), std::move(datasets));
}

}  // namespace

std::vector<GoldenRecord> trainer_cases() {
  const State s = initial_state(51, 32), large = initial_state(54, 128), other = initial_state(57, 32);
  std::vector<GoldenRecord> out{
      train_case("explicit", "explicit", s, 1e-2, 0.5, "explicit", "tensor", 0, "VectorQuantizer", "learned", "adam"),
      train_case("defaults_pairs", "defaults", s, 1e-2, 0.25, "defaults", "pair", 192, "VectorQuantizer", "learned", "adam"),
      train_case("sgd", "sgd", s, 5e-2, 0.25, "explicit", "tensor", 384, "VectorQuantizer", "pca", "sgd")};
  for (const char* cls : kQuantizerClasses)
    out.push_back(train_case(std::string("codebook_only_") + short_class(cls), "codebook_only", s, 1e-2, 0.25, "explicit", "tensor",
                             576, cls, "pca", "adam"));
  out.push_back(evaluate_case("batches_divide", s, 100, 61, "VectorQuantizer", "learned"));
  out.push_back(evaluate_case("last_batch_short", s, 64, 62, "VectorQuantizer", "learned"));
  // Above 100 codewords (where the baseline's codebook statistics sample), frozen PCA modules.
  out.push_back(evaluate_case("codebook_of_128_pca", large, 64, 63, "VectorQuantizer", "pca"));
  out.push_back(checkpoint_case(s, other));
  out.push_back(make_record("builtin_modules", {{"kind", std::string("modules")}, {"d", int64_t{16}}, {"k", int64_t{4}},
                                                {"codebook_size", int64_t{32}}},
                            {{"U_k", s.U_k}}));
  return out;
}

std::vector<CheckDefinition> trainer_checks() {
  const std::vector<std::string> learned_modules{"Trainer", "Trainer.train_step", "VQVAE", "LearnedLinearEncoder",
                                                 "LearnedLinearDecoder", "VectorQuantizer"};
  const auto pca_modules = [](const std::string& cls) {
    return std::vector<std::string>{"Trainer", "Trainer.train_step", "VQVAE", "PCAEncoder", "PCADecoder", cls};
  };
  std::vector<std::string> evaluating = learned_modules;
  evaluating.insert(evaluating.end(), {"Trainer.evaluate", "MetricsTracker", "MetricsTracker.compute_utilization_metrics",
                                       "MetricsTracker.compute_distortion_metrics", "MetricsTracker.compute_codebook_stats"});
  std::vector<std::string> checkpointing = learned_modules;
  checkpointing.insert(checkpointing.end(), {"Trainer.save_checkpoint", "Trainer.load_checkpoint"});
  const auto judge = [](std::function<Check(const Cases&)> f) { return [f](const Cases& c, Findings&) { return f(c); }; };
  std::vector<CheckDefinition> out{
      {"trainer.train_step.losses", "train_step(x, β) returns each step's four losses as ours from the same state (Adam)",
       std::nullopt, {K::train}, learned_modules,
       judge([](const Cases& c) { return train_same_as_ours(c, "explicit", "", true, false, "total, recon, codebook, commitment = ours"); })},
      {"trainer.train_step.parameters", "after each train_step(x, β) the parameters equal ours from the same state (Adam)",
       std::nullopt, {K::train}, learned_modules,
       judge([](const Cases& c) { return train_same_as_ours(c, "explicit", "", false, true, "encoder, decoder, codebook = ours"); })},
      {"trainer.train_step.defaults", "train_step((x, y)) with its defaults (β = 0.25) = ours from the same state", std::nullopt,
       {K::train}, learned_modules,
       judge([](const Cases& c) { return train_same_as_ours(c, "defaults", "", true, true, "losses and parameters equal ours"); })},
      {"trainer.train_step.sgd", "the trainer steps the optimizer it is given (SGD): losses and codebook = ours", std::nullopt,
       {K::train}, pca_modules("VectorQuantizer"),
       judge([](const Cases& c) { return train_same_as_ours(c, "sgd", "", true, true, "SGD, frozen PCA, codebook = ours"); })}};
  for (const char* name : kQuantizerClasses) {
    const std::string cls = name;
    out.push_back({std::string("trainer.codebook_only.") + short_class(cls),
                   "frozen PCA encoder and decoder, " + cls + ": only the codebook trains, as ours (the study's setting)",
                   std::nullopt, {K::train}, pca_modules(cls), judge([cls](const Cases& c) {
                     return train_same_as_ours(c, "codebook_only", cls, true, true, "losses and codebook = ours");
                   })});
  }
  out.push_back({"trainer.configuration.train_step",
                 "at the configuration given to conform (its quantizer, modules, optimizer, lr, β, codebook): losses and parameters = ours",
                 std::nullopt, {K::train}, {"Trainer", "Trainer.train_step", "VQVAE"},
                 judge([](const Cases& c) { return train_same_as_ours(c, "configuration", "", true, true, "losses and parameters equal ours"); })});
  out.push_back({"trainer.state.init_codebook_not_written", "training never writes into the tensor passed as init_codebook",
                 std::nullopt, {K::train}, {"Trainer", "Trainer.train_step", "VQVAE"}, judge(init_codebook_not_written)});
  out.push_back({"trainer.evaluate.recon_loss", "evaluate's recon_loss = mean (x_recon − x)² over the whole set", std::nullopt,
                 {K::evaluate}, evaluating, judge(evaluate_recon_loss)});
  for (const char* key : kMetricKeys) {
    const std::string k = key;
    out.push_back({"trainer.evaluate." + k, "evaluate's " + k + " = MetricsTracker's on the whole set", std::nullopt, {K::evaluate},
                   evaluating, judge([k](const Cases& c) { return evaluate_metric(c, k); })});
  }
  out.push_back({"trainer.evaluate.parameters_unchanged", "evaluate changes no parameter", std::nullopt, {K::evaluate}, evaluating,
                 judge([](const Cases& c) { return evaluate_is_pure(c, Purity::parameters); })});
  out.push_back({"trainer.evaluate.optimizer_unchanged", "evaluate changes no optimizer state", std::nullopt, {K::evaluate},
                 evaluating, judge([](const Cases& c) { return evaluate_is_pure(c, Purity::optimizer); })});
  out.push_back({"trainer.evaluate.global_generator_unchanged", "evaluate leaves torch's global generator where it was",
                 std::nullopt, {K::evaluate}, evaluating, judge([](const Cases& c) { return evaluate_is_pure(c, Purity::generator); })});
  out.push_back({"trainer.evaluate.repeatable", "evaluate called again with the same loader and tracker returns the same values",
                 std::nullopt, {K::evaluate}, evaluating, judge(evaluate_repeatable)});
  out.push_back({"trainer.evaluate.training_after", "a train_step after evaluate equals the same step without the evaluation",
                 std::nullopt, {K::evaluate}, evaluating, judge(training_after_evaluate)});
  out.push_back({"trainer.checkpoint.resumes", "steps after load_checkpoint into a fresh trainer = steps without the round trip",
                 std::nullopt, {K::checkpoint}, checkpointing, judge(checkpoint_resumes)});
  out.push_back({"trainer.checkpoint.contents", "save_checkpoint writes {model_state_dict, optimizer_state_dict}", std::nullopt,
                 {K::checkpoint}, checkpointing, judge(checkpoint_contents)});
  const std::pair<const char*, const char*> modules[] = {{"LearnedLinearEncoder", "learned_encoder"},
                                                         {"LearnedLinearDecoder", "learned_decoder"},
                                                         {"PCAEncoder", "pca_encoder"},
                                                         {"PCADecoder", "pca_decoder"},
                                                         {"VectorQuantizer", "vector_quantizer"}};
  for (const auto& [module, id] : modules) {
    const std::string m = module;
    out.push_back({std::string("trainer.trainable.") + id, m + ": trainable, freeze() and unfreeze() decide which parameters train",
                   std::nullopt, {K::modules}, {m}, judge([m](const Cases& c) { return trainable_flags(c, m); })});
  }
  return out;
}

}  // namespace vqvae::conform