#include <vqvae/quantizers/vq.h>

#include <ATen/ATen.h>

namespace vqvae {

VectorQuantizerImpl::VectorQuantizerImpl(const QuantizerOptions& options)
    : QuantizerBase("VectorQuantizer", options) {}

at::Tensor VectorQuantizerImpl::estimate(const at::Tensor& z, const at::Tensor& q) const {
  // Fix #2: always the straight-through estimator. With a frozen encoder z does not require
  // grad and z_q simply has no gradient; its value is the same either way.
  return z + (q - z).detach();
}

}  // namespace vqvae
