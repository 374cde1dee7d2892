// Internal to `vqvae conform`: the quantizer area in two files — checks_quantizer.cpp (nearest
// codeword, z_q_hard, the codebook loss's path, the forward value, the info, fix #2's checks, the
// rotation trick's degenerate rows, the built-in cases and the area's check list) and
// checks_quantizer_estimator.cpp (which gradient estimator each class computes) — and what they share.
#pragma once

#include <vqvae/conform/detail/referee.h>

#include <map>
#include <string>
#include <vector>

namespace vqvae::conform {

inline constexpr const char* kVectorQuantizer = "VectorQuantizer";
inline constexpr const char* kRotationVectorQuantizer = "RotationVectorQuantizer";
inline constexpr const char* kProjectionVectorQuantizer = "ProjectionVectorQuantizer";

/// The quantizer cases of class `cls` the driver answered; `t` fails for the others.
std::vector<Judged> of_class(const Cases& cases, Tally& t, const std::string& cls);
/// "" when the response's indices are integers in [0, codebook size), one per row of z; else why not.
Failure indices_problem(const Judged& j);

// ---------------------------------------------------------------- checks_quantizer_estimator.cpp
/// The estimators the class's name promises, the one it should compute first: VectorQuantizer the
/// straight-through estimator, RotationVectorQuantizer the rotation trick (the baseline's earlier
/// projection estimator is accepted there and reported as such), ProjectionVectorQuantizer the
/// projection estimator.
std::vector<std::string> promised(const std::string& cls);
/// quantizer.<class>.estimator: the estimator grad_z matches among those the harness knows (the
/// defective ones included), against the one the class's name promises; `identities` learns it.
Check estimator(const Cases& cases, const std::string& cls, std::map<std::string, std::string>& identities);

}  // namespace vqvae::conform
