#include "config_flags.h"

namespace vqvae::cli {

ConfigFlags::ConfigFlags(CLI::App* command) {
  const RunConfig defaults;
  command->add_option("--config", config_file_, "JSON file with any of the keys below (snake_case); flags override it");
  // One flag: bind it to parsed_.<field>, and remember how to copy it over when given.
#define VQVAE_FLAG(flag, field, help)                                                     \
  given_.emplace_back(command->add_option(flag, parsed_.field, help)->capture_default_str(), \
                      [this](RunConfig& c) { c.field = parsed_.field; })
  VQVAE_FLAG("--d", d, "Ambient dimension d");
  VQVAE_FLAG("--k", k, "Latent dimension k (<= d)");
  VQVAE_FLAG("--n", n, "Samples in the dataset");
  VQVAE_FLAG("--sigma-noise", sigma_noise, "Noise standard deviation");
  VQVAE_FLAG("--seed", seed, "Seed of the data and of every other draw");
  given_.back().first->check(non_negative_integer);  // CLI11 would wrap -1 to 2^64 - 1
  VQVAE_FLAG("--codebook-size", codebook_size, "Number of codewords");
  VQVAE_FLAG("--quantizer", quantizer, "vq | rotation | projection");
  VQVAE_FLAG("--init", init, "uniform | random_normal | kmeans | rd_gaussian | rd_waterfill");
  VQVAE_FLAG("--init-samples", init_samples, "Latents the codebook initialiser sees");
  VQVAE_FLAG("--beta", beta, "Commitment weight");
  VQVAE_FLAG("--optimizer", optimizer, "adam | sgd");
  VQVAE_FLAG("--lr", lr, "Learning rate");
  VQVAE_FLAG("--batch-size", batch_size, "Batch size (<= n)");
#undef VQVAE_FLAG
  given_.emplace_back(
      command->add_option("--encoder", encoder_, "pca | learned, optionally :frozen or :trainable "
                                                 "(pca is frozen, learned trainable by default)")
          ->capture_default_str(),
      [this](RunConfig& c) { c.encoder = parse_module_choice(encoder_, "--encoder"); });
  given_.emplace_back(
      command->add_option("--decoder", decoder_, "pca | learned, optionally :frozen or :trainable")
          ->capture_default_str(),
      [this](RunConfig& c) { c.decoder = parse_module_choice(decoder_, "--decoder"); });
}

RunConfig ConfigFlags::resolve(const GlobalOptions& global) const {
  RunConfig config;
  if (!config_file_.empty()) apply_config_file(config_file_, config);
  for (const auto& [option, apply] : given_)
    if (option->count() > 0) apply(config);
  if (global.threads_given) config.threads = global.threads;
  check_config(config);
  return config;
}

}  // namespace vqvae::cli
