// Golden files: the one mechanism behind every HDF5 fixture of fixtures/. A suite's file holds one
// group per case; what a case holds — its attributes and its datasets with their shapes — is one
// schema table, from which the same code writes the file, reads a case back (checking every
// shape), compares the file with what the code computes now, and regenerates it.
//
// A dataset's shape is written in symbols: an attribute's name (d, k: the case's value of that
// integer attribute) or a free symbol (B: bound by the first dataset that uses it). Reading
// checks every dataset against them: "...: group 'k1_d16', dataset 'z': shape (8, 2), expected
// (B, k) = (8, 1)".
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace vqvae {

class Hdf5Reader;
class Hdf5Writer;

enum class GoldenValueType { integer, real, text };

/// Which cases hold an entry: those whose text attribute `attribute` is one of `values`
/// (attribute null: every case).
struct GoldenCondition {
  const char* attribute = nullptr;
  std::vector<const char*> values = {};
};

/// An attribute of every case (or of the cases where `only_if` holds).
struct GoldenAttributeSpec {
  const char* name;
  GoldenValueType type;
  /// For text attributes: the values allowed (empty: any).
  std::vector<const char*> allowed = {};
  GoldenCondition only_if = {};
};

/// A dataset of every case (or of the cases where `only_if` holds): floating point, or int64
/// when `integer`.
struct GoldenDatasetSpec {
  const char* name;
  std::vector<const char*> shape;  ///< one symbol per dimension
  GoldenCondition only_if = {};
  bool integer = false;
};

struct GoldenSchema {
  std::vector<GoldenAttributeSpec> attributes;
  std::vector<GoldenDatasetSpec> datasets;
};

using GoldenValue = std::variant<int64_t, double, std::string>;

/// One case as stored: attributes and datasets in schema order.
struct GoldenRecord {
  std::string name;  ///< the HDF5 group
  std::vector<std::pair<std::string, GoldenValue>> attributes;
  std::vector<std::pair<std::string, at::Tensor>> datasets;

  /// The attribute or dataset of that name; throws std::out_of_range when absent.
  const GoldenValue& attribute(const std::string& name) const;
  const at::Tensor& dataset(const std::string& name) const;
};

/// Writes `records` (one group each, attributes and datasets as the schema lists them) and the
/// provenance attributes to `path`, atomically. Same records and command -> same bytes.
/// Throws InvalidArgument for a record that does not fit the schema.
void write_golden_records(const std::string& path, const GoldenSchema& schema,
                          const std::vector<GoldenRecord>& records, const std::string& command);

/// Writes one record as group `group` of `file`: every attribute and dataset it holds, in its
/// order (no schema: the conformance protocol's request and response cases).
void write_record_group(Hdf5Writer& file, const std::string& group, const GoldenRecord& record);
/// Reads every attribute (int64, float64 or string) and dataset of group `group`, by name order.
/// Throws Hdf5Error naming the file and the object.
GoldenRecord read_record_group(const Hdf5Reader& file, const std::string& group);

/// Group names in the file. Throws Hdf5Error naming the file when it is missing, truncated or
/// not HDF5 (with what to do about it).
std::vector<std::string> list_golden_records(const std::string& path);

/// Reads case `name`, checking its attributes (types, allowed values) and every dataset's shape
/// against the schema. Throws Hdf5Error with one line naming the file, the group and the
/// attribute or dataset.
GoldenRecord read_golden_record(const std::string& path, const GoldenSchema& schema,
                                const std::string& name);

/// |code − file| <= atol + rtol · |file|, elementwise (see fixtures/README.md for why).
struct GoldenTolerance {
  double atol = 1e-5;
  double rtol = 1e-5;
};

/// What the comparison found for one dataset.
enum class DatasetStatus {
  ok,              ///< same shape, every element within the tolerance
  differs,         ///< same shape, some elements outside it
  shape_mismatch,  ///< the file's shape is not the code's
  absent,          ///< the code produces it, the file lacks it
  unreadable,      ///< in the file, but cannot be read
  extra,           ///< in the file, not produced by the code
};

/// One dataset of one case: code output against the golden file.
struct DatasetDiff {
  std::string name;                   ///< "x", "U_k", ...
  DatasetStatus status = DatasetStatus::ok;
  std::vector<int64_t> code_shape;    ///< shape the code produces (empty for extra)
  std::vector<int64_t> file_shape;    ///< shape stored in the file (empty when absent)
  std::string problem;                ///< absent / unreadable / extra: what, in words
  int64_t numel = 0;                  ///< elements compared (0 on a shape mismatch)
  int64_t differing = 0;              ///< elements outside the tolerance
  double max_abs_error = 0;           ///< max |code − file|
  double max_rel_error = 0;           ///< max |code − file| / |file| (inf where file = 0 ≠ code)
  std::vector<std::vector<int64_t>> first_differing;  ///< up to 5 multi-indices, row-major order

  bool shape_mismatch() const { return status == DatasetStatus::shape_mismatch; }
  bool ok() const { return status == DatasetStatus::ok; }
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
  /// Datasets compared, and how many of them are not ok.
  int64_t datasets_compared() const;
  int64_t datasets_differing() const;
  /// The largest max_abs_error over the compared datasets.
  double max_abs_error() const;
};

/// Compares `code` (the code's output) with `file` (the golden) within `tolerance`.
DatasetDiff compare_tensors(const std::string& name, const at::Tensor& code,
                            const at::Tensor& file, const GoldenTolerance& tolerance = {});

/// Compares the golden file with `expected` (computed by the code): every attribute and dataset
/// of each expected case. Per-case problems go into the report; throws Hdf5Error naming the file
/// only when the file as a whole cannot be opened (missing, truncated, not HDF5).
GoldenReport compare_golden_records(const std::string& path, const std::vector<GoldenRecord>& expected,
                                    const GoldenTolerance& tolerance = {});

/// The report as an aligned text table (one row per dataset; counts, errors, first differing
/// indices), then the stale and missing cases and a one-line result.
std::string format_golden_report(const GoldenReport& report);

struct RegenOptions {
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

/// `vqvae goldens regen` for one file: prints to `log` what changed against the current file
/// (the report table), then: under CI without force, refuses (writes nothing); with nothing
/// changed and no force, leaves the file untouched; otherwise writes `expected` atomically.
RegenResult regen_golden_records(const std::string& path, const GoldenSchema& schema,
                                 const std::vector<GoldenRecord>& expected,
                                 const RegenOptions& options, std::ostream& log);

}  // namespace vqvae
