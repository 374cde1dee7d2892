// Named choices: every option that picks one of several kinds (quantizer, initialisation,
// optimizer, module) is an enum class with one table of names beside it, and these helpers read
// and write it. A choice is parsed once, where a configuration is read; past that point the
// library passes enums, never strings. No LibTorch.
//
// Example:
// ```
// enum class Fruit { apple, pear };
// inline constexpr std::array<ChoiceName<Fruit>, 2> kFruitNames{{{Fruit::apple, "apple"}, {Fruit::pear, "pear"}}};
// parse_choice(kFruitNames, "pear", param("fruit"));   // Fruit::pear
// parse_choice(kFruitNames, "fig", param("fruit"));    // throws "fruit: must be apple or pear, got 'fig'"
// ```
#pragma once

#include <vqvae/core/errors.h>
#include <vqvae/core/format.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace vqvae {

template <typename E>
struct ChoiceName {
  E value;
  const char* name;
};

template <typename E, size_t N>
using ChoiceTable = std::array<ChoiceName<E>, N>;

/// The name of `value` in `table` ("?" for a value the table lacks: a programming error).
template <typename E, size_t N>
constexpr const char* choice_name(const ChoiceTable<E, N>& table, E value) {
  for (const auto& entry : table)
    if (entry.value == value) return entry.name;
  return "?";
}

/// The value named `name`, if any.
template <typename E, size_t N>
std::optional<E> find_choice(const ChoiceTable<E, N>& table, std::string_view name) {
  for (const auto& entry : table)
    if (name == entry.name) return entry.value;
  return std::nullopt;
}

/// Every name, in table order: "vq, rotation or projection".
template <typename E, size_t N>
std::string choice_names(const ChoiceTable<E, N>& table) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(table[i].name);
  return out;
}

/// The value named `name`; otherwise throws InvalidArgument
/// "<where>: must be <names>, got '<name>'" (`where` may be a param()).
template <typename E, size_t N>
E parse_choice(const ChoiceTable<E, N>& table, std::string_view name, const std::string& where) {
  if (const auto found = find_choice(table, name)) return *found;
  throw_invalid_argument(where, "must be " + choice_names(table) + ", got " + in_quotes(name));
}

}  // namespace vqvae
