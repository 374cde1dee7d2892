// Helpers shared by the subcommands.
#include "commands.h"

#include <vqvae/io/atomic_file.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace vqvae::cli {

std::string flag_of(std::string_view parameter) {
  std::string flag = "--";
  for (const char ch : parameter) flag += ch == '_' ? '-' : ch;
  return flag;
}

void check_output_folder(const std::string& path, const std::string& flag) {
  try {
    check_writable_folder(path);
  } catch (const IoError& e) {
    throw IoError(flag + ": " + e.what());
  }
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
