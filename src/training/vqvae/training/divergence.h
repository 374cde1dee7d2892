// Divergence of a training run: what became NaN/Inf (or too large for float32 distances) after
// a step, found by a cheap pass over the raw values, and the exception that stops the run with
// what was done before it (training/fit.h).
#pragma once

#include <vqvae/models/vqvae.h>
#include <vqvae/training/losses.h>
#include <vqvae/training/run_result.h>
#include <vqvae/training/trainer.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vqvae {

/// Thrown by fit when, after a step, a loss term, the latents or a trained parameter holds NaN or
/// Inf: training stops at that step. what() is one line, e.g. "training diverged at step 3:
/// codebook has 2048 NaN/Inf of 2048 values after the update (adam, lr 1e+30)"; partial() is the
/// run up to there (status diverged, the history's evaluations before that step, last_step =
/// step − 1, the summary of the last evaluation without the D(R) bound).
class TrainingDiverged : public std::runtime_error {
 public:
  TrainingDiverged(const std::string& message, std::shared_ptr<const TrainingRunResult> partial)
      : std::runtime_error(message), partial_(std::move(partial)) {}
  int64_t step() const { return partial_->diverged_at_step; }
  const TrainingRunResult& partial() const { return *partial_; }

 private:
  std::shared_ptr<const TrainingRunResult> partial_;
};

/// Watches one run's model and optimizer for values that end it.
class DivergenceWatch {
 public:
  /// Watches every parameter of `model` that requires a gradient (named as in the model, without
  /// the "quantizer." prefix: "codebook", "encoder.weight").
  explicit DivergenceWatch(VQVAE& model);

  /// After step `step` (from 1): "" when the step's four loss values, the trained parameters and
  /// Adam's moments (watched from the first step, which creates them) are finite and within
  /// ±sqrt(FLT_MAX), else one line saying which are not and how many values.
  std::string after_step(int64_t step, const LossOutput& loss, Trainer& trainer);

  /// The search (nearest_codeword) refused a row of `model`'s latents of `batch` (N, d): when z
  /// holds NaN/Inf, the codebook does, or every squared distance overflows float32, one line
  /// saying so (divergence); "" when it is none of these (the refusal stands on its own).
  std::string search_failure(VQVAE& model, const at::Tensor& batch) const;

 private:
  struct Watched {
    std::string name;  // "codebook", "Adam's exp_avg_sq of codebook"
    at::Tensor tensor;
    float limit = std::numeric_limits<float>::max();  // larger magnitudes count as Inf
  };
  void watch_optimizer_state(Trainer& trainer);
  std::vector<Watched> watched_;
};

}  // namespace vqvae
