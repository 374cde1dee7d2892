// Uses an installed vqvae through its exported package. The header is torch-free, so this builds
// in seconds; the link still needs every dependency the package exports.
#include <vqvae/math/rate_distortion.h>

#include <cstdio>

int main() {
  // N(0, I_4) at R = 2 bits per vector: D = k σ² 2^(−2R/k) = 4 · 2^(−1) = 2.
  const double d = vqvae::gaussian_distortion_rate({1.0, 1.0, 1.0, 1.0}, 2.0);
  std::printf("D(2 bits) of N(0, I_4) = %.6f\n", d);
  return d > 1.999999 && d < 2.000001 ? 0 : 1;
}
