#include <vqvae/initialization/init_kind.h>

#include <vqvae/initialization/codebook_init.h>
#include <vqvae/initialization/rd_init.h>

#include <ATen/ATen.h>

#include <string>

namespace vqvae {

at::Tensor initial_codebook(InitKind kind, int64_t n, int64_t k, const at::Tensor& data,
                            uint64_t seed) {
  switch (kind) {
    case InitKind::uniform: return uniform_init(n, k, seed);
    case InitKind::random_normal: return random_normal_init(n, k, 1.0, seed);
    case InitKind::kmeans: return kmeans_init(n, k, data, KMeansOptions().seed(seed)).to(at::kFloat);
    case InitKind::rd_gaussian: return rd_gaussian_init(n, k, data, std::nullopt, seed);
    case InitKind::rd_waterfill: return rd_waterfill_init(n, k, data, seed);
  }
  throw_invalid_argument("initial_codebook", "kind must be one of " + choice_names(kInitNames) +
                                                 ", got " + std::to_string(static_cast<int>(kind)));
}

}  // namespace vqvae
