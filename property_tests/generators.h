// Generators and references shared by the property tests (RapidCheck).
//
// How tensors are made: RapidCheck draws the small, shrinkable choices (shapes, kinds, flags)
// and a 64-bit seed; the tensor contents come from a LibTorch generator seeded with it. A
// failing case therefore replays from RapidCheck's reproduce string, and shrinks in its shape.
// Every float is built from integers: value = integer · 2^exponent, so that each property can
// be made true in float arithmetic, not only on paper (see make_quantizer_problem).
#pragma once

#include <vqvae/tensor/runtime.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/base.h>
#include <vqvae/quantizers/projection_vq.h>
#include <vqvae/quantizers/rotation_vq.h>
#include <vqvae/quantizers/vq.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace vqvae::props {

// ------------------------------------------------------------------ determinism
// One intra-op thread for every property: results do not depend on the machine's core count,
// and the reductions inside LibTorch run in one fixed order.
class SingleThreadedEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { at::set_num_threads(1); }
};
inline ::testing::Environment* const kSingleThreaded =
    ::testing::AddGlobalTestEnvironment(new SingleThreadedEnvironment);

// ------------------------------------------------------------------ integers and seeds
/// An integer in [lo, hi] (both inclusive). RapidCheck's inRange grows with the test size
/// (small early, full range late); one case in ten takes an endpoint, so that the bounds of the
/// ranges the properties promise (B 1..256, k 1..64, n 1..1024) are reached.
inline rc::Gen<int64_t> gen_int(int64_t lo, int64_t hi) {
  if (lo == hi) return rc::gen::just(lo);
  return rc::gen::weightedOneOf<int64_t>(
      {{9, rc::gen::inRange<int64_t>(lo, hi + 1)}, {1, rc::gen::element(lo, hi)}});
}

/// The seed of the LibTorch generator that fills a case's tensors.
inline rc::Gen<uint64_t> gen_seed() { return rc::gen::inRange<uint64_t>(0, uint64_t{1} << 40); }

// ------------------------------------------------------------------ shapes
struct Shape {
  int64_t B = 1;  ///< batch
  int64_t k = 1;  ///< latent dimension
  int64_t n = 1;  ///< codebook size
};
inline void showValue(const Shape& s, std::ostream& os) {
  os << "Shape{B=" << s.B << ", k=" << s.k << ", n=" << s.n << "}";
}
inline rc::Gen<Shape> gen_shape(int64_t max_B = 256, int64_t max_k = 64, int64_t max_n = 1024) {
  return rc::gen::apply([](int64_t B, int64_t k, int64_t n) { return Shape{B, k, n}; },
                        gen_int(1, max_B), gen_int(1, max_k), gen_int(1, max_n));
}

// ------------------------------------------------------------------ quantizers
enum class QuantizerKind { vq, rotation, projection };

inline const char* name_of(QuantizerKind kind) {
  switch (kind) {
    case QuantizerKind::vq: return "VectorQuantizer";
    case QuantizerKind::rotation: return "RotationVectorQuantizer";
    case QuantizerKind::projection: return "ProjectionVectorQuantizer";
  }
  return "?";
}
inline void showValue(QuantizerKind kind, std::ostream& os) { os << name_of(kind); }

/// codebook (n, k) -> the quantizer of that kind with that initial codebook.
inline QuantizerPtr make_quantizer(QuantizerKind kind, const at::Tensor& codebook,
                                   bool trainable = true) {
  const auto options = QuantizerOptions(codebook.size(1), codebook.size(0))
                           .init_codebook(codebook)
                           .trainable(trainable);
  switch (kind) {
    case QuantizerKind::vq: return std::make_shared<VectorQuantizerImpl>(options);
    case QuantizerKind::rotation: return std::make_shared<RotationVectorQuantizerImpl>(options);
    case QuantizerKind::projection: return std::make_shared<ProjectionVectorQuantizerImpl>(options);
  }
  return nullptr;
}

/// The three quantizers; a property checks each of them on every generated case (one process
/// per property keeps ctest's start-up cost, ~1 s per test program, inside the time budget).
inline constexpr QuantizerKind kAllQuantizers[] = {QuantizerKind::vq, QuantizerKind::rotation,
                                                   QuantizerKind::projection};

// ------------------------------------------------------------------ codebooks
/// Well-conditioned and adversarial codebooks.
enum class CodebookKind {
  well_conditioned,  ///< integers in [−127, 127] · 2^−4, distinct rows (almost surely)
  duplicate_rows,    ///< rows drawn with replacement from a pool of max(1, n/4) rows
  exact_ties,        ///< integers in [−2, 2]: many duplicate rows and equidistant codewords
  huge_norms,        ///< integers in [−127, 127] · 2^40
  tiny_norms,        ///< integers in [−127, 127] · 2^−60
  mixed_norms,       ///< rows of integer magnitude 0, 1 or up to 127 side by side (zero rows too)
};

inline const char* name_of(CodebookKind kind) {
  switch (kind) {
    case CodebookKind::well_conditioned: return "well_conditioned";
    case CodebookKind::duplicate_rows: return "duplicate_rows";
    case CodebookKind::exact_ties: return "exact_ties";
    case CodebookKind::huge_norms: return "huge_norms";
    case CodebookKind::tiny_norms: return "tiny_norms";
    case CodebookKind::mixed_norms: return "mixed_norms";
  }
  return "?";
}
inline void showValue(CodebookKind kind, std::ostream& os) { os << name_of(kind); }

inline rc::Gen<CodebookKind> gen_codebook_kind() {
  return rc::gen::element(CodebookKind::well_conditioned, CodebookKind::duplicate_rows,
                          CodebookKind::exact_ties, CodebookKind::huge_norms,
                          CodebookKind::tiny_norms, CodebookKind::mixed_norms);
}

/// The power of two every value of a codebook kind is scaled by.
inline int exponent_of(CodebookKind kind) {
  switch (kind) {
    case CodebookKind::huge_norms: return 40;
    case CodebookKind::tiny_norms: return -60;
    case CodebookKind::exact_ties: return 0;
    default: return -4;
  }
}

struct QuantizerCase {
  Shape shape;
  CodebookKind kind = CodebookKind::well_conditioned;
  uint64_t seed = 0;
};
inline void showValue(const QuantizerCase& c, std::ostream& os) {
  showValue(c.shape, os);
  os << " " << name_of(c.kind) << " seed=" << c.seed;
}
inline rc::Gen<QuantizerCase> gen_quantizer_case(int64_t max_B = 256, int64_t max_k = 64,
                                                 int64_t max_n = 1024) {
  return rc::gen::apply(
      [](Shape shape, CodebookKind kind, uint64_t seed) { return QuantizerCase{shape, kind, seed}; },
      gen_shape(max_B, max_k, max_n), gen_codebook_kind(), gen_seed());
}

/// A codebook and a batch to quantize, both float32.
struct QuantizerProblem {
  at::Tensor codebook;  ///< (n, k) integers in [−127, 127] · 2^exponent
  at::Tensor z;         ///< (B, k) multiples of 2^(exponent−1) in [−127, 127] · 2^exponent
  int exponent = 0;
};

/// Builds a case's tensors. Rows of z are, at random: free integers; a codeword plus a small
/// integer offset; or the midpoint of two codewords (equidistant from both: exact ties).
///
/// Why every distance is exact in float32: all values are m · 2^(e−1) with |m| <= 254, so a
/// difference is m' · 2^(e−1) with |m'| <= 508, its square an integer below 2^18 times 2^(2e−2),
/// and a sum of k <= 64 squares an integer below 2^24 times 2^(2e−2): every partial sum is a
/// float32, so the library's float sums equal the exact ones, and equal distances compare
/// equal. For e in [−62, 52] nothing under- or overflows (2^(2e−2) >= 2^−126, 2^(2e+22) < 2^128).
inline QuantizerProblem make_quantizer_problem(const QuantizerCase& c) {
  at::Generator gen = make_generator(c.seed);
  const auto i64 = at::TensorOptions().dtype(at::kLong);
  const int64_t B = c.shape.B, k = c.shape.k, n = c.shape.n;
  const int64_t M = c.kind == CodebookKind::exact_ties ? 2 : 127;

  at::Tensor C;  // (n, k) integers, int64
  switch (c.kind) {
    case CodebookKind::duplicate_rows: {
      const int64_t pool_rows = std::max<int64_t>(1, n / 4);
      const at::Tensor pool = at::randint(-M, M + 1, {pool_rows, k}, gen, i64);
      C = pool.index_select(0, at::randint(0, pool_rows, {n}, gen, i64));
      break;
    }
    case CodebookKind::mixed_norms: {
      const at::Tensor magnitudes = at::tensor(std::vector<int64_t>{0, 1, 127}, i64)
                                        .index_select(0, at::randint(0, 3, {n}, gen, i64))
                                        .unsqueeze(1);  // (n, 1)
      const at::Tensor raw = at::randint(-M, M + 1, {n, k}, gen, i64);
      C = at::maximum(at::minimum(raw, magnitudes), -magnitudes);
      break;
    }
    default:
      C = at::randint(-M, M + 1, {n, k}, gen, i64);
  }
  const at::Tensor Cd = C.to(at::kDouble);
  const at::Tensor choice = at::randint(0, 3, {B, 1}, gen, i64);
  const at::Tensor free_rows = at::randint(-M, M + 1, {B, k}, gen, at::kDouble);
  const at::Tensor a = Cd.index_select(0, at::randint(0, n, {B}, gen, i64));
  const at::Tensor b = Cd.index_select(0, at::randint(0, n, {B}, gen, i64));
  const at::Tensor near_rows = (a + at::randint(-2, 3, {B, k}, gen, at::kDouble)).clamp(-127, 127);
  const at::Tensor midpoints = (a + b) / 2;
  const at::Tensor z = at::where(choice == 0, free_rows, at::where(choice == 1, near_rows, midpoints));

  const int e = exponent_of(c.kind);
  QuantizerProblem p;
  p.exponent = e;
  p.codebook = (Cd * std::ldexp(1.0, e)).to(at::kFloat);  // exact: integers · 2^e
  p.z = (z * std::ldexp(1.0, e)).to(at::kFloat);
  return p;
}

// ------------------------------------------------------------------ references
/// Brute-force nearest codeword in double precision: argmin (lowest index among ties), the
/// minimal squared distance, and how many codewords attain it.
struct NearestReference {
  std::vector<int64_t> argmin;
  std::vector<double> min_distance;
  std::vector<int64_t> ties;
};

inline NearestReference brute_force_nearest(const at::Tensor& z, const at::Tensor& codebook) {
  const at::Tensor zd = z.detach().to(at::kDouble).contiguous();
  const at::Tensor cd = codebook.detach().to(at::kDouble).contiguous();
  const int64_t B = zd.size(0), n = cd.size(0), k = cd.size(1);
  const double* zp = zd.data_ptr<double>();
  const double* cp = cd.data_ptr<double>();
  NearestReference ref;
  ref.argmin.resize(B);
  ref.min_distance.resize(B);
  ref.ties.resize(B);
  for (int64_t i = 0; i < B; ++i) {
    double best = std::numeric_limits<double>::infinity();
    int64_t best_j = -1, ties = 0;
    for (int64_t j = 0; j < n; ++j) {
      double d = 0;
      for (int64_t t = 0; t < k; ++t) {
        const double diff = zp[i * k + t] - cp[j * k + t];
        d += diff * diff;
      }
      if (d < best) {
        best = d;
        best_j = j;
        ties = 1;
      } else if (d == best) {
        ++ties;
      }
    }
    ref.argmin[i] = best_j;
    ref.min_distance[i] = best;
    ref.ties[i] = ties;
  }
  return ref;
}

/// Fails the property at the first row where two index vectors differ, naming the row and both
/// indices (a whole 256-long vector is unreadable in a counterexample).
inline void assert_same_indices(const std::vector<int64_t>& actual,
                                const std::vector<int64_t>& expected, const char* what) {
  RC_ASSERT(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    if (actual[i] != expected[i])
      RC_FAIL(std::string(what) + ": row " + std::to_string(i) + " has index " +
              std::to_string(actual[i]) + ", expected " + std::to_string(expected[i]));
}

/// Squared distance ‖z_i − c_j‖² in double.
inline double squared_distance(const at::Tensor& z, int64_t i, const at::Tensor& codebook,
                               int64_t j) {
  return (z[i].to(at::kDouble) - codebook[j].to(at::kDouble)).pow(2).sum().item<double>();
}

template <typename T>
std::vector<T> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.detach().contiguous().reshape(-1);
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

/// max |a − b| in double (both defined, same shape).
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  if (a.numel() == 0) return 0.0;
  return (a.detach().to(at::kDouble) - b.detach().to(at::kDouble)).abs().max().item<double>();
}

/// max |t| in double; 0 for an undefined tensor ("no gradient" and "zero gradient" alike).
inline double max_abs(const at::Tensor& t) {
  if (!t.defined() || t.numel() == 0) return 0.0;
  return t.detach().to(at::kDouble).abs().max().item<double>();
}

// ------------------------------------------------------------------ continuous data
/// (rows, cols) float64 values m · 2^(e − 20), m uniform in [−2^20, 2^20], e in [exp_lo, exp_hi]
/// per row (per_row) or per element: floats from integers, with varied magnitudes.
inline at::Tensor floats_from_integers(int64_t rows, int64_t cols, at::Generator& gen, int exp_lo,
                                       int exp_hi, bool per_row = true) {
  const int64_t one = int64_t{1} << 20;
  const at::Tensor m = at::randint(-one, one + 1, {rows, cols}, gen, at::kDouble);
  const at::Tensor e = per_row ? at::randint(exp_lo, exp_hi + 1, {rows, 1}, gen, at::kDouble)
                               : at::randint(exp_lo, exp_hi + 1, {rows, cols}, gen, at::kDouble);
  return m * at::exp2(e - 20);  // exact: powers of two
}

// ------------------------------------------------------------------ models
enum class ModuleKind { pca, learned };
inline void showValue(ModuleKind kind, std::ostream& os) {
  os << (kind == ModuleKind::pca ? "pca" : "learned");
}

/// A random VQVAE: encoder, quantizer and decoder kinds, each trainable or frozen.
struct ModelCase {
  int64_t B = 1, d = 1, k = 1, n = 1;
  ModuleKind encoder = ModuleKind::pca;
  bool encoder_trainable = false;
  bool encoder_bias = false;
  QuantizerKind quantizer = QuantizerKind::vq;
  bool quantizer_trainable = true;
  ModuleKind decoder = ModuleKind::pca;
  bool decoder_trainable = false;
  bool decoder_bias = false;
  uint64_t seed = 0;
};
inline void showValue(const ModelCase& m, std::ostream& os) {
  os << "ModelCase{B=" << m.B << ", d=" << m.d << ", k=" << m.k << ", n=" << m.n
     << ", encoder=" << (m.encoder == ModuleKind::pca ? "pca" : "learned")
     << (m.encoder_trainable ? " trainable" : " frozen") << (m.encoder_bias ? "+bias" : "")
     << ", quantizer=" << name_of(m.quantizer)
     << (m.quantizer_trainable ? " trainable" : " frozen")
     << ", decoder=" << (m.decoder == ModuleKind::pca ? "pca" : "learned")
     << (m.decoder_trainable ? " trainable" : " frozen") << (m.decoder_bias ? "+bias" : "")
     << ", seed=" << m.seed << "}";
}

inline rc::Gen<ModelCase> gen_model_case(int64_t max_B = 32, int64_t max_d = 16,
                                         int64_t max_n = 32) {
  return rc::gen::exec([=] {
    ModelCase m;
    m.d = *gen_int(1, max_d);
    m.k = *gen_int(1, m.d);
    m.B = *gen_int(1, max_B);
    m.n = *gen_int(1, max_n);
    m.encoder = *rc::gen::element(ModuleKind::pca, ModuleKind::learned);
    m.encoder_trainable = *rc::gen::arbitrary<bool>();
    m.encoder_bias = m.encoder == ModuleKind::learned && *rc::gen::arbitrary<bool>();
    m.quantizer =
        *rc::gen::element(QuantizerKind::vq, QuantizerKind::rotation, QuantizerKind::projection);
    m.quantizer_trainable = *rc::gen::arbitrary<bool>();
    m.decoder = *rc::gen::element(ModuleKind::pca, ModuleKind::learned);
    m.decoder_trainable = *rc::gen::arbitrary<bool>();
    m.decoder_bias = m.decoder == ModuleKind::learned && *rc::gen::arbitrary<bool>();
    m.seed = *gen_seed();
    return m;
  });
}

/// A random (d, k) float32 matrix with orthonormal columns (Q of a reduced QR, in float64).
inline at::Tensor random_orthonormal(int64_t d, int64_t k, at::Generator& gen) {
  const at::Tensor a = at::randn({d, k}, gen, at::kDouble);
  return std::get<0>(at::linalg_qr(a, "reduced")).to(at::kFloat);
}

/// The model of a case: codebook N(0, 1) entries, U_k random orthonormal, learned weights
/// seeded from the case's seed.
inline VQVAE make_model(const ModelCase& m) {
  at::Generator gen = make_generator(m.seed);
  const at::Tensor U_k = random_orthonormal(m.d, m.k, gen);
  EncoderPtr encoder;
  if (m.encoder == ModuleKind::pca) {
    encoder = std::make_shared<PCAEncoderImpl>(U_k, m.encoder_trainable);
  } else {
    encoder = std::make_shared<LearnedLinearEncoderImpl>(
        LearnedLinearEncoderOptions(m.d, m.k)
            .trainable(m.encoder_trainable)
            .bias(m.encoder_bias)
            .seed(m.seed + 1));
  }
  const at::Tensor codebook = at::randn({m.n, m.k}, gen, at::kFloat);
  QuantizerPtr quantizer = make_quantizer(m.quantizer, codebook, m.quantizer_trainable);
  DecoderPtr decoder;
  if (m.decoder == ModuleKind::pca) {
    decoder = std::make_shared<PCADecoderImpl>(U_k, m.decoder_trainable);
  } else {
    decoder = std::make_shared<LearnedLinearDecoderImpl>(
        LearnedLinearDecoderOptions(m.k, m.d)
            .trainable(m.decoder_trainable)
            .bias(m.decoder_bias)
            .seed(m.seed + 2));
  }
  return VQVAE(std::make_shared<VQVAEImpl>(encoder, quantizer, decoder));
}

}  // namespace vqvae::props
