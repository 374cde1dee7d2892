#include <vqvae/study/factory.h>

#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>

#include <ATen/ATen.h>

namespace vqvae {

GaussianDataset make_dataset(const RunConfig& c) {
  check_config(c);
  return GaussianDataset(
      GaussianDatasetOptions().d(c.d).k(c.k).sigma_noise(c.sigma_noise).n_samples(c.n).seed(c.seed));
}

at::Tensor make_codebook(const RunConfig& c, const GaussianDataset& dataset) {
  check_config(c);
  const at::Tensor data = dataset.get_initialization_batch(c.init_samples);  // (N, k)
  return initial_codebook(c.init, c.codebook_size, c.k, data, c.seed);
}

EncoderPtr make_encoder(const RunConfig& c, const GaussianDataset& dataset) {
  check_config(c);
  if (c.encoder.kind == ModuleKind::pca) return PCAEncoder(dataset.U_k, c.encoder.trainable).ptr();
  return LearnedLinearEncoder(LearnedLinearEncoderOptions(c.d, c.k).trainable(c.encoder.trainable).seed(c.seed + 1))
      .ptr();
}

DecoderPtr make_decoder(const RunConfig& c, const GaussianDataset& dataset) {
  check_config(c);
  if (c.decoder.kind == ModuleKind::pca) return PCADecoder(dataset.U_k, c.decoder.trainable).ptr();
  return LearnedLinearDecoder(LearnedLinearDecoderOptions(c.k, c.d).trainable(c.decoder.trainable).seed(c.seed + 2)).ptr();
}

VQVAE build_model(const RunConfig& c, const GaussianDataset& dataset) {
  // Sequenced (the operands of one call would be built in whichever order the compiler picks).
  const EncoderPtr encoder = make_encoder(c, dataset);
  const DecoderPtr decoder = make_decoder(c, dataset);
  const auto options = QuantizerOptions(c.k, c.codebook_size).init_codebook(make_codebook(c, dataset));
  return VQVAE(encoder, make_quantizer(c.quantizer, options), decoder);
}

}  // namespace vqvae
