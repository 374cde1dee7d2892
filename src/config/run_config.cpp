#include "config/run_config.h"

#include "core/checks.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace vqvae {
namespace {

void require(bool ok, const std::string& flag, const std::string& message) {
  if (!ok) throw_invalid_argument(flag, message);
}

std::string number(double value) {
  std::ostringstream s;
  s << value;
  return s.str();
}

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
    throw_invalid_argument("--config", where + " must be an integer from " + std::to_string(low) +
                                           " to " + std::to_string(high) + ", got " + value.dump());
  return out;
}

// `text` between single quotes for a one-line message: control characters (a newline in a JSON
// key or value, found by fuzzing) and invalid UTF-8 escaped as in JSON ("\n", "\ufffd").
std::string quoted(const std::string& text) {
  const std::string json = nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return "'" + json.substr(1, json.size() - 2) + "'";
}

bool one_of(const std::string& value, std::initializer_list<const char*> choices) {
  for (const char* choice : choices)
    if (value == choice) return true;
  return false;
}

}  // namespace

ModuleChoice parse_module_choice(const std::string& value, const std::string& flag) {
  const auto colon = value.find(':');
  ModuleChoice choice;
  choice.kind = value.substr(0, colon);
  require(choice.kind == "pca" || choice.kind == "learned", flag,
          "must be pca or learned (optionally :frozen or :trainable), got " + quoted(value));
  choice.trainable = choice.kind == "learned";
  if (colon != std::string::npos) {
    const std::string mode = value.substr(colon + 1);
    require(mode == "frozen" || mode == "trainable", flag,
            "suffix must be :frozen or :trainable, got " + quoted(value));
    choice.trainable = mode == "trainable";
  }
  return choice;
}

std::string to_string(const ModuleChoice& choice) {
  const bool default_mode = choice.trainable == (choice.kind == "learned");
  return default_mode ? choice.kind : choice.kind + (choice.trainable ? ":trainable" : ":frozen");
}

void check_config(const RunConfig& c) {
  require(c.d >= 1, "--d", "must be >= 1, got " + std::to_string(c.d));
  require(c.k >= 1, "--k", "must be >= 1, got " + std::to_string(c.k));
  require(c.k <= c.d, "--k", "must be <= --d = " + std::to_string(c.d) + ", got " + std::to_string(c.k));
  require(c.n >= 2, "--n", "must be >= 2, got " + std::to_string(c.n));
  require(std::isfinite(c.sigma_noise) && c.sigma_noise >= 0, "--sigma-noise",
          "must be finite and >= 0, got " + number(c.sigma_noise));
  require(c.codebook_size >= 1, "--codebook-size", "must be >= 1, got " + std::to_string(c.codebook_size));
  require(one_of(c.quantizer, {"vq", "rotation", "projection"}), "--quantizer",
          "must be vq, rotation or projection, got " + quoted(c.quantizer));
  parse_module_choice(to_string(c.encoder), "--encoder");
  parse_module_choice(to_string(c.decoder), "--decoder");
  require(one_of(c.init, {"uniform", "random_normal", "kmeans", "rd_gaussian", "rd_waterfill"}), "--init",
          "must be uniform, random_normal, kmeans, rd_gaussian or rd_waterfill, got " + quoted(c.init));
  require(c.init_samples >= 2, "--init-samples", "must be >= 2, got " + std::to_string(c.init_samples));
  const int64_t init_rows = std::min(c.init_samples, c.n);
  require(c.init != "kmeans" || init_rows >= c.codebook_size, "--init",
          "kmeans needs at least --codebook-size = " + std::to_string(c.codebook_size) +
              " samples, got " + std::to_string(init_rows) + " (min of --init-samples and --n)");
  require(std::isfinite(c.beta) && c.beta >= 0, "--beta", "must be finite and >= 0, got " + number(c.beta));
  require(one_of(c.optimizer, {"adam", "sgd"}), "--optimizer", "must be adam or sgd, got " + quoted(c.optimizer));
  require(std::isfinite(c.lr) && c.lr > 0, "--lr", "must be finite and > 0, got " + number(c.lr));
  require(c.batch_size >= 1, "--batch-size", "must be >= 1, got " + std::to_string(c.batch_size));
  require(c.batch_size <= c.n, "--batch-size",
          "must be <= --n = " + std::to_string(c.n) + ", got " + std::to_string(c.batch_size));
  require(c.threads >= 1, "--threads", "must be >= 1, got " + std::to_string(c.threads));
}

std::string config_to_json(const RunConfig& c) {
  nlohmann::ordered_json j;
  j["d"] = c.d;
  j["k"] = c.k;
  j["n"] = c.n;
  j["sigma_noise"] = c.sigma_noise;
  j["seed"] = c.seed;
  j["codebook_size"] = c.codebook_size;
  j["quantizer"] = c.quantizer;
  j["encoder"] = to_string(c.encoder);
  j["decoder"] = to_string(c.decoder);
  j["init"] = c.init;
  j["init_samples"] = c.init_samples;
  j["beta"] = c.beta;
  j["optimizer"] = c.optimizer;
  j["lr"] = c.lr;
  j["batch_size"] = c.batch_size;
  j["threads"] = c.threads;
  return j.dump(2);
}

void apply_config_file(const std::string& path, RunConfig& c) {
  const std::string flag = "--config";
  std::ifstream in(path);
  // A folder opens as a stream but throws std::ios_base::failure on reading.
  require(in.good() && !std::filesystem::is_directory(path), flag,
          "cannot read " + quoted(path) + " (missing or unreadable)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw_invalid_argument(flag, quoted(path) + " is not valid JSON: " + e.what());
  }
  require(j.is_object(), flag, quoted(path) + " must hold a JSON object, got " + std::string(j.type_name()));
  for (const auto& [key, value] : j.items()) {
    const std::string where = quoted(path) + " key " + quoted(key);
    try {
      if (key == "d") c.d = integer_value<int64_t>(value, where);
      else if (key == "k") c.k = integer_value<int64_t>(value, where);
      else if (key == "n") c.n = integer_value<int64_t>(value, where);
      else if (key == "sigma_noise") c.sigma_noise = value.get<double>();
      else if (key == "seed") c.seed = integer_value<uint64_t>(value, where);
      else if (key == "codebook_size") c.codebook_size = integer_value<int64_t>(value, where);
      else if (key == "quantizer") c.quantizer = value.get<std::string>();
      else if (key == "encoder") c.encoder = parse_module_choice(value.get<std::string>(), "--encoder");
      else if (key == "decoder") c.decoder = parse_module_choice(value.get<std::string>(), "--decoder");
      else if (key == "init") c.init = value.get<std::string>();
      else if (key == "init_samples") c.init_samples = integer_value<int64_t>(value, where);
      else if (key == "beta") c.beta = value.get<double>();
      else if (key == "optimizer") c.optimizer = value.get<std::string>();
      else if (key == "lr") c.lr = value.get<double>();
      else if (key == "batch_size") c.batch_size = integer_value<int64_t>(value, where);
      else if (key == "threads") c.threads = integer_value<int64_t>(value, where);
      else throw_invalid_argument(flag, where + " is not a configuration key");
    } catch (const nlohmann::json::exception&) {
      throw_invalid_argument(flag, where + " has the wrong type: " +
                                           value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
}

}  // namespace vqvae
