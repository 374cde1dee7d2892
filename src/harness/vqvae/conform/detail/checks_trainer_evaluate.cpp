// Area trainer, Trainer.evaluate (detail/checks_trainer.h; the area's check list is in
// checks_trainer.cpp): on the `evaluate` cases, recon_loss against its definition over the whole
// set, each metric against MetricsTracker on the whole set, its purity (parameters, optimizer
// state, torch's global generator), evaluation repeated, and a training step after it.
#include <vqvae/conform/detail/checks_trainer.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/harness/detail/references.h>

#include <ATen/ATen.h>

#include <cmath>

namespace vqvae::conform {
namespace {

using K = ConformCaseKind;

std::string batches_text(const Judged& j) {
  return " (" + std::to_string(j.request->dataset("X").size(0)) + " rows in batches of " +
         std::to_string(int_attribute(*j.request, "batch_size", 0)) + ", " +
         std::to_string(j.request->dataset("codebook").size(0)) + " codewords)";
}

}  // namespace

Check evaluate_recon_loss(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, K::evaluate)) {
    const bool le = learned_module(*j.request, "encoder");
    const at::Tensor* We = le ? output(*j.response, "evaluated_encoder_weight") : &j.request->dataset("U_k");
    const at::Tensor* Wd = learned_module(*j.request, "decoder") ? output(*j.response, "evaluated_decoder_weight") : &j.request->dataset("U_k");
    const at::Tensor* C = output(*j.response, "evaluated_codebook");
    if (!We || !Wd || !C) { t.fail(j, "the parameters evaluated with are missing"); continue; }
    const at::Tensor x = f64(j.request->dataset("X"));
    const at::Tensor z = le ? x.matmul(f64(*We).t()) : x.matmul(f64(*We));
    const at::Tensor z_q = f64(*C).index_select(0, nearest_codeword_reference(z, *C));
    // Decoding is z_q · Wᵀ either way: a learned weight is (d, k), as U_k is.
    const double recon = z_q.matmul(f64(*Wd).t()).sub(x).pow(2).mean().item<double>();
    const double value = scalar_output(*j.response, "recon_loss");
    if (std::isnan(value)) t.fail(j, "no recon_loss");
    else if (const auto numbers = compare(value, recon, 1e-5 * recon, "recon_loss", "the mean of (x_recon − x)² over the whole set"))
      t.fail(j, {"recon_loss = " + format_significant(value, 6) + ", the mean of (x_recon − x)² over the whole set is " +
                     format_significant(recon, 6) + batches_text(j),
                 numbers});
    else t.pass();
  }
  return t.result("the mean over the whole set, at batch sizes that divide it and one that does not");
}

Check evaluate_metric(const Cases& cases, const std::string& key) {
  Tally t;
  for (const Judged& j : cases.answered(t, K::evaluate)) {
    const double a = scalar_output(*j.response, key), b = scalar_output(*j.response, "tracker_" + key);
    if (std::isnan(a)) t.fail(j, "no " + key + " among evaluate's keys");
    else if (std::isnan(b)) t.fail(j, "no tracker_" + key + " (MetricsTracker on the whole set)");
    else if (const auto numbers = compare(a, b, 1e-9 + 1e-5 * std::abs(b), key, "MetricsTracker on the whole set"))
      t.fail(j, {key + " = " + format_significant(a, 6) + ", MetricsTracker on the whole set gives " + format_significant(b, 6) +
                     batches_text(j),
                 numbers});
    else t.pass();
  }
  return t.result("MetricsTracker's value on the whole set");
}

Check evaluate_is_pure(const Cases& cases, Purity what) {
  Tally t;
  for (const Judged& j : cases.answered(t, K::evaluate)) {
    if (what == Purity::parameters || what == Purity::optimizer) {
      const char* name = what == Purity::parameters ? "params_changed" : "optimizer_changed";
      const double change = scalar_output(*j.response, name);
      if (std::isnan(change)) t.fail(j, std::string("no ") + name);
      else if (change != 0)
        t.fail(j, {"evaluate changed " + std::string(what == Purity::parameters ? "a parameter" : "the optimizer's state") +
                       " by " + format_significant(change, 3),
                   one_number(name, "0 (unchanged)", {}, change, 0, 0)});
      else t.pass();
      continue;
    }
    const at::Tensor* rng = output(*j.response, "rng_after");
    const at::Tensor expected = at::rand({4}, make_generator(static_cast<uint64_t>(int_attribute(*j.request, "seed", 0))), at::kFloat);
    if (!rng) t.fail(j, "no rng_after");
    else if (rng->sizes() != expected.sizes() || !at::equal(rng->to(at::kFloat), expected))
      t.fail(j, {"evaluate drew from the global random generator (torch.rand(4) after it is not the "
             "seed's; iterating a DataLoader draws its base seed from it even with shuffle=False: save and restore "
             "torch's RNG state around evaluation)",
                 compare(*rng, expected, 0, 0, "rng_after", "torch.rand(4) right after torch.manual_seed(seed)")});
    else t.pass();
  }
  switch (what) {
    case Purity::parameters: return t.result("no parameter changed");
    case Purity::optimizer: return t.result("the optimizer's state unchanged");
    case Purity::generator: return t.result("torch's global generator where it was");
  }
  return t.result("");
}

Check evaluate_repeatable(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, K::evaluate)) {
    Failure wrong;
    std::vector<std::string> keys{"recon_loss"};
    keys.insert(keys.end(), std::begin(kMetricKeys), std::end(kMetricKeys));
    int compared = 0;
    for (const std::string& key : keys) {
      const double first = scalar_output(*j.response, key), second = scalar_output(*j.response, "second_" + key);
      if (std::isnan(first)) continue;  // evaluate_metric says it is missing
      ++compared;
      if (std::isnan(second)) { wrong = "no second_" + key + raised(*j.response, "second"); break; }
      if (const auto numbers = compare(second, first, 1e-12 * std::max(1.0, std::abs(first)), "second_" + key,
                                       "the first call's " + key)) {
        wrong = {key + " = " + format_significant(first, 8) + " on the first call, " + format_significant(second, 8) +
                     " on the second with the same loader and tracker (state carried across calls)",
                 numbers};
        break;
      }
    }
    if (wrong.empty() && compared == 0) wrong = "the first call returned none of recon_loss and the metrics: nothing to compare";
    if (!wrong.empty()) t.fail(j, wrong);
    else t.pass();
  }
  return t.result("the same values from the same loader and tracker");
}

Check training_after_evaluate(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, K::evaluate)) {
    if (!output(*j.response, "twin_losses") && !text_attribute(*j.response, "error_twin").empty()) {
      // The steps raise without evaluation too: the train_step checks report it.
      t.skip(j.request->name + ": train_step raised without evaluation too" + raised(*j.response, "twin"));
      continue;
    }
    if (!output(*j.response, "after_losses")) { t.fail(j, "no after_losses" + raised(*j.response, "after")); continue; }
    if (const Failure why = trajectory_problem(*j.response, "after_", *j.response, "twin_", parameter_names(*j.request), true, true,
                                               1e-7, 1e-6, "the same step without evaluation");
        !why.empty())
      t.fail(j, "after evaluate, " + why);
    else t.pass();
  }
  return t.result("the step after evaluation = the step without it");
}

}  // namespace vqvae::conform
