#include <vqvae/goldens/precision.h>

#include <ATen/ATen.h>

namespace vqvae {

GaussianDataset golden_dataset(GaussianDatasetOptions options, GoldenPrecision precision) {
  const GaussianDataset float32(options.dtype(at::kFloat));
  if (precision == GoldenPrecision::float32) return float32;
  GaussianDataset float64(options.dtype(at::kDouble));
  // (1, k): +1 where the float64 eigenvector points as the float32 one does, -1 where LAPACK's
  // double routine picked the other sign.
  const at::Tensor agree = (float64.U_k * float32.U_k.to(at::kDouble)).sum(0, /*keepdim=*/true);
  const at::Tensor sign = at::where(agree < 0, -1.0, 1.0).to(at::kDouble);
  float64.U_k = float64.U_k * sign;
  float64.z_true = float64.z_true * sign;
  float64.Sigma_z = float64.Sigma_z * sign.t() * sign;
  return float64;
}

at::Tensor stored_value(const at::Tensor& t, GoldenPrecision precision) {
  return precision == GoldenPrecision::float64 ? t.to(at::kFloat).to(at::kDouble) : t;
}

at::Tensor in_precision(const at::Tensor& t, GoldenPrecision precision) {
  if (!t.defined() || !at::isFloatingType(t.scalar_type())) return t;
  return t.to(precision == GoldenPrecision::float64 ? at::kDouble : at::kFloat);
}

at::Tensor as_stored(const at::Tensor& t) {
  if (!t.defined() || !at::isFloatingType(t.scalar_type())) return t;
  return t.to(at::kFloat).contiguous();
}

}  // namespace vqvae
