// The five codebook initialisations by name: the choice a configuration makes (`init`), and
// the one function that draws the chosen codebook.
#pragma once

#include <vqvae/core/choices.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

namespace vqvae {

enum class InitKind {
  uniform,        ///< uniform_init: U[−1/n, 1/n), the baseline's default
  random_normal,  ///< random_normal_init(std = 1)
  kmeans,         ///< kmeans_init: k-means++ and Lloyd on the initialisation latents
  rd_gaussian,    ///< rd_gaussian_init: the baseline's isotropic R(D) reproduction distribution
  rd_waterfill,   ///< rd_waterfill_init: the exact reverse-water-filling reproduction distribution
};
inline constexpr ChoiceTable<InitKind, 5> kInitNames{{{InitKind::uniform, "uniform"},
                                                      {InitKind::random_normal, "random_normal"},
                                                      {InitKind::kmeans, "kmeans"},
                                                      {InitKind::rd_gaussian, "rd_gaussian"},
                                                      {InitKind::rd_waterfill, "rd_waterfill"}}};
inline const char* to_string(InitKind kind) { return choice_name(kInitNames, kind); }

/// Whether `kind` draws from the data: kmeans needs at least n rows of it (one per codeword).
inline bool needs_a_row_per_codeword(InitKind kind) { return kind == InitKind::kmeans; }

/// The initial codebook (n, k) float32 of `kind`, drawn with `seed` from `data` (N, k), the
/// latents the initialiser sees (uniform and random_normal ignore them).
at::Tensor initial_codebook(InitKind kind, int64_t n, int64_t k, const at::Tensor& data,
                            uint64_t seed);

}  // namespace vqvae
