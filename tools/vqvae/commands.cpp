// Helpers shared by the subcommands.
#include "commands.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace vqvae::cli {

void check_output_folder(const std::string& path, const std::string& flag) {
  if (path.empty()) return;
  const size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string probe = folder + "/.vqvae.write-check.XXXXXX";
  const int fd = mkstemp(probe.data());
  if (fd < 0)
    throw std::runtime_error(flag + ": " + path + ": cannot create a file in folder '" + folder +
                             "' (missing or not writable)");
  close(fd);
  std::remove(probe.c_str());
}

namespace {

// "" when `value` is not an integer beyond the range of `T` (other bad values are CLI11's to
// report, "Could not convert"), else the message.
template <typename T>
std::string integer_out_of_range(const std::string& value) {
  errno = 0;
  char* end = nullptr;
  if (std::numeric_limits<T>::is_signed)
    (void)std::strtoll(value.c_str(), &end, 0);
  else
    (void)std::strtoull(value.c_str(), &end, 0);
  if (errno != ERANGE || end == value.c_str() || *end != '\0') return {};
  return "must be an integer from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
         std::to_string(std::numeric_limits<T>::max()) + ", got " + value;
}

}  // namespace

void check_integer_ranges(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const std::string type = option->get_type_name();
    if (type.rfind("INT", 0) == 0)
      option->check(CLI::Validator(integer_out_of_range<int64_t>, ""));
    else if (type.rfind("UINT", 0) == 0)
      option->check(CLI::Validator(integer_out_of_range<uint64_t>, ""));
  }
  for (CLI::App* sub : app.get_subcommands({})) check_integer_ranges(*sub);
}

}  // namespace vqvae::cli
