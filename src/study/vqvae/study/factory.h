// Builds the model a RunConfig describes, on a given dataset.
#pragma once

#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/decoders/base.h>
#include <vqvae/encoders/base.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/study/run_config.h>

namespace vqvae {

/// The dataset of a configuration: GaussianDataset(d, k, sigma_noise, n, seed).
GaussianDataset make_dataset(const RunConfig& config);

/// The initial codebook (codebook_size, k) of `config.init`, computed from the first
/// config.init_samples latents of the dataset (the baseline's get_initialization_batch(500)),
/// drawn with config.seed.
at::Tensor make_codebook(const RunConfig& config, const GaussianDataset& dataset);

/// The encoder of config.encoder: PCA on dataset.U_k, or learned (Xavier-uniform, seeded with
/// config.seed + 1), frozen or trainable. It does not depend on the codebook: the latents every
/// codebook of a study quantizes.
EncoderPtr make_encoder(const RunConfig& config, const GaussianDataset& dataset);

/// The decoder of config.decoder: PCA on dataset.U_k, or learned (Xavier-uniform, seeded with
/// config.seed + 2), frozen or trainable.
DecoderPtr make_decoder(const RunConfig& config, const GaussianDataset& dataset);

/// make_encoder's encoder, quantizer (vq | rotation | projection) with make_codebook's codebook,
/// make_decoder's decoder; seeds derived from config.seed.
/// Throws InvalidArgument (via check_config) for an invalid configuration.
VQVAE build_model(const RunConfig& config, const GaussianDataset& dataset);

}  // namespace vqvae
