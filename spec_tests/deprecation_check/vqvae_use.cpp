// The control for legacy_use.cpp: the same use, written with the composable vqvae::VQVAE, must
// compile with -Werror=deprecated-declarations.
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/vq.h>

vqvae::VQVAEOutput use_model(const at::Tensor& U_k, const at::Tensor& x) {
  vqvae::VQVAE model(vqvae::PCAEncoder(U_k), vqvae::VectorQuantizer(8, 256), vqvae::PCADecoder(U_k));
  return model->forward(x);
}
