// Quantizers (src/modules/vqvae/quantizers/): nearest codeword and ties, z_q_hard, the three gradient
// estimators on hand-computed cases, degenerate rotation inputs, bad input.
#include "test_support.h"

#include <vqvae/initialization/codebook_init.h>
#include <vqvae/quantizers/projection_vq.h>
#include <vqvae/search/nearest_codeword.h>
#include <vqvae/quantizers/rotation_vq.h>
#include <vqvae/quantizers/vq.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

namespace vqvae {
namespace {

using testing::throws_invalid;

// Rows of doubles -> a (rows, cols) float64 tensor.
torch::Tensor f64(const std::vector<std::vector<double>>& rows) {
  std::vector<double> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  return torch::tensor(flat, torch::kDouble).reshape({static_cast<int64_t>(rows.size()), -1});
}

// Codebook (4, 2): c0 = (0,0), c1 = (1,0), c2 = (1,0) (duplicate of c1), c3 = (0,2).
torch::Tensor small_codebook() { return f64({{0, 0}, {1, 0}, {1, 0}, {0, 2}}); }

TEST(NearestCodeword, HandExampleWithTiesToLowestIndex) {
  // z0 = (0.9, 0.1): nearest c1 = c2 -> 1 (lowest). z1 = (0.5, 0): equidistant to c0 and c1 -> 0.
  // z2 = (0, 1.2): d²(c0) = 1.44, d²(c3) = 0.64 -> 3. z3 = (0, 1): d²(c0) = d²(c3) = 1 -> 0.
  torch::Tensor z = f64({{0.9, 0.1}, {0.5, 0}, {0, 1.2}, {0, 1}});
  torch::Tensor indices = nearest_codeword(z, small_codebook());
  EXPECT_EQ(indices.scalar_type(), torch::kLong);
  EXPECT_TENSOR_EQ(indices, torch::tensor({1, 0, 3, 0}, torch::kLong));
}

TEST(NearestCodeword, NonFiniteInputIsAnErrorNotIndexZero) {
  EXPECT_TRUE(throws_invalid([] { nearest_codeword(f64({{0, 0}, {NAN, 1}}), small_codebook()); },
                             {"z row 1", "NaN or Inf"}));
  EXPECT_TRUE(throws_invalid([] { nearest_codeword(f64({{INFINITY, 0}}), small_codebook()); },
                             {"z row 0"}));
}

template <typename Quantizer>
void check_outputs(Quantizer quantizer) {
  torch::Tensor z = f64({{0.9, 0.1}, {0, 1.2}}).to(torch::kFloat);
  QuantizerOutput out = quantizer(z);
  EXPECT_TENSOR_EQ(out.indices, torch::tensor({1, 3}, torch::kLong));
  EXPECT_TENSOR_EQ(out.z_q_hard, quantizer->codebook.index_select(0, out.indices));
  EXPECT_TRUE(out.z_q_hard.requires_grad());  // carries the codebook's gradient
  EXPECT_TENSOR_EQ(out.z_q, out.z_q_hard);    // forward value is the codeword
  // distances ‖z − q‖: (0.1, 0.1) -> 0.141421; (0, −0.8) -> 0.8. commitment = mean of squares.
  EXPECT_TENSOR_NEAR(out.distances, torch::tensor({std::sqrt(0.02), 0.8}), 1e-6);
  EXPECT_NEAR(out.commitment_loss.template item<double>(), (0.02 + 0.64) / 2, 1e-6);
}

TEST(Quantizers, OutputsOnHandExample) {
  const auto codebook = small_codebook().to(torch::kFloat);
  check_outputs(VectorQuantizer(2, 4, codebook));
  check_outputs(RotationVectorQuantizer(2, 4, codebook));
  check_outputs(ProjectionVectorQuantizer(2, 4, codebook));
}

TEST(VectorQuantizer, StraightThroughGradientIsIdentityAndNoneToCodebook) {
  VectorQuantizer quantizer(2, 4, small_codebook().to(torch::kFloat));
  torch::Tensor z = f64({{0.9, 0.1}, {0, 1.2}}).to(torch::kFloat).requires_grad_();
  QuantizerOutput out = quantizer(z);
  torch::Tensor w = torch::tensor({{1.5, -2.0}, {0.25, 3.0}});
  (out.z_q * w).sum().backward();
  EXPECT_TENSOR_EQ(z.grad(), w);
  EXPECT_FALSE(quantizer->codebook.grad().defined());
}

TEST(VectorQuantizer, DefaultCodebookIsUniformInitAndPrints) {
  VectorQuantizer quantizer(QuantizerOptions(3, 10).seed(5));
  EXPECT_EQ(quantizer->codebook.sizes(), (std::vector<int64_t>{10, 3}));
  // uniform_init(n, k, seed), drawn the same: U(−1/n, 1/n) per entry. Both bounds of the range,
  // and spread over it (an all-zero or constant codebook fails).
  EXPECT_TENSOR_EQ(quantizer->codebook, uniform_init(10, 3, 5));
  EXPECT_LE(quantizer->codebook.max().item<double>(), 0.1);
  EXPECT_GE(quantizer->codebook.min().item<double>(), -0.1);
  EXPECT_GT(quantizer->codebook.std().item<double>(), 0.02);  // U(−0.1, 0.1): std 0.0577
  std::ostringstream s;
  quantizer->pretty_print(s);
  EXPECT_EQ(s.str(), "vqvae::VectorQuantizer(dim=3, codebook_size=10, trainable=true)");
  quantizer->freeze();
  EXPECT_FALSE(quantizer->codebook.requires_grad());
}

// Hand-computed 2-D case. z = (2, 0), q = (0, 1): ê = (1, 0), q̂ = (0, 1), r = (1, 1)/√2,
// R = I − 2rrᵀ + 2q̂êᵀ = [[0, −1], [1, 0]] (rotation by +90°), λ = ‖q‖/‖z‖ = 1/2.
// g = (3, 5): Rᵀg = (5, −3), λRᵀg = (2.5, −1.5).
TEST(RotationTrick, HandComputed2D) {
  torch::Tensor z = f64({{2, 0}}), q = f64({{0, 1}}), g = f64({{3, 5}});
  EXPECT_TENSOR_NEAR(rotation_matrices(z, q)[0], f64({{0, -1}, {1, 0}}), 1e-15);
  EXPECT_TENSOR_NEAR(rotation_trick_gradient(z, q, g), f64({{2.5, -1.5}}), 1e-15);
  torch::Tensor zv = z.clone().requires_grad_();
  torch::Tensor out = rotation_trick(zv, q);
  EXPECT_TENSOR_EQ(out, q);
  (out * g).sum().backward();
  EXPECT_TENSOR_NEAR(zv.grad(), f64({{2.5, -1.5}}), 1e-15);
}

// Hand-computed 3-D case. z = (0, 0, 3), q = (4, 0, 0): ê = e3, q̂ = e1, r = (1, 0, 1)/√2,
// R = [[0, 0, 1], [0, 1, 0], [−1, 0, 0]], λ = 4/3. g = (1, 2, 3): Rᵀg = (−3, 2, 1),
// λRᵀg = (−4, 8/3, 4/3).
TEST(RotationTrick, HandComputed3D) {
  torch::Tensor z = f64({{0, 0, 3}}), q = f64({{4, 0, 0}}), g = f64({{1, 2, 3}});
  EXPECT_TENSOR_NEAR(rotation_matrices(z, q)[0], f64({{0, 0, 1}, {0, 1, 0}, {-1, 0, 0}}), 1e-15);
  EXPECT_TENSOR_NEAR(rotation_trick_gradient(z, q, g), f64({{-4, 8.0 / 3, 4.0 / 3}}), 1e-14);
}

// The documented degenerate cases (rotation_vq.h): q = 0 -> zero gradient; z = 0 -> g passes
// straight through; ê = −q̂ -> rotation by π: gradient −λ·(component along ê) + λ·(rest rotated
// by π in the (ê, r) plane); here z = (1, 0, 0), q = (−2, 0, 0), λ = 2, r = e2 (least-aligned
// axis, lowest index among ties), R = I − 2e2e2ᵀ − 2e1e1ᵀ = diag(−1, −1, 1): λRᵀg = 2·(−1, −2, 3).
TEST(RotationTrick, DegenerateCasesAreFiniteAndAsDocumented) {
  const torch::Tensor g = f64({{1, 2, 3}});
  EXPECT_TENSOR_EQ(rotation_trick_gradient(f64({{1, 2, 3}}), f64({{0, 0, 0}}), g), f64({{0, 0, 0}}));
  EXPECT_TENSOR_EQ(rotation_trick_gradient(f64({{0, 0, 0}}), f64({{1, 1, 1}}), g), g);
  EXPECT_TENSOR_NEAR(rotation_trick_gradient(f64({{1, 0, 0}}), f64({{-2, 0, 0}}), g), f64({{-2, -4, 6}}), 1e-15);
  EXPECT_TENSOR_NEAR(rotation_matrices(f64({{1, 0, 0}}), f64({{-2, 0, 0}}))[0],
                     f64({{-1, 0, 0}, {0, -1, 0}, {0, 0, 1}}), 1e-15);
  // k = 1, opposite signs: R = −1.
  EXPECT_TENSOR_NEAR(rotation_trick_gradient(f64({{2}}), f64({{-1}}), f64({{4}})), f64({{-2}}), 1e-15);
  // Both zero.
  EXPECT_TENSOR_EQ(rotation_trick_gradient(f64({{0, 0}}), f64({{0, 0}}), f64({{1, 1}})), f64({{1, 1}}));
}

// Projection estimator. z = (0, 0), q = (3, 4): u = (0.6, 0.8); g = (1, 1): g·u = 1.4,
// (g·u)u = (0.84, 1.12). z = q: u = 0, gradient 0.
TEST(ProjectionEstimator, HandComputed) {
  torch::Tensor z = f64({{0, 0}, {1, 1}}).requires_grad_();
  torch::Tensor q = f64({{3, 4}, {1, 1}});
  torch::Tensor out = projection_estimator(z, q);
  EXPECT_TENSOR_EQ(out, q);
  (out * f64({{1, 1}, {5, 7}})).sum().backward();
  EXPECT_TENSOR_NEAR(z.grad(), f64({{0.84, 1.12}, {0, 0}}), 1e-15);
}

TEST(Quantizers, BadInputNamesArgumentAndValues) {
  EXPECT_TRUE(throws_invalid([] { VectorQuantizer(0, 4); }, {"VectorQuantizer", "dim k must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([] { RotationVectorQuantizer(2, 0); }, {"RotationVectorQuantizer", "codebook_size n must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([] { ProjectionVectorQuantizer(2, 4, torch::zeros({4, 3})); },
                             {"init_codebook", "(n, k) = (4, 2)", "got (4, 3)"}));
  EXPECT_TRUE(throws_invalid([] { VectorQuantizer(2, 4, torch::full({4, 2}, NAN)); }, {"init_codebook must be finite"}));
  VectorQuantizer quantizer(2, 4);
  EXPECT_TRUE(throws_invalid([&] { quantizer(torch::zeros({5, 3})); }, {"VectorQuantizer::forward", "z", "(B, k) = (*, 2)", "got (5, 3)"}));
  EXPECT_TRUE(throws_invalid([&] { quantizer(torch::zeros({0, 2})); }, {"batch size B must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([] { nearest_codeword(torch::zeros({2, 2}), torch::zeros({0, 2})); }, {"codebook size n must be >= 1", "got 0"}));
  EXPECT_TRUE(throws_invalid([] { projection_gradient(torch::zeros({2, 2}), torch::zeros({3, 2}), torch::zeros({2, 2})); },
                             {"projection_gradient", "q", "(B, k) = (2, 2)", "got (3, 2)"}));
  EXPECT_TRUE(throws_invalid([] { rotation_frame(torch::zeros({2, 2}), torch::zeros({2, 3})); }, {"rotation_frame", "q", "got (2, 3)"}));
  EXPECT_TRUE(throws_invalid([] { rotation_trick_gradient(torch::zeros({2, 2}), torch::zeros({2, 2}), torch::zeros({2, 3})); },
                             {"g", "(B, k) = (2, 2)", "got (2, 3)"}));
}

}  // namespace
}  // namespace vqvae
