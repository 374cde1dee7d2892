#include <vqvae/quantizers/quantizer_kind.h>

#include <vqvae/quantizers/projection_vq.h>
#include <vqvae/quantizers/rotation_vq.h>
#include <vqvae/quantizers/vq.h>

#include <typeinfo>

namespace vqvae {

QuantizerPtr make_quantizer(QuantizerKind kind, const QuantizerOptions& options) {
  switch (kind) {
    case QuantizerKind::vq: return VectorQuantizer(options).ptr();
    case QuantizerKind::rotation: return RotationVectorQuantizer(options).ptr();
    case QuantizerKind::projection: return ProjectionVectorQuantizer(options).ptr();
  }
  throw_invalid_argument("make_quantizer", "kind must be vq, rotation or projection, got " +
                                               std::to_string(static_cast<int>(kind)));
}

std::optional<QuantizerKind> exact_kind(const QuantizerBase& quantizer) {
  const std::type_info& type = typeid(quantizer);
  if (type == typeid(VectorQuantizerImpl)) return QuantizerKind::vq;
  if (type == typeid(RotationVectorQuantizerImpl)) return QuantizerKind::rotation;
  if (type == typeid(ProjectionVectorQuantizerImpl)) return QuantizerKind::projection;
  return std::nullopt;
}

}  // namespace vqvae
