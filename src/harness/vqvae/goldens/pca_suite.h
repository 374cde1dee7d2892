// The PCA golden suite, fixtures/pca_goldens.h5: PCA (and learned linear) encode/decode of the
// baseline's dataset, one case per spec, written, read and compared by the golden-file mechanism
// of golden_file.h through one schema table (pca_golden_schema). fixtures/README.md
// describes the file.
//
// One group per case, with datasets x (B, d), U_k (d, k), z (B, k), x_recon (B, d) (float32) and
// attributes d, k, n, sigma_noise, seed, encoder ("pca" or "learned"); the learned case adds
// encoder_weight (k, d), decoder_weight (d, k) and attributes encoder_seed, decoder_seed. Root
// attributes: library_version, torch_version, command.
//
// pca_suite.cpp reads and compares (no model code: the HDF5 fuzzer drives it);
// pca_cases.cpp computes the cases from the library.
#pragma once

#include <vqvae/goldens/golden_file.h>
#include <vqvae/goldens/precision.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace vqvae {

/// File name of the golden file inside the fixtures folder.
inline constexpr const char* kGoldenFileName = "pca_goldens.h5";

/// `<fixtures_dir>/pca_goldens.h5`.
std::string golden_file_path(const std::string& fixtures_dir);

/// The schema of the file: attributes and datasets of a case (the one table).
const GoldenSchema& pca_golden_schema();

enum class GoldenEncoder {
  pca,      ///< PCAEncoder(U_k) / PCADecoder(U_k): z = x · U_k, x_recon = z · U_kᵀ
  learned,  ///< LearnedLinearEncoder/Decoder, Xavier-uniform with seeds seed + 1 and seed + 2
};

/// "pca" / "learned".
const char* to_string(GoldenEncoder encoder);

/// One golden case: a GaussianDataset(d, k, sigma_noise, n, seed), its first B rows of X, encoded
/// and decoded by `encoder`.
struct GoldenCaseSpec {
  std::string name;  ///< HDF5 group name
  int64_t d = 64;
  int64_t k = 8;
  int64_t n = 10000;  ///< n_samples of the dataset (>= 2)
  double sigma_noise = 0.1;
  uint64_t seed = 42;
  int64_t B = 16;  ///< rows of X stored (1 <= B <= n)
  GoldenEncoder encoder = GoldenEncoder::pca;
};

/// The cases the code (and the golden tests) expect, in file order: the baseline's default
/// dataset, the edge shapes k = 1, k = d, B = 1, d = 1, and a learned-encoder case.
std::vector<GoldenCaseSpec> golden_case_specs();

/// A case's tensors (float32, CPU). encoder_weight (k, d) and decoder_weight (d, k) are defined
/// only for GoldenEncoder::learned.
struct GoldenCase {
  GoldenCaseSpec spec;
  at::Tensor x;               ///< (B, d) first B rows of the dataset's X
  at::Tensor U_k;             ///< (d, k) the dataset's PCA basis
  at::Tensor z;               ///< (B, k) encoder(x) (= x · U_k for pca)
  at::Tensor x_recon;         ///< (B, d) decoder(z) (= z · U_kᵀ for pca)
  at::Tensor encoder_weight;  ///< (k, d), learned only
  at::Tensor decoder_weight;  ///< (d, k), learned only

  /// The stored datasets, in file order, with their names ("x", "U_k", ...).
  std::vector<std::pair<std::string, at::Tensor>> datasets() const;
  /// As stored: the schema's attributes and datasets.
  GoldenRecord record() const;
};

/// Every case of `specs` computed now in `precision` (float32: what `check` compares with the file;
/// float64: what the file stores).
std::vector<GoldenRecord> pca_golden_records(const std::vector<GoldenCaseSpec>& specs = golden_case_specs(),
                                             GoldenPrecision precision = GoldenPrecision::float32);

/// Computes a case from the library, in `precision` (precision.h): float32 as the library
/// runs; float64 as the file stores it, each value rounded once to float32 from the float64 value
/// of its formula applied to the stored values it depends on (z = x · U_k from the stored x and
/// U_k, x_recon from the stored z). Throws InvalidArgument for an impossible spec (B > n, ...).
GoldenCase compute_golden_case(const GoldenCaseSpec& spec, GoldenPrecision precision = GoldenPrecision::float32);

/// Writes `cases` (one group each) and the provenance attributes to `path`, atomically (a
/// temporary file in the same folder, renamed). Same content and command -> same bytes.
void write_golden_cases(const std::string& path, const std::vector<GoldenCase>& cases,
                        const std::string& command);
/// compute_golden_case for each spec in float64 (the reference), then write_golden_cases.
void write_goldens(const std::string& path, const std::vector<GoldenCaseSpec>& specs,
                   const std::string& command);

/// Group names in the file. Throws Hdf5Error naming the file when it is missing, truncated or
/// not HDF5.
std::vector<std::string> list_golden_cases(const std::string& path);
/// Reads case `name` with its attributes and checks every dataset's shape against them. Throws
/// Hdf5Error with one line naming the file, the group and the dataset ("...: group 'k1_d16',
/// dataset 'z': shape (8, 2), expected (B, k) = (8, 1)").
GoldenCase read_golden_case(const std::string& path, const std::string& name);

/// Compares the golden file with `expected` (computed by the code) within `tolerance`.
GoldenReport compare_goldens(const std::string& path, const std::vector<GoldenCase>& expected,
                             const GoldenTolerance& tolerance = {});
/// The same, against every case of golden_case_specs() computed now in float32.
GoldenReport compare_goldens(const std::string& path);

/// `vqvae goldens regen` for this file: computes every case of `specs` in float64 (the reference), then
/// regen_golden_records (show what changed; refuse under CI; write atomically when needed).
RegenResult regen_goldens(const std::string& path, const RegenOptions& options, std::ostream& log,
                          const std::vector<GoldenCaseSpec>& specs = golden_case_specs());

}  // namespace vqvae
