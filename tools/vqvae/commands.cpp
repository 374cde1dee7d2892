// Helpers shared by the subcommands.
#include "commands.h"

#include <unistd.h>

#include <stdexcept>

namespace vqvae::cli {

void check_output_folder(const std::string& path, const std::string& flag) {
  if (path.empty()) return;
  const size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (access(folder.c_str(), W_OK) != 0)
    throw std::runtime_error(flag + ": " + path + ": folder '" + folder + "' is missing or not writable");
}

}  // namespace vqvae::cli
