// Internal to `vqvae conform`: the trainer area in two files — checks_trainer.cpp (train_step,
// the caller's init_codebook, the checkpoint, trainable/freeze/unfreeze, the built-in cases and
// the area's check list) and checks_trainer_evaluate.cpp (Trainer.evaluate) — and what they share.
#pragma once

#include <vqvae/conform/detail/referee.h>

#include <string>
#include <vector>

namespace vqvae::conform {

/// The parameters a step leaves, where the model has them: learned modules' weights and the codebook.
std::vector<std::string> parameter_names(const GoldenRecord& request);

/// The first step and quantity at which `got`'s trajectory (its losses (S, 4) under
/// `got_prefix`losses, parameters under `got_prefix`name, one per step) leaves `want`'s, or "", with
/// its numbers (element (step, ...) for a trajectory).
/// atol/rtol for the parameters; `whose` names `want` in the message. A prefix "after_" is also the
/// stage whose exception a driver writes as error_after.
Failure trajectory_problem(const GoldenRecord& got, const std::string& got_prefix, const GoldenRecord& want,
                           const std::string& want_prefix, const std::vector<std::string>& names, bool losses,
                           bool parameters, double atol, double rtol, const std::string& whose);

// ---------------------------------------------------------------- evaluate (checks_trainer_evaluate.cpp)
/// recon_loss against its definition over the whole set X, from the parameters the driver
/// evaluated with (learned weights, or U_k for PCA modules; every class's forward value is q).
Check evaluate_recon_loss(const Cases& cases);
/// One metric of evaluate against the implementation's own MetricsTracker applied to the whole set
/// at once (tracker_<key>): evaluate is judged on aggregating over the set, the metrics'
/// definitions by the metrics area.
Check evaluate_metric(const Cases& cases, const std::string& key);
/// What evaluate must leave as it was.
enum class Purity { parameters, optimizer, generator };
Check evaluate_is_pure(const Cases& cases, Purity what);
/// State across calls: evaluate called again with the same loader and tracker (after the same
/// torch.manual_seed) returns the same values.
Check evaluate_repeatable(const Cases& cases);
/// A training step after evaluation equals the same step without it.
Check training_after_evaluate(const Cases& cases);

}  // namespace vqvae::conform
