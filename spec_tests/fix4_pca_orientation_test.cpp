// Fix #4 (seed BASELINE_FIXES.md, "MINOR FIX #4: Simplify PCA Encoder/Decoder").
// src/: encoders/linear.cpp (PCAEncoder) and decoders/linear.cpp (PCADecoder).
// Pins: PCAEncoder's buffer `encoder_weight` is U_k in its natural (d, k) orientation and
// z = x · encoder_weight (one product, no transpose); PCADecoder's buffer `decoder_weight` is the
// same (d, k) U_k and x_recon = z · decoder_weightᵀ; encode and decode give the hand-computed
// values for a known U_k; decode(encode(x)) is the orthogonal projection of x onto span(U_k).
// The same orientation check runs against mutants/fix4_double_transpose_encoder.h (the baseline's
// "Current code": U_kᵀ (k, d) stored, transposed again in forward) and fails.
#include "mutants/fix4_double_transpose_encoder.h"

#include "hand_computed_pca.h"
#include "test_support.h"

#include <vqvae/tensor/checks.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>

#include <torch/torch.h>

#include <string>

namespace vqvae {
namespace {

using testing::fails_because;
using testing::tensors_close;

// The hand-computed example of hand_computed_pca.h.
using testing::hand_pca::U_k;
using testing::hand_pca::batch;
using testing::hand_pca::expected_projection;
using testing::hand_pca::expected_z;

template <typename Module>
::testing::AssertionResult buffer_is_U_k(Module& module, const char* name) {
  const auto buffers = module.named_buffers();
  const at::Tensor* weight = buffers.find(name);
  if (weight == nullptr) return ::testing::AssertionFailure() << "no buffer named " << name;
  if (weight->sizes() != at::IntArrayRef({3, 2}))
    return ::testing::AssertionFailure() << name << " has shape " << shape_string(*weight)
                                         << ", expected (d, k) = (3, 2)";
  if (auto ok = tensors_close(*weight, U_k(), 0.0); !ok)
    return ::testing::AssertionFailure() << name << " != U_k: " << ok.message();
  return ::testing::AssertionSuccess();
}

// The check, for any PCA encoder: buffer (d, k) = U_k, z = x · encoder_weight, hand values.
template <typename Encoder>
::testing::AssertionResult encoder_stores_U_k_as_d_by_k(Encoder& encoder) {
  if (auto ok = buffer_is_U_k(encoder, "encoder_weight"); !ok) return ok;
  const at::Tensor z = encoder.forward(batch());
  if (auto ok = tensors_close(z, batch().matmul(encoder.named_buffers()["encoder_weight"]), 1e-12); !ok)
    return ::testing::AssertionFailure() << "z != x · encoder_weight: " << ok.message();
  if (auto ok = tensors_close(z, expected_z(), 1e-12); !ok)
    return ::testing::AssertionFailure() << "z != hand values: " << ok.message();
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------- on the library
TEST(Fix4PcaOrientation, EncoderStoresUkAsDByKAndEncodesWithOneProduct) {
  PCAEncoder encoder(U_k());
  EXPECT_TRUE(encoder_stores_U_k_as_d_by_k(*encoder));
}

TEST(Fix4PcaOrientation, DecoderStoresUkAsDByKAndDecodesWithItsTranspose) {
  PCADecoder decoder(U_k());
  EXPECT_TRUE(buffer_is_U_k(*decoder, "decoder_weight"));
  // z · U_kᵀ = z1 u1 + z2 u2: (3,0) -> (1,2,2); (5/3,1/3) -> (7/9,11/9,8/9); (0,3) -> (2,1,−2).
  EXPECT_TENSOR_NEAR(decoder(expected_z()), expected_projection(), 1e-12);
}

TEST(Fix4PcaOrientation, EncoderAndDecoderHoldTheSameMatrix) {
  // Both store U_k (d, k): one checkpoint tensor serves both, no transposition on loading.
  PCAEncoder encoder(U_k());
  PCADecoder decoder(U_k());
  EXPECT_TENSOR_EQ(encoder->named_buffers()["encoder_weight"],
                   decoder->named_buffers()["decoder_weight"]);
}

TEST(Fix4PcaOrientation, TrainableVariantsRegisterParametersOfTheSameNameAndShape) {
  PCAEncoder encoder(U_k(), /*trainable=*/true);
  PCADecoder decoder(U_k(), /*trainable=*/true);
  ASSERT_NE(encoder->named_parameters().find("encoder_weight"), nullptr);
  ASSERT_NE(decoder->named_parameters().find("decoder_weight"), nullptr);
  EXPECT_TENSOR_EQ(encoder->named_parameters()["encoder_weight"], U_k());
  EXPECT_TENSOR_EQ(decoder->named_parameters()["decoder_weight"], U_k());
  EXPECT_TENSOR_NEAR(encoder(batch()), expected_z(), 1e-12);
}

TEST(Fix4PcaOrientation, DecodeOfEncodeIsTheOrthogonalProjectionOntoSpanUk) {
  PCAEncoder encoder(U_k());
  PCADecoder decoder(U_k());
  const at::Tensor projected = decoder(encoder(batch()));
  EXPECT_TENSOR_NEAR(projected, expected_projection(), 1e-12);
  // The residual is orthogonal to span(U_k), and projecting twice changes nothing.
  EXPECT_TENSOR_NEAR((batch() - projected).matmul(U_k()), at::zeros({3, 2}, at::kDouble), 1e-12);
  EXPECT_TENSOR_NEAR(decoder(encoder(projected)), projected, 1e-12);
}

// ---------------------------------------------------------------- on the baseline's buggy code
TEST(Fix4PcaOrientation, SeedDoubleTransposeEncoderFailsTheOrientationCheck) {
  mutants::DoubleTransposePCAEncoder encoder(U_k());
  EXPECT_TRUE(fails_because(encoder_stores_U_k_as_d_by_k(*encoder),
                            "encoder_weight has shape (2, 3), expected (d, k) = (3, 2)"));
}

TEST(Fix4PcaOrientation, SeedDoubleTransposeEncoderComputesTheSameZ) {
  // Faithful reproduction: the baseline's encoder is right in value, wrong in what it stores.
  mutants::DoubleTransposePCAEncoder encoder(U_k());
  EXPECT_TENSOR_NEAR(encoder(batch()), expected_z(), 1e-12);
  EXPECT_EQ(shape_string(encoder->named_buffers()["encoder_weight"]), "(2, 3)");
}

}  // namespace
}  // namespace vqvae
