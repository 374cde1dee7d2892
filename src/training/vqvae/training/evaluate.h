// Whole-dataset evaluation of a model: what every evaluation of a training run records
// (training/fit.h), on the training set and on a held-out set of the same source.
//
// Symbols: N samples, d ambient, k latent, n codebook size.
#pragma once

#include <vqvae/models/vqvae.h>
#include <vqvae/training/run_result.h>

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace vqvae {

/// Whole-dataset evaluation of `model` on x (N, d): losses (with `beta`), distortion, usage and
/// codebook geometry. No gradient, no change to the model. Leaves step, epoch, revived and the
/// test_* fields 0 (the loop fills them).
EvalRecord evaluate_model(VQVAE& model, const at::Tensor& x, double beta);

/// The codebook on held-out samples x_test (N_test, d): distortion and its standard error, usage.
struct HeldOutEvaluation {
  double distortion = 0;     ///< mean over samples of ‖z − z_q_hard‖²
  double distortion_se = 0;  ///< std of the per-sample ‖z − z_q_hard‖² / √N_test
  double perplexity = 0;
  int64_t dead_codes = 0;
  int64_t codes_used = 0;
};
HeldOutEvaluation evaluate_held_out(VQVAE& model, const at::Tensor& x_test);

}  // namespace vqvae
