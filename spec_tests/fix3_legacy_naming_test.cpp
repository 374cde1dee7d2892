// Fix #3 (seed BASELINE_FIXES.md, "CRITICAL BUG #3: Backwards Naming in Legacy Code").
// src/: models/legacy.{h,cpp}, LinearGaussianVQVAE.
// Pins: named_buffers() holds `encoder_weight` (d, k) = U_k and `decoder_weight` (k, d) = U_kᵀ,
// each used for what its name says: encode(x) = x · encoder_weight = x · U_k and
// decode(z) = z · decoder_weight = z · U_kᵀ (hand-computed values); the legacy model equals the
// composable VQVAE(PCAEncoder, VectorQuantizer, PCADecoder) on the same inputs; the deprecation is
// real: the runtime warning is printed once per process (not per call), and the compile-time
// [[deprecated]] is checked by the ctest tests deprecation.* (spec_tests/fixes.cmake,
// spec_tests/deprecation_check/): a use of the class fails to compile with
// -Werror=deprecated-declarations while the equivalent use of VQVAE compiles with the same flags.
// The same naming check runs against mutants/fix3_swapped_legacy.h (the baseline's "Current code":
// encoder_weight = U_kᵀ used to decode, decoder_weight = U_k used to encode) and fails.
#include "mutants/fix3_swapped_legacy.h"

#include "hand_computed_pca.h"
#include "test_support.h"

#include <vqvae/tensor/checks.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/models/legacy.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/vq.h>

#include <torch/torch.h>

#include <cstdlib>
#include <string>

// This file tests the deprecated class on purpose.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace vqvae {
namespace {

using testing::fails_because;
using testing::tensors_close;

// The hand-computed example of hand_computed_pca.h; decode(z) = z · U_kᵀ is its projection.
using testing::hand_pca::U_k;
using testing::hand_pca::batch;
using testing::hand_pca::expected_z;
at::Tensor expected_decoded() { return testing::hand_pca::expected_projection(); }

// Codebook (3, 2): (3, 0), (0, 3), (1, 1). Nearest to the z above: (3,0) -> 0;
// (5/3,1/3) -> 2 (squared distances 17/9, 89/9, 8/9); (0,3) -> 1.
at::Tensor codebook() { return at::tensor({3., 0., 0., 3., 1., 1.}, at::kDouble).view({3, 2}); }
at::Tensor expected_indices() { return at::tensor({0, 2, 1}, at::kLong); }

// The check, for any model with named_buffers(), encode(x) and decode(z).
template <typename Model>
::testing::AssertionResult buffers_named_for_what_they_do(Model& model) {
  const auto buffers = model.named_buffers();
  const at::Tensor* encoder_weight = buffers.find("encoder_weight");
  const at::Tensor* decoder_weight = buffers.find("decoder_weight");
  if (encoder_weight == nullptr || decoder_weight == nullptr)
    return ::testing::AssertionFailure() << "buffers encoder_weight / decoder_weight missing";
  if (encoder_weight->sizes() != at::IntArrayRef({3, 2}))
    return ::testing::AssertionFailure() << "encoder_weight has shape "
                                         << shape_string(*encoder_weight) << ", expected (d, k) = (3, 2)";
  if (decoder_weight->sizes() != at::IntArrayRef({2, 3}))
    return ::testing::AssertionFailure() << "decoder_weight has shape "
                                         << shape_string(*decoder_weight) << ", expected (k, d) = (2, 3)";
  if (auto ok = tensors_close(*encoder_weight, U_k(), 0.0); !ok)
    return ::testing::AssertionFailure() << "encoder_weight != U_k: " << ok.message();
  if (auto ok = tensors_close(*decoder_weight, U_k().t(), 0.0); !ok)
    return ::testing::AssertionFailure() << "decoder_weight != U_kᵀ: " << ok.message();
  const at::Tensor x = batch();
  const at::Tensor z = model.encode(x);
  if (auto ok = tensors_close(z, x.matmul(*encoder_weight), 1e-12); !ok)
    return ::testing::AssertionFailure() << "encode(x) != x · encoder_weight: " << ok.message();
  if (auto ok = tensors_close(z, expected_z(), 1e-12); !ok)
    return ::testing::AssertionFailure() << "encode(x) != hand values: " << ok.message();
  const at::Tensor decoded = model.decode(expected_z());
  if (auto ok = tensors_close(decoded, expected_z().matmul(*decoder_weight), 1e-12); !ok)
    return ::testing::AssertionFailure() << "decode(z) != z · decoder_weight: " << ok.message();
  if (auto ok = tensors_close(decoded, expected_decoded(), 1e-12); !ok)
    return ::testing::AssertionFailure() << "decode(z) != hand values: " << ok.message();
  return ::testing::AssertionSuccess();
}

LinearGaussianVQVAE make_legacy() {
  LinearGaussianVQVAE model(3, 2, 3, U_k(), LegacyInitMethod::uniform, at::Tensor(),
                            /*seed=*/uint64_t{1});
  torch::NoGradGuard no_grad;
  model->quantizer->codebook.set_data(codebook());
  return model;
}

// ---------------------------------------------------------------- on the library
TEST(Fix3LegacyNaming, BuffersAreNamedForWhatTheyDo) {
  LinearGaussianVQVAE model = make_legacy();
  EXPECT_TRUE(buffers_named_for_what_they_do(*model));
}

TEST(Fix3LegacyNaming, LegacyModelEqualsTheComposableVQVAE) {
  LinearGaussianVQVAE legacy = make_legacy();
  VQVAE composable(PCAEncoder(U_k()), VectorQuantizer(QuantizerOptions(2, 3).init_codebook(codebook())),
                   PCADecoder(U_k()));
  const VQVAEOutput a = legacy->forward(batch());
  const VQVAEOutput b = composable->forward(batch());
  EXPECT_TENSOR_EQ(a.indices, expected_indices());
  EXPECT_TENSOR_EQ(b.indices, expected_indices());
  EXPECT_TENSOR_NEAR(a.z, b.z, 1e-12);
  EXPECT_TENSOR_NEAR(a.z_q, b.z_q, 1e-12);
  EXPECT_TENSOR_NEAR(a.z_q_hard, b.z_q_hard, 0.0);
  EXPECT_TENSOR_NEAR(a.x_recon, b.x_recon, 1e-12);
  // x_recon = codebook[0, 2, 1] · U_kᵀ = (1,2,2), u1 + u2 = (1, 1, 0), (2, 1, −2).
  EXPECT_TENSOR_NEAR(a.x_recon, at::tensor({1., 2., 2., 1., 1., 0., 2., 1., -2.}, at::kDouble).view({3, 3}),
                     1e-12);
}

TEST(Fix3LegacyNaming, DeprecationWarningTextNamesTheReplacement) {
  const std::string warning = kLegacyDeprecationWarning;
  EXPECT_NE(warning.find("LinearGaussianVQVAE is deprecated"), std::string::npos) << warning;
  EXPECT_NE(warning.find("VQVAE(PCAEncoder, VectorQuantizer, PCADecoder)"), std::string::npos)
      << warning;
}

// A death test re-executes the binary ("threadsafe" style), so the child is a fresh process
// whatever this process has constructed before: it builds three models, calls each, and exits
// with the number of warnings it printed to stderr, which must be exactly 1.
TEST(Fix3LegacyNamingDeathTest, RuntimeWarningIsPrintedOncePerProcessNotPerCall) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::testing::internal::CaptureStderr();
        for (int i = 0; i < 3; ++i) {
          LinearGaussianVQVAE model(3, 2, 3, U_k());
          model->forward(batch());
        }
        const std::string err = ::testing::internal::GetCapturedStderr();
        const std::string warning = kLegacyDeprecationWarning;
        int count = 0;
        for (size_t pos = err.find(warning); pos != std::string::npos;
             pos = err.find(warning, pos + 1))
          ++count;
        std::exit(count);
      },
      ::testing::ExitedWithCode(1), "");
}

// ---------------------------------------------------------------- on the baseline's buggy code
TEST(Fix3LegacyNaming, SeedSwappedBuffersFailTheNamingCheck) {
  mutants::SwappedLegacyVQVAE model(U_k(), codebook());
  EXPECT_TRUE(fails_because(buffers_named_for_what_they_do(*model),
                            "encoder_weight has shape (2, 3), expected (d, k) = (3, 2)"));
}

TEST(Fix3LegacyNaming, SeedSwappedBuffersComputeTheSameValues) {
  // The reproduction is faithful: the baseline's bug is in the names, not in the numbers, which is
  // why only a check of the names (above) can see it.
  mutants::SwappedLegacyVQVAE seed(U_k(), codebook());
  LinearGaussianVQVAE fixed = make_legacy();
  EXPECT_TENSOR_NEAR(seed->encode(batch()), fixed->encode(batch()), 1e-12);
  EXPECT_TENSOR_NEAR(seed->decode(expected_z()), fixed->decode(expected_z()), 1e-12);
  EXPECT_TENSOR_NEAR(seed->forward(batch()).x_recon, fixed->forward(batch()).x_recon, 1e-12);
}

}  // namespace
}  // namespace vqvae
