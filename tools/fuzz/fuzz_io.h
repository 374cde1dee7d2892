// Shared by the fuzz targets: libFuzzer hands a target bytes, the readers take file paths, so
// each input is written to a per-process temporary file (in /dev/shm when it exists: no disk I/O)
// and the reader is called on that path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vqvae::fuzz {

/// Writes `data` to this process's temporary file `<dir>/vqvae_fuzz_<pid>.<suffix>` (replacing
/// it) and returns its path. Aborts if the file cannot be written: that is a broken set-up, not
/// a finding.
std::string write_input(const uint8_t* data, size_t size, const char* suffix);

}  // namespace vqvae::fuzz
