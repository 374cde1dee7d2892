#include "fuzz_io.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace vqvae::fuzz {

std::string write_input(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string folder =
      std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
  const std::string path = folder + "/vqvae_fuzz_" + std::to_string(getpid()) + "." + suffix;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr || (size > 0 && std::fwrite(data, 1, size, file) != size) || std::fclose(file) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
  return path;
}

}  // namespace vqvae::fuzz
