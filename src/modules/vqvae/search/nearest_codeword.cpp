#include <vqvae/search/nearest_codeword.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/math/search_kernel.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <limits>

namespace vqvae {
namespace {

// float64: rows [begin, end) of z (B, k) against codebook (n, k), a plain loop (float64 is for
// references and validation, not hot loops); writes indices, returns the first row with no
// finite distance, or -1.
template <typename T>
int64_t search_rows(const T* z, const T* codebook, int64_t n, int64_t k, int64_t begin,
                    int64_t end, int64_t* indices) {
  int64_t bad_row = -1;
  for (int64_t i = begin; i < end; ++i) {
    const T* zi = z + i * k;
    T best = std::numeric_limits<T>::infinity();
    int64_t best_j = -1;
    for (int64_t j = 0; j < n; ++j) {
      const T* cj = codebook + j * k;
      T distance = 0;
      for (int64_t t = 0; t < k; ++t) {
        const T diff = zi[t] - cj[t];
        distance += diff * diff;
      }
      if (distance < best) {  // strict: the first of equal distances wins
        best = distance;
        best_j = j;
      }
    }
    indices[i] = best_j;
    if (best_j < 0 && bad_row < 0) bad_row = i;
  }
  return bad_row;
}

}  // namespace

at::Tensor nearest_codeword(const at::Tensor& z, const at::Tensor& codebook) {
  const char* where = "nearest_codeword";
  check_shape(codebook, where, "codebook", {-1, -1}, "(n, k)");
  check_shape(z, where, "z", {-1, codebook.size(1)}, "(B, k)");
  check_at_least(codebook.size(0), 1, where, "codebook size n");
  if (z.scalar_type() != codebook.scalar_type())
    throw_invalid_argument(where, "z and codebook must share a dtype, got " +
                                      std::string(c10::toString(z.scalar_type())) + " and " +
                                      std::string(c10::toString(codebook.scalar_type())));
  c10::NoGradGuard no_grad;
  if (!z.device().is_cpu()) return at::cdist(z.detach(), codebook.detach()).argmin(1);

  const at::Tensor zc = z.detach().contiguous();
  const at::Tensor cc = codebook.detach().contiguous();
  const int64_t B = zc.size(0), n = cc.size(0), k = cc.size(1);
  at::Tensor indices = at::empty({B}, at::kLong);
  int64_t* out = indices.data_ptr<int64_t>();
  int64_t bad_row = -1;
  if (zc.scalar_type() == at::kFloat) {
    kernels::PackedCodebook packed;
    kernels::pack_codebook(cc.data_ptr<float>(), n, k, packed);
    bad_row = kernels::search_nearest_parallel(packed, zc.data_ptr<float>(), B, out,
                                               at::get_num_threads());
  } else if (zc.scalar_type() == at::kDouble) {
    bad_row = search_rows(zc.data_ptr<double>(), cc.data_ptr<double>(), n, k, 0, B, out);
  } else {
    throw_invalid_argument(where, "z must be float32 or float64, got " +
                                      std::string(c10::toString(zc.scalar_type())));
  }
  if (bad_row >= 0)
    throw_invalid_argument(where, "z row " + std::to_string(bad_row) +
                                      " has no finite distance to any codeword (NaN or Inf in z "
                                      "or in the codebook)");
  return indices;
}

}  // namespace vqvae
