// Reproduction of bug #3 (seed BASELINE_FIXES.md, "CRITICAL BUG #3: Backwards Naming in Legacy
// Code", src/models/legacy.py lines 47-50, 68, 78) for spec_tests/fix3_legacy_naming_test.cpp.
// Test tree only: never part of src/.
//
// The baseline's "Current code":
//   self.register_buffer('encoder_weight', U_k.T)  # (k, d)
//   self.register_buffer('decoder_weight', U_k)    # (d, k)
//   z = x @ self.decoder_weight        # ❌ Using decoder_weight to encode!
//   x_recon = z @ self.encoder_weight  # ❌ Using encoder_weight to decode!
// The values it computes are right; the names lie (a checkpoint read by name, or a user reading
// `encoder_weight`, gets the decoder's matrix).
#pragma once

#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/base.h>
#include <vqvae/quantizers/vq.h>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace vqvae::mutants {

class SwappedLegacyVQVAEImpl : public torch::nn::Module {
 public:
  /// U_k (d, k); codebook (n, k).
  SwappedLegacyVQVAEImpl(const at::Tensor& U_k, const at::Tensor& codebook)
      : torch::nn::Module("SwappedLegacyVQVAE") {
    encoder_weight = register_buffer("encoder_weight", U_k.detach().clone().t());  // (k, d)
    decoder_weight = register_buffer("decoder_weight", U_k.detach().clone());      // (d, k)
    quantizer = register_module(
        "quantizer",
        VectorQuantizer(QuantizerOptions(codebook.size(1), codebook.size(0)).init_codebook(codebook)));
  }

  at::Tensor encode(const at::Tensor& x) { return x.matmul(decoder_weight); }  // the bug
  at::Tensor decode(const at::Tensor& z) { return z.matmul(encoder_weight); }  // the bug

  VQVAEOutput forward(const at::Tensor& x) {
    VQVAEOutput out;
    out.z = encode(x);
    QuantizerOutput q = quantizer->forward(out.z);
    out.z_q = q.z_q;
    out.z_q_hard = q.z_q_hard;
    out.indices = q.indices;
    out.x_recon = decode(out.z_q);
    return out;
  }

  at::Tensor encoder_weight;  ///< buffer (k, d) = U_kᵀ, used to decode
  at::Tensor decoder_weight;  ///< buffer (d, k) = U_k, used to encode
  VectorQuantizer quantizer{nullptr};
};
TORCH_MODULE(SwappedLegacyVQVAE);

}  // namespace vqvae::mutants
