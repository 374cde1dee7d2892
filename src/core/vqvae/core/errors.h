// The library's one kind of user error, and how it names parameters. No LibTorch in this header.
//
// User errors throw vqvae::InvalidArgument (as FAISS's FAISS_THROW_IF_NOT does) with one line that
// names the function or parameter, the expected and the actual value.
//
// The library names its parameters by its own names (the configuration's keys: `codebook_size`,
// `epochs`). A front end that exposes them under other names — the command line's
// `--codebook-size` — renders the same error with its own spelling: a parameter is marked with
// param() where the message is built, what() prints the bare name, and message(spell) the
// front end's.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vqvae {

/// A parameter's name, marked for InvalidArgument::message: param("k") + ": must be >= 1".
std::string param(std::string_view name);

/// Bad input to a public constructor or function. what() is one line:
/// "<where>: <argument> <expected>, got <actual>".
class InvalidArgument : public std::invalid_argument {
 public:
  /// `marked`: the message, possibly with parameters marked by param().
  explicit InvalidArgument(const std::string& marked);

  /// The message with every marked parameter spelled by `spell` (what() spells each by its name).
  std::string message(const std::function<std::string(std::string_view name)>& spell) const;

 private:
  std::string marked_;
};

/// `marked` (a text holding param() names) with every name spelled by `spell` (warnings the
/// front end prints with its own spelling of the parameters).
std::string spell_params(const std::string& marked, const std::function<std::string(std::string_view name)>& spell);

/// Throws InvalidArgument("<where>: <message>"); either part may hold param() names.
[[noreturn]] void throw_invalid_argument(const std::string& where, const std::string& message);

}  // namespace vqvae
