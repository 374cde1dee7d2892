// The configuration of one run, shared by `vqvae validate`, `train` and `experiment`: the same
// names as flags (--codebook-size), as JSON config keys (codebook_size) and in reports.
#pragma once

#include <cstdint>
#include <string>

namespace vqvae {

struct ModuleChoice {
  std::string kind = "pca";  ///< "pca" | "learned"
  bool trainable = false;    ///< pca: frozen by default; learned: trainable by default
};

struct RunConfig {
  int64_t d = 64;                   ///< ambient dimension
  int64_t k = 8;                    ///< latent dimension (<= d)
  int64_t n = 10000;                ///< samples in the dataset
  double sigma_noise = 0.1;         ///< ambient noise standard deviation
  uint64_t seed = 42;               ///< seed of the data and of every other draw
  int64_t codebook_size = 256;      ///< codewords
  std::string quantizer = "vq";     ///< vq | rotation | projection
  ModuleChoice encoder{"pca", false};
  ModuleChoice decoder{"pca", false};
  std::string init = "rd_gaussian"; ///< uniform | random_normal | kmeans | rd_gaussian | rd_waterfill
  int64_t init_samples = 500;       ///< latents the initialiser sees (the seed's 500)
  double beta = 0.25;               ///< commitment weight
  std::string optimizer = "adam";   ///< adam | sgd
  double lr = 1e-2;                 ///< learning rate
  int64_t batch_size = 256;         ///< training batch
  int64_t threads = 1;              ///< intra-op threads
};

/// "pca", "learned", "pca:trainable", "learned:frozen" -> ModuleChoice. `flag` names the option
/// in the error ("--encoder"). Throws InvalidArgument otherwise.
ModuleChoice parse_module_choice(const std::string& value, const std::string& flag);
/// The inverse: "pca", "pca:trainable", "learned", "learned:frozen".
std::string to_string(const ModuleChoice& choice);

/// Checks every field; throws InvalidArgument with one line naming the flag, the expected and
/// the actual value (e.g. "--k: must be <= --d = 64, got 65"), before any work is done.
void check_config(const RunConfig& config);

/// The configuration as a JSON object (keys as in config files), pretty-printed.
std::string config_to_json(const RunConfig& config);

/// Applies the keys of a JSON config file onto `config`. Throws InvalidArgument naming the file
/// when it is missing, unreadable, not JSON, has an unknown key or a value of the wrong type.
void apply_config_file(const std::string& path, RunConfig& config);

}  // namespace vqvae
