// Process-wide run settings: intra-op threads, device, RNG generators.
#pragma once

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <optional>
#include <string>

namespace vqvae {

/// Library version ("0.1.0") and the LibTorch version it was built against ("1.13.1").
std::string library_version();
std::string torch_version();

/// Sets LibTorch's intra-op threads. Default for every tool is 1: these tensors are small, extra
/// threads made their ops slower (docs/bench.md, "Threads") and results thread-count dependent.
/// Throws InvalidArgument for threads < 1.
void set_threads(int64_t threads);

/// "cpu" or "cuda" (or "cuda:N") -> a device this build can run on. Throws InvalidArgument naming
/// `--device` and the value for an unknown name, or for CUDA when this LibTorch has none.
c10::Device resolve_device(const std::string& name);

/// A generator for one random choice: a fresh CPU generator seeded with `seed`, or, when no seed
/// is given, LibTorch's global default generator (the Python baseline's behaviour after
/// torch.manual_seed).
at::Generator make_generator(std::optional<uint64_t> seed);

}  // namespace vqvae
