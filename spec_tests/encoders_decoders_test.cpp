// Encoders and decoders (src/modules/vqvae/encoders/linear.h, decoders/linear.h): buffer names and shapes,
// values on a hand-computable U_k, freeze/unfreeze, printing, bad input.
#include "test_support.h"

#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <sstream>

namespace vqvae {
namespace {

using testing::throws_invalid;

// U_k (3, 2): columns (0.6, 0.8, 0) and (0, 0, 1), orthonormal.
torch::Tensor small_U() { return torch::tensor({{0.6, 0.0}, {0.8, 0.0}, {0.0, 1.0}}); }

std::map<std::string, torch::Tensor> buffers_of(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : m.named_buffers()) out[item.key()] = item.value();
  return out;
}

std::string printed(const torch::nn::Module& m) {
  std::ostringstream s;
  m.pretty_print(s);
  return s.str();
}

TEST(PCAEncoder, BufferIsUkInDkOrientationAndEncodesByOneProduct) {
  PCAEncoder encoder(small_U());
  auto buffers = buffers_of(*encoder);
  ASSERT_EQ(buffers.count("encoder_weight"), 1u);
  EXPECT_EQ(buffers["encoder_weight"].sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_TENSOR_EQ(buffers["encoder_weight"], small_U());
  EXPECT_TRUE(encoder->parameters().empty());
  EXPECT_FALSE(encoder->trainable());
  // x = (1, 2, 3): z = (0.6 + 1.6, 3) = (2.2, 3).
  EXPECT_TENSOR_NEAR(encoder(torch::tensor({{1.0, 2.0, 3.0}})), torch::tensor({{2.2, 3.0}}), 1e-6);
  EXPECT_EQ(encoder->input_dim(), 3);
  EXPECT_EQ(encoder->latent_dim(), 2);
  EXPECT_EQ(printed(*encoder), "vqvae::PCAEncoder(input_dim=3, latent_dim=2, trainable=false)");
}

TEST(PCAEncoder, TrainableRegistersAParameterThatFreezes) {
  PCAEncoder encoder(small_U(), /*trainable=*/true);
  ASSERT_EQ(encoder->named_parameters().size(), 1u);
  EXPECT_TRUE(encoder->named_parameters()["encoder_weight"].requires_grad());
  encoder->freeze();
  EXPECT_FALSE(encoder->trainable());
  EXPECT_FALSE(encoder->named_parameters()["encoder_weight"].requires_grad());
  encoder->unfreeze();
  EXPECT_TRUE(encoder->named_parameters()["encoder_weight"].requires_grad());
}

TEST(PCADecoder, BufferIsUkInDkOrientationAndDecodesWithTranspose) {
  PCADecoder decoder(small_U());
  auto buffers = buffers_of(*decoder);
  ASSERT_EQ(buffers.count("decoder_weight"), 1u);
  EXPECT_EQ(buffers["decoder_weight"].sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_TENSOR_EQ(buffers["decoder_weight"], small_U());
  // z = (2.2, 3): x = 2.2·(0.6, 0.8, 0) + 3·(0, 0, 1) = (1.32, 1.76, 3).
  EXPECT_TENSOR_NEAR(decoder(torch::tensor({{2.2, 3.0}})), torch::tensor({{1.32, 1.76, 3.0}}), 1e-6);
  EXPECT_EQ(printed(*decoder), "vqvae::PCADecoder(latent_dim=2, output_dim=3, trainable=false)");
}

TEST(LearnedLinearEncoder, XavierUniformShapesSeedAndFreeze) {
  LearnedLinearEncoder a(LearnedLinearEncoderOptions(64, 8).seed(3).bias(true));
  LearnedLinearEncoder b(LearnedLinearEncoderOptions(64, 8).seed(3).bias(true));
  ASSERT_EQ(a->weight.sizes(), (std::vector<int64_t>{8, 64}));
  EXPECT_TENSOR_EQ(a->weight, b->weight);
  // Xavier-uniform bound sqrt(6 / (64 + 8)) = 0.288675...; the sample must fill most of it.
  const double bound = std::sqrt(6.0 / 72.0);
  EXPECT_LE(a->weight.abs().max().item<double>(), bound);
  EXPECT_GT(a->weight.abs().max().item<double>(), 0.9 * bound);
  EXPECT_TENSOR_EQ(a->bias, torch::zeros({8}));
  torch::Tensor x = torch::randn({5, 64});
  EXPECT_TENSOR_NEAR(a(x), x.matmul(a->weight.t()) + a->bias, 1e-6);
  EXPECT_TRUE(a->weight.requires_grad());
  a->freeze();
  EXPECT_FALSE(a->weight.requires_grad());
  EXPECT_FALSE(a->bias.requires_grad());
  EXPECT_EQ(printed(*a), "vqvae::LearnedLinearEncoder(input_dim=64, latent_dim=8, trainable=false, bias=true)");
  LearnedLinearEncoder no_bias(64, 8);
  EXPECT_EQ(no_bias->named_parameters().size(), 1u);
}

TEST(LearnedLinearDecoder, ShapesAndValues) {
  LearnedLinearDecoder decoder(LearnedLinearDecoderOptions(8, 64).seed(1));
  ASSERT_EQ(decoder->weight.sizes(), (std::vector<int64_t>{64, 8}));
  torch::Tensor z = torch::randn({5, 8});
  EXPECT_TENSOR_NEAR(decoder(z), z.matmul(decoder->weight.t()), 1e-6);
  EXPECT_EQ(printed(*decoder), "vqvae::LearnedLinearDecoder(latent_dim=8, output_dim=64, trainable=true, bias=false)");
}

TEST(EncodersDecoders, BadInputNamesArgumentAndValues) {
  EXPECT_TRUE(throws_invalid([] { PCAEncoder(torch::ones({3})); }, {"PCAEncoder", "U_k", "(d, k)", "got (3)"}));
  EXPECT_TRUE(throws_invalid([] { PCAEncoder(torch::ones({2, 3})); }, {"latent_dim k must be <= input_dim d = 2", "got 3"}));
  EXPECT_TRUE(throws_invalid([] { PCADecoder(torch::ones({2, 3})); }, {"latent_dim k must be <= output_dim d = 2", "got 3"}));
  EXPECT_TRUE(throws_invalid([] { PCAEncoder(torch::full({3, 2}, NAN)); }, {"U_k must be finite", "NaN"}));
  EXPECT_TRUE(throws_invalid([] { LearnedLinearEncoder(0, 0); }, {"input_dim d must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([] { LearnedLinearDecoder(0, 4); }, {"latent_dim k must be >= 1", "got 0"}));
  PCAEncoder encoder(small_U());
  EXPECT_TRUE(throws_invalid([&] { encoder(torch::ones({4, 5})); }, {"PCAEncoder::forward", "x", "(B, d) = (*, 3)", "got (4, 5)"}));
  EXPECT_TRUE(throws_invalid([&] { encoder(torch::ones({3})); }, {"x", "got (3)"}));
  EXPECT_TRUE(throws_invalid([&] { encoder(torch::ones({0, 3})); }, {"batch size B must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([&] { encoder(torch::ones({2, 3}, torch::kLong)); }, {"x must be float32 or float64", "Long"}));
  PCADecoder decoder(small_U());
  EXPECT_TRUE(throws_invalid([&] { decoder(torch::ones({4, 3})); }, {"PCADecoder::forward", "z", "(B, k) = (*, 2)", "got (4, 3)"}));
}

}  // namespace
}  // namespace vqvae
