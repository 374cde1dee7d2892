// Internal to `vqvae conform`: one exchange with the driver (driver.cpp). The request is written
// to a folder (--keep's, or a temporary one removed afterwards), `DRIVER ... REQUEST.h5
// RESPONSE.h5` runs through /bin/sh in its own process group, and the response is read back.
#pragma once

#include <vqvae/conform/conform.h>

#include <map>
#include <string>
#include <vector>

namespace vqvae::conform {

/// What the driver answered.
struct DriverAnswer {
  std::map<std::string, GoldenRecord> responses;  ///< by case name: one for every request
  std::string driver_name;                        ///< the response's `driver` attribute
  double seconds = 0;                             ///< the driver process, start to exit
};

/// Writes `requests` (recording options.command), runs options.driver on them within
/// options.timeout_seconds and reads its response. Throws DriverError, one line naming the driver
/// and the tail of its stderr, when it cannot start, times out, is killed, exits non-zero, writes
/// no response or a malformed one, or leaves out a case.
DriverAnswer ask_driver(const ConformOptions& options, const std::vector<GoldenRecord>& requests);

}  // namespace vqvae::conform
