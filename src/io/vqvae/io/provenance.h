// Where a written file came from: the library and LibTorch versions and the command that wrote
// it, as attributes on the file's root. Every HDF5 file the project writes carries them.
#pragma once

#include <string>

namespace vqvae {

class Hdf5Writer;
class Hdf5Reader;

struct Provenance {
  std::string library_version;  ///< "0.1.0"
  std::string torch_version;    ///< "1.13.0"
  std::string command;          ///< the invocation that wrote the file
};

/// Writes library_version, torch_version (this build's) and `command` on "/".
void write_provenance(Hdf5Writer& file, const std::string& command);

/// Reads them back. Throws Hdf5Error naming the file and the attribute when one is missing.
Provenance read_provenance(const Hdf5Reader& file);

}  // namespace vqvae
