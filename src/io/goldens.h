// Golden HDF5 fixtures for PCA (and learned linear) encode/decode: which cases the code expects,
// how each is computed from the library, how it is written, read and compared, and the
// regeneration policy of `vqvae goldens regen`. fixtures/README.md describes the file's schema.
//
// One group per case, with datasets x (B, d), U_k (d, k), z (B, k), x_recon (B, d) (float32) and
// attributes d, k, n, sigma_noise, seed, encoder ("pca" or "learned"); the learned case adds
// encoder_weight (k, d), decoder_weight (d, k) and attributes encoder_seed, decoder_seed. Root
// attributes: library_version, torch_version, command.
#pragma once

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
};

/// Computes a case from the library. Throws InvalidArgument for an impossible spec (B > n, ...).
GoldenCase compute_golden_case(const GoldenCaseSpec& spec);

/// Writes `cases` (one group each) and the provenance attributes to `path`, atomically (a
/// temporary file in the same folder, renamed). Same content and command -> same bytes.
void write_golden_cases(const std::string& path, const std::vector<GoldenCase>& cases,
                        const std::string& command);
/// compute_golden_case for each spec, then write_golden_cases.
void write_goldens(const std::string& path, const std::vector<GoldenCaseSpec>& specs,
                   const std::string& command);

/// Group names in the file. Throws Hdf5Error naming the file when it is missing, truncated or
/// not HDF5.
std::vector<std::string> list_golden_cases(const std::string& path);
/// Reads case `name` with its attributes and checks every dataset's shape against them. Throws
/// Hdf5Error with one line naming the file, the group and the dataset ("...: group 'k1_d16',
/// dataset 'z': shape (8, 2), expected (B, k) = (8, 1)").
GoldenCase read_golden_case(const std::string& path, const std::string& name);

/// |code − file| <= atol + rtol · |file|, elementwise (see fixtures/README.md for why).
struct GoldenTolerance {
  double atol = 1e-5;
  double rtol = 1e-5;
};

/// One dataset of one case: code output against the golden file.
struct DatasetDiff {
  std::string name;                   ///< "x", "U_k", ...
  std::vector<int64_t> code_shape;    ///< shape the code produces
  std::vector<int64_t> file_shape;    ///< shape stored in the file (empty when absent)
  std::string problem;                ///< absent / unreadable / unexpected; empty when compared
  int64_t numel = 0;                  ///< elements compared (0 on a shape mismatch)
  int64_t differing = 0;              ///< elements outside the tolerance
  double max_abs_error = 0;           ///< max |code − file|
  double max_rel_error = 0;           ///< max |code − file| / |file| (inf where file = 0 ≠ code)
  std::vector<std::vector<int64_t>> first_differing;  ///< up to 5 multi-indices, row-major order

  bool shape_mismatch() const { return problem.empty() && code_shape != file_shape; }
  bool ok() const { return problem.empty() && !shape_mismatch() && differing == 0; }
};

struct CaseDiff {
  std::string name;
  std::vector<std::string> attribute_problems;  ///< "d: file 16, code 8", ...
  std::vector<DatasetDiff> datasets;
  bool ok() const;
};

struct GoldenReport {
  std::string path;
  GoldenTolerance tolerance;
  std::vector<CaseDiff> cases;       ///< expected cases present in the file, in code order
  std::vector<std::string> stale;    ///< in the file, expected by no test (a warning)
  std::vector<std::string> missing;  ///< expected by the code, absent from the file (a failure)
  /// Every present case matches and none is missing (stale cases do not fail the check).
  bool ok() const;
  /// ok() and nothing stale: the file is what regen would write, up to the tolerance.
  bool up_to_date() const { return ok() && stale.empty(); }
};

/// Compares `code` (the code's output) with `file` (the golden) within `tolerance`.
DatasetDiff compare_tensors(const std::string& name, const at::Tensor& code,
                            const at::Tensor& file, const GoldenTolerance& tolerance = {});

/// Compares the golden file with `expected` (computed by the code). Per-dataset problems
/// (absent, unreadable, wrong shape, values) go into the report; throws Hdf5Error naming the
/// file only when the file as a whole cannot be opened (missing, truncated, not HDF5).
GoldenReport compare_goldens(const std::string& path, const std::vector<GoldenCase>& expected,
                             const GoldenTolerance& tolerance = {});
/// The same, against every case of golden_case_specs().
GoldenReport compare_goldens(const std::string& path);

/// The report as an aligned text table (one row per dataset; counts, errors, first differing
/// indices), then the stale and missing cases and a one-line result.
std::string format_golden_report(const GoldenReport& report);

struct RegenOptions {
  std::vector<GoldenCaseSpec> specs = golden_case_specs();
  std::string command;       ///< recorded in the file's `command` attribute
  bool ci = false;           ///< the environment variable CI is set: never write, unless force
  bool force = false;        ///< write even under CI, and even when nothing changed
  GoldenTolerance tolerance;
};

enum class RegenOutcome {
  unchanged,  ///< the file already matches: left untouched
  written,    ///< the file was (re)written
  refused,    ///< CI is set and force is not: nothing written
};

struct RegenResult {
  RegenOutcome outcome = RegenOutcome::unchanged;
  bool had_changes = false;  ///< the old file was absent, unreadable, or not up to date
};

/// `vqvae goldens regen`: computes every case, prints to `log` what changed against the current
/// file (the report table), then: under CI without force, refuses (writes nothing); with nothing
/// changed and no force, leaves the file untouched; otherwise writes it atomically (temporary
/// file in the same folder + rename: an interrupted regen leaves the old file whole).
RegenResult regen_goldens(const std::string& path, const RegenOptions& options, std::ostream& log);

}  // namespace vqvae
