#include <vqvae/io/provenance.h>

#include <vqvae/tensor/runtime.h>
#include <vqvae/io/hdf5_file.h>

namespace vqvae {

void write_provenance(Hdf5Writer& file, const std::string& command) {
  file.write_attribute("/", "library_version", library_version());
  file.write_attribute("/", "torch_version", torch_version());
  file.write_attribute("/", "command", command);
}

Provenance read_provenance(const Hdf5Reader& file) {
  return {file.read_string_attribute("/", "library_version"),
          file.read_string_attribute("/", "torch_version"),
          file.read_string_attribute("/", "command")};
}

}  // namespace vqvae
