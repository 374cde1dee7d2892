#include <vqvae/models/legacy.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/initialization/codebook_init.h>
#include <vqvae/initialization/rd_init.h>

#include <ATen/ATen.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <ostream>

// This file implements the deprecated class; using it here is not a mistake.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace vqvae {

const char* const kLegacyDeprecationWarning =
    "warning: vqvae::LinearGaussianVQVAE is deprecated; compose vqvae::VQVAE(PCAEncoder, "
    "VectorQuantizer, PCADecoder) instead";

namespace {
std::atomic<bool> warning_silenced{false};
}  // namespace

void silence_legacy_deprecation_warning() { warning_silenced = true; }

LegacyInitMethod parse_legacy_init_method(const std::string& name) {
  return parse_choice(kLegacyInitNames, name, "LinearGaussianVQVAE: init_method");
}

LinearGaussianVQVAEImpl::LinearGaussianVQVAEImpl(int64_t d, int64_t k, int64_t n,
                                                 const at::Tensor& U_k,
                                                 LegacyInitMethod init_method,
                                                 const at::Tensor& init_data,
                                                 std::optional<uint64_t> seed)
    : torch::nn::Module("LinearGaussianVQVAE"), d_(d), k_(k) {
  static std::once_flag warned;
  if (!warning_silenced)
    std::call_once(warned, [] { std::cerr << kLegacyDeprecationWarning << std::endl; });

  const char* where = "LinearGaussianVQVAE";
  check_at_least(d, 1, where, "d");
  check_at_least(k, 1, where, "k");
  check_at_least(n, 1, where, "n");
  check_shape(U_k, where, "U_k", {d, k}, "(d, k)");
  // Fix #3: each buffer is used for what its name says.
  encoder_weight = register_buffer("encoder_weight", U_k.detach().clone());        // (d, k)
  decoder_weight = register_buffer("decoder_weight", U_k.detach().t().contiguous()); // (k, d)

  at::Tensor codebook;
  switch (init_method) {
    case LegacyInitMethod::uniform:
      codebook = uniform_init(n, k, seed);
      break;
    case LegacyInitMethod::kmeans:
      codebook = kmeans_init(n, k, init_data, KMeansOptions().seed(seed)).to(at::kFloat);
      break;
    case LegacyInitMethod::rd_gaussian:
      codebook = rd_gaussian_init(n, k, init_data, std::nullopt, seed);
      break;
  }
  quantizer = register_module("quantizer", VectorQuantizer(k, n, codebook));
}

at::Tensor LinearGaussianVQVAEImpl::encode(const at::Tensor& x) {
  check_shape(x, "LinearGaussianVQVAE::encode", "x", {-1, d_}, "(B, d)");
  return x.matmul(encoder_weight);  // (B, d) · (d, k) -> (B, k)
}

at::Tensor LinearGaussianVQVAEImpl::decode(const at::Tensor& z) {
  check_shape(z, "LinearGaussianVQVAE::decode", "z", {-1, k_}, "(B, k)");
  return z.matmul(decoder_weight);  // (B, k) · (k, d) -> (B, d)
}

VQVAEOutput LinearGaussianVQVAEImpl::forward(const at::Tensor& x) {
  VQVAEOutput out;
  out.z = encode(x);
  QuantizerOutput q = quantizer->forward(out.z);
  out.z_q = q.z_q;
  out.z_q_hard = q.z_q_hard;
  out.indices = q.indices;
  out.x_recon = decode(out.z_q);
  return out;
}

void LinearGaussianVQVAEImpl::pretty_print(std::ostream& stream) const {
  stream << "vqvae::LinearGaussianVQVAE(d=" << d_ << ", k=" << k_
         << ", n=" << quantizer->codebook_size() << ")";
}

}  // namespace vqvae
