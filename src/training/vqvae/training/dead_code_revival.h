// Dead-code revival (vector-quantize-pytorch's threshold_ema_dead_code approach), one step at a
// time: a codeword assigned no sample of the last W steps (counted since it was last used or
// revived) is replaced by a latent of the current batch drawn at random (with replacement).
//
// Symbols: B batch, k latent, n codebook size.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace vqvae {

class DeadCodeRevival {
 public:
  /// For a codebook of n codewords and a window of `window` >= 1 steps.
  DeadCodeRevival(int64_t n, int64_t window);

  /// After step `step` (from 1), whose latents z (B, k) were assigned `indices` (B): re-seeds the
  /// codewords dead at this step in `codebook` (n, k), in place and without gradient, from rows of
  /// z drawn with `generator`. Returns how many were revived. The optimizer's state (Adam's
  /// moments) of a revived codeword is kept: a dead codeword received no gradient during the
  /// window, so its moments have decayed towards zero.
  int64_t after_step(int64_t step, const at::Tensor& z, const at::Tensor& indices, const at::Tensor& codebook,
                     at::Generator& generator);

  /// Codewords revived so far.
  int64_t revived() const { return revived_; }

 private:
  int64_t n_, window_, revived_ = 0;
  std::vector<int64_t> last_used_;  // (n): step of last use or revival
};

}  // namespace vqvae
