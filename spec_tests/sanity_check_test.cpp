// The baseline's "Quick sanity check" (BASELINE_FIXES.md, "Test after fixing"), ported line by line.
// Each Python line is quoted above its C++ counterpart.
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/initialization/rd_init.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/vq.h>
#include <vqvae/training/losses.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace vqvae {
namespace {

TEST(SeedSanityCheck, GradientFlowWorking) {
  // dataset = GaussianDataset(d=64, k=8, n_samples=1000)
  GaussianDataset dataset(GaussianDatasetOptions().d(64).k(8).n_samples(1000));

  // encoder = PCAEncoder(dataset.U_k, trainable=False)
  PCAEncoder encoder(dataset.U_k, /*trainable=*/false);
  // init_data = dataset.get_initialization_batch(500)
  at::Tensor init_data = dataset.get_initialization_batch(500);
  // codebook = rd_gaussian_init(256, 8, init_data)
  at::Tensor codebook = rd_gaussian_init(256, 8, init_data);
  // quantizer = VectorQuantizer(8, 256, init_codebook=codebook)
  VectorQuantizer quantizer(8, 256, codebook);
  // decoder = PCADecoder(dataset.U_k, trainable=False)
  PCADecoder decoder(dataset.U_k, /*trainable=*/false);
  // model = VQVAE(encoder, quantizer, decoder)
  VQVAE model(encoder, quantizer, decoder);

  // x = dataset.X[:32]
  at::Tensor x = dataset.X.slice(0, 0, 32);
  // outputs = model(x)
  VQVAEOutput outputs = model(x);

  // assert 'z_q_hard' in outputs, "Missing z_q_hard!"
  ASSERT_TRUE(outputs.z_q_hard.defined()) << "Missing z_q_hard!";
  // assert outputs['z_q_hard'].shape == (32, 8), "Wrong shape!"
  ASSERT_EQ(outputs.z_q_hard.sizes(), (std::vector<int64_t>{32, 8})) << "Wrong shape!";

  // loss, _ = vqvae_loss(x, outputs['x_recon'], outputs['z'], outputs['z_q'], outputs['z_q_hard'])
  LossOutput loss = vqvae_loss(x, outputs.x_recon, outputs.z, outputs.z_q, outputs.z_q_hard);
  // loss.backward()
  loss.total.backward();

  // assert quantizer.codebook.grad is not None, "No gradient to codebook!"
  ASSERT_TRUE(quantizer->codebook.grad().defined()) << "No gradient to codebook!";
  // Beyond the seed: a defined gradient of zeros would pass it; the codewords in use must move.
  EXPECT_GT(quantizer->codebook.grad().abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace vqvae
