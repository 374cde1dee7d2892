// The conformance protocol, version 3: how `vqvae conform` (the referee) asks another
// implementation of the baseline's API (through a driver) to run cases, and reads what it returned.
// docs/conform_protocol.md is the specification a driver author reads (every case kind, its
// attributes, inputs and outputs, with shapes); this is its code.
//
// The referee writes a request file, runs `DRIVER ... REQUEST.h5 RESPONSE.h5`, and reads the
// response. The driver only executes: it runs each case on the implementation under test and
// writes what came back (values, gradients, shapes as stored, what is missing); it judges
// nothing. Both files are HDF5: one group per case under /cases, its attributes and datasets.
// Response case: attribute status = "ok" | "missing" | "error", detail (what is missing, or the
// exception), missing (comma-separated outputs the implementation did not return, e.g.
// "z_q_hard"), and the kind's outputs as datasets.
#pragma once

#include <vqvae/core/choices.h>
#include <vqvae/goldens/golden_file.h>
#include <vqvae/goldens/precision.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace vqvae {

inline constexpr int64_t kConformProtocolVersion = 3;
inline constexpr const char* kConformProtocolName = "vqvae-conform";

enum class ConformCaseKind {
  surface, dataset, pca, legacy, quantizer, loss, model, ste, init, metrics, tracker, train, evaluate, checkpoint, modules
};
inline constexpr ChoiceTable<ConformCaseKind, 15> kConformCaseKinds{{{ConformCaseKind::surface, "surface"},
                                                                    {ConformCaseKind::dataset, "dataset"},
                                                                    {ConformCaseKind::pca, "pca"},
                                                                    {ConformCaseKind::legacy, "legacy"},
                                                                    {ConformCaseKind::quantizer, "quantizer"},
                                                                    {ConformCaseKind::loss, "loss"},
                                                                    {ConformCaseKind::model, "model"},
                                                                    {ConformCaseKind::ste, "ste"},
                                                                    {ConformCaseKind::init, "init"},
                                                                    {ConformCaseKind::metrics, "metrics"},
                                                                    {ConformCaseKind::tracker, "tracker"},
                                                                    {ConformCaseKind::train, "train"},
                                                                    {ConformCaseKind::evaluate, "evaluate"},
                                                                    {ConformCaseKind::checkpoint, "checkpoint"},
                                                                    {ConformCaseKind::modules, "modules"}}};

/// The modules of a `modules` case (one (4, 2) int64 output each) and the states each is seen in.
inline constexpr const char* kTrainableModules[] = {"LearnedLinearEncoder", "LearnedLinearDecoder", "PCAEncoder",
                                                    "PCADecoder", "VectorQuantizer"};
inline constexpr const char* kModuleStates[] = {"constructed", "after freeze()", "after unfreeze()", "trainable=False",
                                                "trainable=True"};

/// The functions an `init` case calls (attribute `function`).
inline constexpr const char* kInitFunctions[] = {"uniform_init",     "random_normal_init", "compute_rd_variance",
                                                 "rd_gaussian_init", "kmeans_init",        "quantizer_default",
                                                 "legacy_init"};

/// The keys of MetricsTracker's three methods, in the baseline's order (`metrics` and `evaluate`).
inline constexpr const char* kMetricKeys[] = {"perplexity",          "dead_codes",         "min_usage",
                                              "max_usage",           "usage_std",          "usage_entropy",
                                              "quantization_error",  "quant_error_per_dim", "codebook_mean_norm",
                                              "codebook_std_norm",   "codebook_mean_distance"};

/// The four values vqvae_loss and train_step return, in the order of `losses` outputs.
inline constexpr const char* kLossNames[] = {"total", "recon", "codebook", "commitment"};

/// The baseline's quantizer classes, by the names a driver looks up.
inline constexpr const char* kQuantizerClasses[] = {"VectorQuantizer", "RotationVectorQuantizer",
                                                    "ProjectionVectorQuantizer"};

/// A response that breaks the protocol (not HDF5, another version, a case missing or without
/// status). The message is one line naming the file.
class ConformProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The kind of a request case (its `kind` attribute).
ConformCaseKind case_kind(const GoldenRecord& request);
/// The string attribute `name` of a request; throws std::bad_variant_access when it is not a string.
const std::string& request_text(const GoldenRecord& r, const std::string& name);

/// Writes the request: root attributes protocol, protocol_version and provenance; /cases/<name>.
void write_conform_request(const std::string& path, const std::vector<GoldenRecord>& cases,
                           const std::string& command);
/// Reads a request (for drivers written in C++). Throws ConformProtocolError.
std::vector<GoldenRecord> read_conform_request(const std::string& path);

/// Writes a response (for drivers written in C++): root attributes protocol_version, driver.
void write_conform_response(const std::string& path, const std::vector<GoldenRecord>& cases,
                            const std::string& driver);
/// Reads a response: the cases by name. Throws ConformProtocolError for a malformed file.
std::map<std::string, GoldenRecord> read_conform_response(const std::string& path, std::string& driver);

/// Runs one request case on this library (the reference implementation, and the C++ driver
/// that shows the protocol is not tuned to Python): the response case with status "ok".
/// GoldenPrecision::float64 (the golden suite's stored expectations): the inputs in double, the
/// dataset case as golden_dataset() computes it, every floating output rounded once to float32.
GoldenRecord execute_with_library(const GoldenRecord& request, GoldenPrecision precision = GoldenPrecision::float32);

}  // namespace vqvae
