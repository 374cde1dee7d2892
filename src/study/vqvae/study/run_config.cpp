#include <vqvae/study/run_config.h>

#include <vqvae/core/format.h>
#include <vqvae/io/hdf5_file.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <type_traits>

namespace vqvae {
namespace {

void require(bool ok, const std::string& where, const std::string& message) {
  if (!ok) throw_invalid_argument(where, message);
}

std::string count(int64_t value) { return std::to_string(value); }

// A JSON number as an integer of type T. nlohmann's get<T>() converts silently: a float (1e20,
// 2.5) by a cast that is undefined behaviour out of range, an integer beyond T by wrapping (seed
// -1 became 2^64 - 1). Integral floats in range (1e3) are accepted; anything else is an error.
template <typename T>
T integer_value(const nlohmann::json& value, const std::string& where) {
  constexpr T low = std::numeric_limits<T>::min(), high = std::numeric_limits<T>::max();
  bool ok = false;
  T out = 0;
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    ok = v <= static_cast<uint64_t>(high);
    out = static_cast<T>(v);
  } else if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    ok = v >= 0 || std::numeric_limits<T>::is_signed;
    out = static_cast<T>(v);
  } else if (value.is_number_float()) {
    const double v = value.get<double>();
    // [low, high + 1): high + 1 = 2^63 or 2^64 is exact in a double, high itself is not.
    ok = std::isfinite(v) && v == std::floor(v) && v >= static_cast<double>(low) &&
         v < static_cast<double>(high) + 1.0;
    if (ok) out = static_cast<T>(v);
  } else {
    return value.get<T>();  // not a number: throws json::type_error ("wrong type")
  }
  if (!ok)
    throw_invalid_argument(param("config"), where + " must be an integer from " + std::to_string(low) +
                                                " to " + std::to_string(high) + ", got " + value.dump());
  return out;
}

// A JSON value for a one-line message: as JSON, invalid UTF-8 replaced.
std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string choice_text(QuantizerKind value) { return to_string(value); }
std::string choice_text(InitKind value) { return to_string(value); }
std::string choice_text(OptimizerKind value) { return to_string(value); }
std::string choice_text(const ModuleChoice& value) { return to_string(value); }

void parse_choice_text(const std::string& text, QuantizerKind& out, const std::string& where) {
  out = parse_choice(kQuantizerNames, text, where);
}
void parse_choice_text(const std::string& text, InitKind& out, const std::string& where) {
  out = parse_choice(kInitNames, text, where);
}
void parse_choice_text(const std::string& text, OptimizerKind& out, const std::string& where) {
  out = parse_choice(kOptimizerNames, text, where);
}
void parse_choice_text(const std::string& text, ModuleChoice& out, const std::string& where) {
  out = parse_module_choice(text, where);
}

ModuleChoice parse_module_choice(const std::string& text, const std::string& where) {
  const auto colon = text.find(':');
  const std::optional<ModuleKind> kind = find_choice(kModuleNames, text.substr(0, colon));
  require(kind.has_value(), where,
          "must be pca or learned (optionally :frozen or :trainable), got " + in_quotes(text));
  ModuleChoice choice{*kind, *kind == ModuleKind::learned};
  if (colon != std::string::npos) {
    const std::string mode = text.substr(colon + 1);
    require(mode == "frozen" || mode == "trainable", where,
            "suffix must be :frozen or :trainable, got " + in_quotes(text));
    choice.trainable = mode == "trainable";
  }
  return choice;
}

std::string to_string(const ModuleChoice& choice) {
  const std::string kind = to_string(choice.kind);
  const bool default_mode = choice.trainable == (choice.kind == ModuleKind::learned);
  return default_mode ? kind : kind + (choice.trainable ? ":trainable" : ":frozen");
}

void check_config(const RunConfig& c) {
  const auto at_least = [](int64_t value, int64_t minimum, const char* key) {
    require(value >= minimum, param(key), "must be >= " + count(minimum) + ", got " + count(value));
  };
  at_least(c.d, 1, "d");
  at_least(c.k, 1, "k");
  require(c.k <= c.d, param("k"), "must be <= " + param("d") + " = " + count(c.d) + ", got " + count(c.k));
  at_least(c.n, 2, "n");
  at_least(c.n_test, 2, "n_test");  // a standard error needs two
  require(std::isfinite(c.sigma_noise) && c.sigma_noise >= 0, param("sigma_noise"),
          "must be finite and >= 0, got " + format_significant(c.sigma_noise));
  at_least(c.codebook_size, 1, "codebook_size");
  at_least(c.init_samples, 2, "init_samples");
  require(!needs_a_row_per_codeword(c.init) || init_rows(c) >= c.codebook_size, param("init"),
          std::string(to_string(c.init)) + " needs at least " + param("codebook_size") + " = " +
              count(c.codebook_size) + " samples, got " + count(init_rows(c)) + " (min of " +
              param("init_samples") + " and " + param("n") + ", so raise " +
              (c.init_samples < c.codebook_size ? param("init_samples") : param("n")) +
              (c.init_samples < c.codebook_size && c.n < c.codebook_size ? " and " + param("n") : std::string()) +
              " to at least " + count(c.codebook_size) + ")");
  require(std::isfinite(c.beta) && c.beta >= 0, param("beta"),
          "must be finite and >= 0, got " + format_significant(c.beta));
  require(std::isfinite(c.lr) && c.lr > 0, param("lr"), "must be finite and > 0, got " + format_significant(c.lr));
  at_least(c.batch_size, 1, "batch_size");
  require(c.batch_size <= c.n, param("batch_size"),
          "must be <= " + param("n") + " = " + count(c.n) + ", got " + count(c.batch_size));
  at_least(c.threads, 1, "threads");
}

std::string config_to_json(const RunConfig& config) {
  nlohmann::ordered_json j;
  for_each_config_field([&](const char* key, auto member, const char*) {
    const auto& value = config.*member;
    if constexpr (std::is_arithmetic_v<std::decay_t<decltype(value)>>) j[key] = value;
    else j[key] = choice_text(value);
  });
  return j.dump(2);
}

void apply_config_file(const std::string& path, RunConfig& config) {
  const std::string where_file = param("config");
  std::ifstream in(path);
  // A folder opens as a stream but throws std::ios_base::failure on reading.
  require(in.good() && !std::filesystem::is_directory(path), where_file,
          "cannot read " + in_quotes(path) + " (missing or unreadable)");
  apply_config_json(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()), path,
                    config);
}

void apply_config_json(const std::string& text, const std::string& source, RunConfig& config) {
  const std::string where_file = param("config");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw_invalid_argument(where_file, in_quotes(source) + " is not valid JSON: " + e.what());
  }
  require(j.is_object(), where_file, in_quotes(source) + " must hold a JSON object, got " + std::string(j.type_name()));
  for (const auto& [key, value] : j.items()) {
    const std::string where = in_quotes(source) + " key " + in_quotes(key);
    bool known = false;
    try {
      for_each_config_field([&](const char* name, auto member, const char*) {
        if (key != name) return;
        auto& field = config.*member;
        known = true;
        using T = std::decay_t<decltype(field)>;
        if constexpr (std::is_integral_v<T>) field = integer_value<T>(value, where);
        else if constexpr (std::is_floating_point_v<T>) field = value.get<double>();
        else parse_choice_text(value.get<std::string>(), field, param(name));
      });
    } catch (const nlohmann::json::exception&) {
      throw_invalid_argument(where_file, where + " has the wrong type: " + json_text(value));
    }
    require(known, where_file, where + " is not a configuration key");
  }
}

void write_config_attributes(Hdf5Writer& file, const RunConfig& config, const std::string& except) {
  file.write_attribute("/", "config", config_to_json(config));
  for_each_config_field([&](const char* key, auto member, const char*) {
    if (key == except) return;
    const auto& value = config.*member;
    using T = std::decay_t<decltype(value)>;
    if constexpr (std::is_integral_v<T>) file.write_attribute("/", key, static_cast<int64_t>(value));
    else if constexpr (std::is_floating_point_v<T>) file.write_attribute("/", key, static_cast<double>(value));
    else file.write_attribute("/", key, choice_text(value));
  });
}

}  // namespace vqvae
