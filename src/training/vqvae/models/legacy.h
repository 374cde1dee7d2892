// LinearGaussianVQVAE (src/models/legacy.py in the baseline): the fixed-PCA model from before the
// composable VQVAE. Fix #3 lives here: buffer `encoder_weight` = U_k (d, k) encodes
// (z = x · encoder_weight) and buffer `decoder_weight` = U_kᵀ (k, d) decodes
// (x_recon = z · decoder_weight); the baseline had the two names swapped in use.
//
// Deprecated: compose VQVAE(PCAEncoder(U_k), VectorQuantizer(k, n, codebook), PCADecoder(U_k))
// instead. Using the class warns at compile time ([[deprecated]]) and, once per process, at run
// time on stderr.
#pragma once

#include <vqvae/core/choices.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/vq.h>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <string>

namespace vqvae {

/// The codebook initialisations the legacy model knew.
enum class LegacyInitMethod { uniform, kmeans, rd_gaussian };
inline constexpr ChoiceTable<LegacyInitMethod, 3> kLegacyInitNames{
    {{LegacyInitMethod::uniform, "uniform"},
     {LegacyInitMethod::kmeans, "kmeans"},
     {LegacyInitMethod::rd_gaussian, "rd_gaussian"}}};

/// "uniform" | "kmeans" | "rd_gaussian" -> LegacyInitMethod; throws InvalidArgument otherwise.
LegacyInitMethod parse_legacy_init_method(const std::string& name);

/// The runtime deprecation message, printed once per process.
extern const char* const kLegacyDeprecationWarning;

/// Stops the runtime warning for the rest of the process: for tools that use the legacy model
/// on purpose, as a reference (`vqvae validate` compares against it).
void silence_legacy_deprecation_warning();

class [[deprecated(
    "LinearGaussianVQVAE is deprecated: compose vqvae::VQVAE(PCAEncoder, VectorQuantizer, "
    "PCADecoder) instead")]] LinearGaussianVQVAEImpl : public torch::nn::Module {
 public:
  /// @param U_k       (d, k) orthonormal columns; d, k must match the arguments
  /// @param init_data (N, k) latents for kmeans / rd_gaussian; ignored by uniform
  LinearGaussianVQVAEImpl(int64_t d, int64_t k, int64_t n, const at::Tensor& U_k,
                          LegacyInitMethod init_method = LegacyInitMethod::uniform,
                          const at::Tensor& init_data = {},
                          std::optional<uint64_t> seed = std::nullopt);

  /// x (B, d) -> z (B, k) = x · encoder_weight
  at::Tensor encode(const at::Tensor& x);
  /// z (B, k) -> x_recon (B, d) = z · decoder_weight
  at::Tensor decode(const at::Tensor& z);
  VQVAEOutput forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  at::Tensor encoder_weight;  ///< buffer (d, k) = U_k
  at::Tensor decoder_weight;  ///< buffer (k, d) = U_kᵀ
  VectorQuantizer quantizer{nullptr};

 private:
  int64_t d_, k_;
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
/// Module holder; deprecated with its Impl.
class [[deprecated(
    "LinearGaussianVQVAE is deprecated: compose vqvae::VQVAE(PCAEncoder, VectorQuantizer, "
    "PCADecoder) instead")]] LinearGaussianVQVAE
    : public torch::nn::ModuleHolder<LinearGaussianVQVAEImpl> {
 public:
  using torch::nn::ModuleHolder<LinearGaussianVQVAEImpl>::ModuleHolder;
};
#pragma GCC diagnostic pop

}  // namespace vqvae
