// The configuration of one run, shared by `vqvae validate`, `train`, `experiment` and `conform`.
// Its keys are the library's names for its parameters (codebook_size): the same in JSON config
// files, reports and HDF5 attributes; the command line spells them as flags (--codebook-size).
// Every choice is an enum, parsed once where a configuration is read.
#pragma once

#include <vqvae/core/choices.h>
#include <vqvae/initialization/init_kind.h>
#include <vqvae/quantizers/quantizer_kind.h>
#include <vqvae/training/optimizer.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace vqvae {

class Hdf5Writer;

/// Which encoder (or decoder) a run builds.
enum class ModuleKind {
  pca,      ///< PCAEncoder / PCADecoder on the dataset's U_k
  learned,  ///< LearnedLinearEncoder / LearnedLinearDecoder, Xavier-uniform
};
inline constexpr ChoiceTable<ModuleKind, 2> kModuleNames{
    {{ModuleKind::pca, "pca"}, {ModuleKind::learned, "learned"}}};
inline const char* to_string(ModuleKind kind) { return choice_name(kModuleNames, kind); }

struct ModuleChoice {
  ModuleKind kind = ModuleKind::pca;
  bool trainable = false;  ///< pca: frozen by default; learned: trainable by default

  bool operator==(const ModuleChoice& other) const {
    return kind == other.kind && trainable == other.trainable;
  }
};

/// "pca", "learned", "pca:trainable", "learned:frozen" -> ModuleChoice. `where` names the
/// parameter in the error (param("encoder")). Throws InvalidArgument otherwise.
ModuleChoice parse_module_choice(const std::string& text, const std::string& where);
/// The inverse: "pca", "pca:trainable", "learned", "learned:frozen".
std::string to_string(const ModuleChoice& choice);

struct RunConfig {
  int64_t d = 64;                               ///< ambient dimension
  int64_t k = 8;                                ///< latent dimension (<= d)
  int64_t n = 10000;                            ///< samples in the dataset (training)
  int64_t n_test = 10000;                       ///< held-out samples, same source, independent draws
  double sigma_noise = 0.1;                     ///< ambient noise standard deviation
  uint64_t seed = 42;                           ///< seed of the data and of every other draw
  int64_t codebook_size = 256;                  ///< codewords
  QuantizerKind quantizer = QuantizerKind::vq;
  ModuleChoice encoder{ModuleKind::pca, false};
  ModuleChoice decoder{ModuleKind::pca, false};
  InitKind init = InitKind::rd_gaussian;
  int64_t init_samples = 500;                   ///< latents the initialiser sees (the baseline's 500)
  double beta = 0.25;                           ///< commitment weight
  OptimizerKind optimizer = OptimizerKind::adam;
  double lr = 1e-2;                             ///< learning rate
  int64_t batch_size = 256;                     ///< training batch
  int64_t threads = 1;                          ///< intra-op threads
};

/// The one list of the configuration's keys: calls visit(key, member, help) for every field, with
/// `member` a pointer to the RunConfig member (config.*member is the field), in the order of
/// config files, reports and attributes. Field types: int64_t, uint64_t, double, QuantizerKind,
/// ModuleChoice, InitKind, OptimizerKind.
template <typename Visitor>
void for_each_config_field(Visitor&& visit) {
  visit("d", &RunConfig::d, "Ambient dimension d");
  visit("k", &RunConfig::k, "Latent dimension k (<= d)");
  visit("n", &RunConfig::n, "Samples in the dataset (the training set)");
  visit("n_test", &RunConfig::n_test,
        "Held-out samples from the same source (independent draws): distortion, dead codes and perplexity are "
        "reported on them, never trained or initialised on");
  visit("sigma_noise", &RunConfig::sigma_noise, "Noise standard deviation");
  visit("seed", &RunConfig::seed, "Seed of the data and of every other draw");
  visit("codebook_size", &RunConfig::codebook_size, "Number of codewords");
  visit("quantizer", &RunConfig::quantizer, "vq | rotation | projection");
  visit("encoder", &RunConfig::encoder,
        "pca | learned, optionally :frozen or :trainable (pca is frozen, learned trainable by default)");
  visit("decoder", &RunConfig::decoder, "pca | learned, optionally :frozen or :trainable");
  visit("init", &RunConfig::init, "uniform | random_normal | kmeans | rd_gaussian | rd_waterfill");
  visit("init_samples", &RunConfig::init_samples, "Latents the codebook initialiser sees");
  visit("beta", &RunConfig::beta, "Commitment weight");
  visit("optimizer", &RunConfig::optimizer, "adam | sgd");
  visit("lr", &RunConfig::lr, "Learning rate");
  visit("batch_size", &RunConfig::batch_size, "Batch size (<= n)");
  visit("threads", &RunConfig::threads, "Intra-op threads");
}

/// A choice field's text ("rotation", "learned:frozen"), and its inverse (throws InvalidArgument
/// naming `where` for an unknown name).
std::string choice_text(QuantizerKind value);
std::string choice_text(InitKind value);
std::string choice_text(OptimizerKind value);
std::string choice_text(const ModuleChoice& value);
void parse_choice_text(const std::string& text, QuantizerKind& out, const std::string& where);
void parse_choice_text(const std::string& text, InitKind& out, const std::string& where);
void parse_choice_text(const std::string& text, OptimizerKind& out, const std::string& where);
void parse_choice_text(const std::string& text, ModuleChoice& out, const std::string& where);

/// The rows the initialiser sees: min(init_samples, n).
inline int64_t init_rows(const RunConfig& config) { return std::min(config.init_samples, config.n); }

/// Checks every field; throws InvalidArgument with one line naming the parameter, the expected
/// and the actual value (e.g. "k: must be <= d = 64, got 65"), before any work is done.
void check_config(const RunConfig& config);

/// The configuration as a JSON object (keys as in config files), pretty-printed.
std::string config_to_json(const RunConfig& config);

/// Applies the keys of a JSON config file onto `config`. Throws InvalidArgument naming the file
/// (as the parameter `config`) when it is missing, unreadable, not JSON, has an unknown key or a
/// value of the wrong type.
void apply_config_file(const std::string& path, RunConfig& config);

/// The same for JSON text; `source` names where the text came from in the messages.
void apply_config_json(const std::string& text, const std::string& source, RunConfig& config);

/// Writes the configuration onto the root of `file`: the JSON as attribute `config`, and one
/// attribute per key (integers as int64, numbers as float64, choices as strings).
void write_config_attributes(Hdf5Writer& file, const RunConfig& config, const std::string& except = "");

}  // namespace vqvae
