// Internal to `vqvae conform`: what the golden suite stores with a case, shared by the suite
// (cases.cpp: its expected_<output> datasets) and the run (run.cpp: the expectations of the
// configuration's cases, computed now).
#pragma once

#include <vqvae/conform/protocol.h>

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace vqvae::conform {

/// What the library returns for `request` in `precision`, restricted to the outputs the golden
/// suite stores for its kind (none for a kind the suite does not hold), by output name.
std::map<std::string, at::Tensor> library_expectations(const GoldenRecord& request,
                                                       GoldenPrecision precision = GoldenPrecision::float32);

}  // namespace vqvae::conform
