// The conformance protocol, version 1: how `vqvae conform` (the referee) asks another
// implementation of the seed's API (through a driver) to run cases, and reads what it returned.
// docs/conform_protocol.md is the specification a driver author reads; this is its code.
//
// The referee writes a request file, runs `DRIVER ... REQUEST.h5 RESPONSE.h5`, and reads the
// response. The driver only executes: it runs each case on the implementation under test and
// writes what came back (values, gradients, shapes as stored, what is missing); it judges
// nothing. Both files are HDF5: one group per case under /cases, its attributes and datasets.
//
// Request case kinds (attribute `kind`) and what the driver computes — shapes with B batch,
// d ambient, k latent, n codebook size; float32 unless noted:
//   dataset    attrs d, k, n, sigma_noise, seed -> X (n, d), U_k (d, k) of GaussianDataset
//   pca        U_k (d, k), x (B, d), z (B, k) -> encoder_weight, decoder_weight (as stored),
//              encoded = PCAEncoder(U_k)(x), decoded = PCADecoder(U_k)(z)
//   legacy     U_k, x, z, attr codebook_size -> the same from LinearGaussianVQVAE(d, k,
//              codebook_size, U_k): encoder_weight, decoder_weight, encoded = encode(x),
//              decoded = decode(z)
//   quantizer  attr class (VectorQuantizer | RotationVectorQuantizer | ProjectionVectorQuantizer),
//              z_requires_grad (0/1); codebook (n, k), z (B, k), g (B, k), h (B, k) -> z_q,
//              indices (B, int64), z_q_hard; backward of sum(z_q · g): grad_z (when z requires
//              grad) and codebook_grad_from_z_q (attr z_q_requires_grad); backward of
//              sum(z_q_hard · h): codebook_grad_from_z_q_hard
//   loss       x (B, d), x_recon (B, d), z, z_q, z_q_hard (B, k), attr beta -> losses (4) =
//              total, recon, codebook, commitment of vqvae_loss; after backward of the total:
//              grad_x_recon, grad_z, grad_z_q, grad_z_q_hard
//   model      U_k, codebook, x, attrs class, beta -> VQVAE(PCAEncoder(U_k), class(k, n,
//              codebook), PCADecoder(U_k))(x): x_recon, z, z_q, z_q_hard, indices (attr
//              output_keys lists what forward returned); vqvae_loss of those outputs, backward:
//              codebook_grad
//   ste        U_k, codebook, z, x, attrs class, beta -> class(codebook) on z, PCADecoder(U_k) on
//              z_q, vqvae_loss, backward, once with z not requiring grad and once requiring it:
//              codebook_grad_z_frozen, codebook_grad_z_trainable
// Response case: attribute status = "ok" | "missing" | "error", detail (what is missing, or the
// exception), missing (comma-separated outputs the implementation did not return, e.g.
// "z_q_hard"), and the outputs above as datasets.
#pragma once

#include <vqvae/core/choices.h>
#include <vqvae/harness/golden_file.h>
#include <vqvae/harness/golden_precision.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace vqvae {

inline constexpr int64_t kConformProtocolVersion = 1;
inline constexpr const char* kConformProtocolName = "vqvae-conform";

enum class ConformCaseKind { dataset, pca, legacy, quantizer, loss, model, ste };
inline constexpr ChoiceTable<ConformCaseKind, 7> kConformCaseKinds{{{ConformCaseKind::dataset, "dataset"},
                                                                   {ConformCaseKind::pca, "pca"},
                                                                   {ConformCaseKind::legacy, "legacy"},
                                                                   {ConformCaseKind::quantizer, "quantizer"},
                                                                   {ConformCaseKind::loss, "loss"},
                                                                   {ConformCaseKind::model, "model"},
                                                                   {ConformCaseKind::ste, "ste"}}};

/// The seed's quantizer classes, by the names a driver looks up.
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
