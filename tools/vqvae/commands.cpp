// Helpers shared by the subcommands.
#include "commands.h"

#include <vqvae/core/format.h>
#include <vqvae/experiment/sweep_report.h>
#include <vqvae/io/atomic_file.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace vqvae::cli {

std::string flag_of(std::string_view parameter) {
  std::string flag = "--";
  for (const char ch : parameter) flag += ch == '_' ? '-' : ch;
  return flag;
}

std::ostream& print_sweep_outputs(const SweepResult& result, bool json, const std::string& summary,
                                  const std::string& plot) {
  std::ostream& said = json ? std::cerr : std::cout;
  if (json) std::cout << format_sweep_json(result) << std::endl;
  else std::cout << format_sweep_table(result);
  said << summary << "\n";
  if (!plot.empty()) {
    const std::string problem = plot_sweep(plot, result);
    said << (problem.empty() ? "wrote " + plot : "plot: " + problem) << "\n";
  }
  return said;
}

std::string default_plot_path(const std::string& out) {
  return std::filesystem::path(out).replace_extension(".png").string();
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

namespace {

// Levenshtein distance: insertions, deletions and substitutions of one character.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate nearest to `word` when it is a likely typo of it, else "".
std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  const size_t allowed = std::max<size_t>(2, word.size() / 3);
  std::string best;
  size_t best_distance = allowed + 1;
  for (const std::string& candidate : candidates) {
    const size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace

std::string usage_error_message(CLI::App& app, const CLI::ParseError& error) {
  // The deepest subcommand that was recognised: its flags and subcommands are the candidates.
  CLI::App* command = &app;
  std::string name = "vqvae";
  while (!command->get_subcommands().empty()) {
    command = command->get_subcommands().front();
    name += " " + command->get_name();
  }
  const std::string help = "see " + name + " --help";
  const std::vector<std::string> left = app.remaining(true);
  std::vector<std::string> subcommands;
  for (const CLI::App* sub : command->get_subcommands({})) subcommands.push_back(sub->get_name());
  if (!left.empty() && left.front().rfind('-', 0) != 0 && !subcommands.empty()) {
    const std::string& word = left.front();
    const std::string guess = nearest(word, subcommands);
    return name + ": unknown subcommand '" + word + "'" +
           (guess.empty() ? ", not one of " + joined(subcommands, ", ") + " (" + help + ")"
                          : ": did you mean '" + guess + "'? (" + help + ")");
  }
  for (const std::string& token : left) {
    if (token.rfind("--", 0) != 0) continue;
    const std::string flag = token.substr(0, token.find('='));
    std::vector<std::string> flags;
    for (const CLI::App* scope : {command, &app})
      for (const CLI::Option* option : scope->get_options())
        for (const std::string& long_name : option->get_lnames()) flags.push_back("--" + long_name);
    const std::string guess = nearest(flag, flags);
    return name + ": unknown flag " + flag + (guess.empty() ? "" : ": did you mean " + guess + "?") + " (" + help + ")";
  }
  // A command that needs a subcommand and got none (`vqvae goldens`): name them.
  if (!subcommands.empty() && command->get_require_subcommand_min() > 0)
    return name + ": needs a subcommand, one of " + joined(subcommands, ", ") + " (" + help + ")";
  return "vqvae: " + std::string(error.what()) + " (see vqvae --help)";
}

}  // namespace vqvae::cli
