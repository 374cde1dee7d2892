// Uses the deprecated vqvae::LinearGaussianVQVAE: compiled by CMakeLists.txt here with
// -Werror=deprecated-declarations, it must NOT compile (fix #3). vqvae_use.cpp is the same use of
// the composable VQVAE, which must compile with the same flags.
#include <vqvae/models/legacy.h>

vqvae::VQVAEOutput use_model(const at::Tensor& U_k, const at::Tensor& x) {
  vqvae::LinearGaussianVQVAE model(64, 8, 256, U_k);
  return model->forward(x);
}
