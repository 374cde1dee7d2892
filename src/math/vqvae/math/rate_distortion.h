// Shannon's distortion-rate function of a Gaussian vector source, by reverse water-filling
// (Cover & Thomas, Elements of Information Theory, Theorem 10.3.3). No LibTorch in this header:
// plain numbers in, plain numbers out.
#pragma once

#include <vector>

namespace vqvae {

/// The water level θ with Σ_i max(0, ½ log2(λ_i/θ)) = rate_bits, for component variances λ
/// (eigenvalues of the covariance, any order, each >= 0) and a total rate in bits per vector.
/// Closed form: with the m largest λ active, log2 θ = (Σ_{i≤m} log2 λ_i − 2R)/m; m is the
/// largest count for which θ stays below the m-th largest λ. rate 0 -> θ = max λ.
/// Throws InvalidArgument for an empty λ, a negative or non-finite λ_i, or rate < 0.
double reverse_water_level(const std::vector<double>& variances, double rate_bits);

/// D(R) = Σ_i min(θ, λ_i): the least mean squared error (summed over components) of any code of
/// rate R bits per vector for N(0, diag(λ)). For λ_i = σ² (all k equal), D(R) = k σ² 2^(−2R/k).
double gaussian_distortion_rate(const std::vector<double>& variances, double rate_bits);

}  // namespace vqvae
