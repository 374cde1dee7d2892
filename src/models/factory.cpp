#include "models/factory.h"

#include "decoders/linear.h"
#include "encoders/linear.h"
#include "initialization/codebook_init.h"
#include "initialization/rd_init.h"
#include "quantizers/projection_vq.h"
#include "quantizers/rotation_vq.h"
#include "quantizers/vq.h"

#include <ATen/ATen.h>

#include <cmath>

namespace vqvae {

GaussianDataset make_dataset(const RunConfig& c) {
  check_config(c);
  return GaussianDataset(
      GaussianDatasetOptions().d(c.d).k(c.k).sigma_noise(c.sigma_noise).n_samples(c.n).seed(c.seed));
}

at::Tensor make_codebook(const RunConfig& c, const GaussianDataset& dataset) {
  check_config(c);
  const at::Tensor data = dataset.get_initialization_batch(c.init_samples);  // (N, k)
  const int64_t n = c.codebook_size, k = c.k;
  if (c.init == "uniform") return uniform_init(n, k, c.seed);
  if (c.init == "random_normal") return random_normal_init(n, k, 1.0, c.seed);
  if (c.init == "kmeans") return kmeans_init(n, k, data, KMeansOptions().seed(c.seed)).to(at::kFloat);
  if (c.init == "rd_gaussian") return rd_gaussian_init(n, k, data, std::nullopt, c.seed);
  return rd_waterfill_init(n, k, data, c.seed);  // check_config admits nothing else
}

VQVAE build_model(const RunConfig& c, const GaussianDataset& dataset) {
  check_config(c);
  EncoderPtr encoder;
  if (c.encoder.kind == "pca") {
    encoder = PCAEncoder(dataset.U_k, c.encoder.trainable).ptr();
  } else {
    encoder = LearnedLinearEncoder(
                  LearnedLinearEncoderOptions(c.d, c.k).trainable(c.encoder.trainable).seed(c.seed + 1))
                  .ptr();
  }
  DecoderPtr decoder;
  if (c.decoder.kind == "pca") {
    decoder = PCADecoder(dataset.U_k, c.decoder.trainable).ptr();
  } else {
    decoder = LearnedLinearDecoder(
                  LearnedLinearDecoderOptions(c.k, c.d).trainable(c.decoder.trainable).seed(c.seed + 2))
                  .ptr();
  }
  const auto options = QuantizerOptions(c.k, c.codebook_size).init_codebook(make_codebook(c, dataset));
  QuantizerPtr quantizer;
  if (c.quantizer == "vq") quantizer = VectorQuantizer(options).ptr();
  else if (c.quantizer == "rotation") quantizer = RotationVectorQuantizer(options).ptr();
  else quantizer = ProjectionVectorQuantizer(options).ptr();
  return VQVAE(encoder, quantizer, decoder);
}

}  // namespace vqvae
