// The three quantizers by name: the choice a configuration makes (`quantizer`: vq | rotation |
// projection), and the factory that builds the chosen one.
#pragma once

#include <vqvae/core/choices.h>
#include <vqvae/quantizers/base.h>

namespace vqvae {

/// Which gradient estimator carries the reconstruction loss's gradient from z_q to z.
enum class QuantizerKind {
  vq,          ///< VectorQuantizer: straight-through (van den Oord et al., 2017)
  rotation,    ///< RotationVectorQuantizer: the rotation trick (Fifty et al., 2024)
  projection,  ///< ProjectionVectorQuantizer: the baseline's projection onto q − z
};
inline constexpr ChoiceTable<QuantizerKind, 3> kQuantizerNames{{{QuantizerKind::vq, "vq"},
                                                                 {QuantizerKind::rotation, "rotation"},
                                                                 {QuantizerKind::projection, "projection"}}};
inline const char* to_string(QuantizerKind kind) { return choice_name(kQuantizerNames, kind); }

/// A new quantizer of `kind` with `options`.
QuantizerPtr make_quantizer(QuantizerKind kind, const QuantizerOptions& options);

/// The kind of `quantizer` when it is exactly one of the three classes (not a subclass, which
/// could change forward or the estimator); std::nullopt otherwise.
std::optional<QuantizerKind> exact_kind(const QuantizerBase& quantizer);

}  // namespace vqvae
