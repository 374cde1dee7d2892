// Models (src/training/vqvae/models/): VQVAE composition and dimension checks; the deprecated legacy model.
#include "test_support.h"

#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/models/legacy.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/rotation_vq.h>
#include <vqvae/quantizers/vq.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

namespace vqvae {
namespace {

using testing::throws_invalid;

TEST(VQVAE, ForwardShapesAndComposition) {
  torch::Tensor U = std::get<0>(torch::linalg::qr(torch::randn({6, 3}), "reduced"));
  VQVAE model(PCAEncoder(U), VectorQuantizer(QuantizerOptions(3, 5).seed(1)), PCADecoder(U));
  torch::Tensor x = torch::randn({4, 6});
  VQVAEOutput out = model(x);
  EXPECT_EQ(out.x_recon.sizes(), (std::vector<int64_t>{4, 6}));
  EXPECT_EQ(out.z.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(out.z_q.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(out.z_q_hard.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(out.indices.sizes(), (std::vector<int64_t>{4}));
  EXPECT_TENSOR_NEAR(out.z, x.matmul(U), 1e-6);
  EXPECT_TENSOR_NEAR(out.x_recon, out.z_q_hard.matmul(U.t()), 1e-6);
  EXPECT_TENSOR_NEAR(model->reconstruct(x), out.x_recon, 0.0);
  EXPECT_TENSOR_NEAR(model->decode(model->quantize(model->encode(x)).z_q), out.x_recon, 0.0);
  std::ostringstream s;
  model->pretty_print(s);
  EXPECT_EQ(s.str(), "vqvae::VQVAE(input_dim=6, latent_dim=3, codebook_size=5)");
  // Submodules are registered: the codebook is a parameter of the model.
  EXPECT_EQ(model->named_parameters().size(), 1u);
  EXPECT_TRUE(model->named_parameters().contains("quantizer.codebook"));
}

TEST(VQVAE, MismatchedDimensionsNameBothValues) {
  torch::Tensor U8 = torch::eye(64).slice(1, 0, 8), U4 = torch::eye(64).slice(1, 0, 4);
  EXPECT_TRUE(throws_invalid([&] { VQVAE(PCAEncoder(U8), VectorQuantizer(4, 16), PCADecoder(U8)); },
                             {"VQVAE", "quantizer.dim must equal encoder.latent_dim = 8", "got 4"}));
  EXPECT_TRUE(throws_invalid([&] { VQVAE(PCAEncoder(U8), RotationVectorQuantizer(8, 16), PCADecoder(U4)); },
                             {"decoder.latent_dim must equal encoder.latent_dim = 8", "got 4"}));
  EXPECT_TRUE(throws_invalid([&] { VQVAEImpl(nullptr, nullptr, nullptr); }, {"encoder must not be null"}));
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // bad input to the legacy model
TEST(LinearGaussianVQVAE, BadInputNamesArgumentAndValues) {
  silence_legacy_deprecation_warning();
  torch::Tensor U = torch::eye(6).slice(1, 0, 3);
  EXPECT_TRUE(throws_invalid([&] { LinearGaussianVQVAE(6, 3, 0, U); }, {"LinearGaussianVQVAE", "n must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([&] { LinearGaussianVQVAE(6, 0, 4, U); }, {"k must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([&] { LinearGaussianVQVAE(6, 2, 4, U); }, {"U_k", "(d, k) = (6, 2)", "got (6, 3)"}));
  EXPECT_TRUE(throws_invalid([&] { LinearGaussianVQVAE(6, 3, 4, U, LegacyInitMethod::kmeans, torch::randn({2, 3})); },
                             {"kmeans_init", "at least n = 4", "got 2"}));
  EXPECT_TRUE(throws_invalid([] { parse_legacy_init_method("pca"); }, {"init_method", "'pca'"}));
  LinearGaussianVQVAE model(6, 3, 4, U, LegacyInitMethod::uniform, torch::Tensor(), uint64_t{1});
  EXPECT_TRUE(throws_invalid([&] { model->encode(torch::zeros({2, 5})); }, {"encode", "x", "(B, d) = (*, 6)", "got (2, 5)"}));
  EXPECT_TRUE(throws_invalid([&] { model->decode(torch::zeros({2, 4})); }, {"decode", "z", "(B, k) = (*, 3)", "got (2, 4)"}));
}
#pragma GCC diagnostic pop

}  // namespace
}  // namespace vqvae
