// Every golden file of fixtures/, as one list: `vqvae goldens check|regen` and the byte-for-byte
// regeneration test go through it, so a new suite is one entry here.
#pragma once

#include <vqvae/harness/golden_file.h>
#include <vqvae/harness/golden_precision.h>

#include <functional>
#include <string>
#include <vector>

namespace vqvae {

struct GoldenSuite {
  std::string file_name;                               ///< inside the fixtures folder
  const GoldenSchema* schema;
  /// The cases computed now: GoldenPrecision::float32 as the library runs (`check` compares it with
  /// the file), GoldenPrecision::float64 as the file stores them (`regen` writes it).
  std::function<std::vector<GoldenRecord>(GoldenPrecision)> compute;
};

/// pca_goldens.h5 (PCA encode/decode) and conform_goldens.h5 (the conformance cases).
std::vector<GoldenSuite> golden_suites();

/// The command recorded in every regenerated file: the same whatever the flags or folder, so that
/// a regeneration reproduces the committed bytes (with the float64 reference, on any CPU).
inline constexpr const char* kGoldenRegenCommand = "vqvae goldens regen";

}  // namespace vqvae
