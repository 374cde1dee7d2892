#include <vqvae/harness/conform_protocol.h>

#include <vqvae/core/errors.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/io/provenance.h>
#include <vqvae/models/legacy.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/quantizer_kind.h>
#include <vqvae/training/losses.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <memory>

// The legacy model is run on purpose: it is one of the implementations under test.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace vqvae {
namespace {

int64_t integer(const GoldenRecord& r, const std::string& name) { return std::get<int64_t>(r.attribute(name)); }
double real(const GoldenRecord& r, const std::string& name) { return std::get<double>(r.attribute(name)); }
const std::string& text(const GoldenRecord& r, const std::string& name) { return std::get<std::string>(r.attribute(name)); }

QuantizerKind quantizer_class(const std::string& name) {
  for (size_t i = 0; i < std::size(kQuantizerClasses); ++i)
    if (name == kQuantizerClasses[i]) return kQuantizerNames[i].value;
  throw_invalid_argument("conform", "class must be VectorQuantizer, RotationVectorQuantizer or "
                                    "ProjectionVectorQuantizer, got '" + name + "'");
}

QuantizerPtr make_class(const std::string& name, const at::Tensor& codebook) {
  return make_quantizer(quantizer_class(name),
                        QuantizerOptions(codebook.size(1), codebook.size(0)).init_codebook(codebook));
}

at::Tensor grad_or_zeros(const at::Tensor& t) { return t.grad().defined() ? t.grad().clone() : at::zeros_like(t); }

at::Tensor leaf(const at::Tensor& t, bool requires_grad) {
  return t.detach().clone().requires_grad_(requires_grad);
}

}  // namespace

ConformCaseKind case_kind(const GoldenRecord& request) {
  return parse_choice(kConformCaseKinds, text(request, "kind"), "conform case '" + request.name + "': kind");
}

void write_conform_request(const std::string& path, const std::vector<GoldenRecord>& cases, const std::string& command) {
  Hdf5Writer file(path);
  file.create_group("cases");
  for (const GoldenRecord& c : cases) write_record_group(file, "cases/" + c.name, c);
  file.write_attribute("/", "protocol", std::string(kConformProtocolName));
  file.write_attribute("/", "protocol_version", kConformProtocolVersion);
  write_provenance(file, command);
  file.commit();
}

namespace {

std::vector<GoldenRecord> read_cases(const std::string& path, const Hdf5Reader& file) {
  std::vector<GoldenRecord> cases;
  std::vector<std::string> names;
  try {
    names = file.list("cases");
  } catch (const Hdf5Error&) {
    throw ConformProtocolError(path + ": no group /cases (not a conform file?)");
  }
  for (const std::string& name : names) {
    try {
      cases.push_back(read_record_group(file, "cases/" + name));
    } catch (const Hdf5Error& e) {
      throw ConformProtocolError(std::string(e.what()) + " (case '" + name + "')");
    }
  }
  return cases;
}

int64_t protocol_version(const std::string& path, const Hdf5Reader& file) {
  try {
    return file.read_int_attribute("/", "protocol_version");
  } catch (const Hdf5Error&) {
    throw ConformProtocolError(path + ": no integer attribute protocol_version on /");
  }
}

}  // namespace

std::vector<GoldenRecord> read_conform_request(const std::string& path) {
  try {
    Hdf5Reader file(path);
    if (protocol_version(path, file) != kConformProtocolVersion)
      throw ConformProtocolError(path + ": protocol_version " + std::to_string(protocol_version(path, file)) +
                                 ", this program speaks " + std::to_string(kConformProtocolVersion));
    return read_cases(path, file);
  } catch (const Hdf5Error& e) {
    throw ConformProtocolError(e.what());
  }
}

void write_conform_response(const std::string& path, const std::vector<GoldenRecord>& cases, const std::string& driver) {
  Hdf5Writer file(path);
  file.create_group("cases");
  for (const GoldenRecord& c : cases) write_record_group(file, "cases/" + c.name, c);
  file.write_attribute("/", "protocol_version", kConformProtocolVersion);
  file.write_attribute("/", "driver", driver);
  file.commit();
}

std::map<std::string, GoldenRecord> read_conform_response(const std::string& path, std::string& driver) {
  std::map<std::string, GoldenRecord> out;
  try {
    Hdf5Reader file(path);
    const int64_t version = protocol_version(path, file);
    if (version != kConformProtocolVersion)
      throw ConformProtocolError(path + ": protocol_version " + std::to_string(version) + ", this program speaks " +
                                 std::to_string(kConformProtocolVersion));
    try {
      driver = file.read_string_attribute("/", "driver");
    } catch (const Hdf5Error&) {
      driver = "(driver unnamed)";
    }
    for (GoldenRecord& c : read_cases(path, file)) {
      try {
        const std::string& status = text(c, "status");
        if (status != "ok" && status != "missing" && status != "error")
          throw ConformProtocolError(path + ": case '" + c.name + "': status must be ok, missing or error, got '" +
                                     status + "'");
      } catch (const std::bad_variant_access&) {
        throw ConformProtocolError(path + ": case '" + c.name + "': status is not a string");
      } catch (const std::out_of_range&) {
        throw ConformProtocolError(path + ": case '" + c.name + "' has no status attribute");
      }
      out.emplace(c.name, std::move(c));
    }
  } catch (const Hdf5Error& e) {
    throw ConformProtocolError(e.what());
  }
  return out;
}

GoldenRecord execute_with_library(const GoldenRecord& request, GoldenPrecision precision) {
  GoldenRecord response;
  response.name = request.name;
  response.attributes.emplace_back("status", std::string("ok"));
  auto& out = response.datasets;
  const auto input = [&](const char* name) { return in_precision(request.dataset(name), precision); };
  const auto beta = [&] { return real(request, "beta"); };
  switch (case_kind(request)) {
    case ConformCaseKind::dataset: {
      const GaussianDataset data = golden_dataset(GaussianDatasetOptions()
                                                      .d(integer(request, "d"))
                                                      .k(integer(request, "k"))
                                                      .n_samples(integer(request, "n"))
                                                      .sigma_noise(real(request, "sigma_noise"))
                                                      .seed(static_cast<uint64_t>(integer(request, "seed"))),
                                                  precision);
      out = {{"X", data.X}, {"U_k", data.U_k}};
      break;
    }
    case ConformCaseKind::pca: {
      c10::NoGradGuard no_grad;
      PCAEncoder encoder(input("U_k"));
      PCADecoder decoder(input("U_k"));
      out = {{"encoder_weight", encoder->encoder_weight.clone()},
             {"decoder_weight", decoder->decoder_weight.clone()},
             {"encoded", encoder->forward(input("x"))},
             {"decoded", decoder->forward(input("z"))}};
      break;
    }
    case ConformCaseKind::legacy: {
      c10::NoGradGuard no_grad;
      silence_legacy_deprecation_warning();
      const at::Tensor U_k = input("U_k");
      LinearGaussianVQVAE model(U_k.size(0), U_k.size(1), integer(request, "codebook_size"), U_k,
                                LegacyInitMethod::uniform, at::Tensor(), uint64_t{0});
      out = {{"encoder_weight", model->encoder_weight.clone()},
             {"decoder_weight", model->decoder_weight.clone()},
             {"encoded", model->encode(input("x"))},
             {"decoded", model->decode(input("z"))}};
      break;
    }
    case ConformCaseKind::quantizer: {
      const QuantizerPtr quantizer = make_class(text(request, "class"), input("codebook"));
      const bool z_requires_grad = integer(request, "z_requires_grad") != 0;
      const at::Tensor z = leaf(input("z"), z_requires_grad);
      const QuantizerOutput q = quantizer->forward(z);
      out = {{"z_q", q.z_q.detach().clone()}, {"indices", q.indices}, {"z_q_hard", q.z_q_hard.detach().clone()}};
      const at::Tensor along_z_q = (q.z_q * input("g")).sum();
      response.attributes.emplace_back("z_q_requires_grad", int64_t{along_z_q.requires_grad()});
      if (along_z_q.requires_grad()) along_z_q.backward();
      if (z_requires_grad) out.emplace_back("grad_z", grad_or_zeros(z));
      out.emplace_back("codebook_grad_from_z_q", grad_or_zeros(quantizer->codebook));
      quantizer->zero_grad();
      (q.z_q_hard * input("h")).sum().backward();
      out.emplace_back("codebook_grad_from_z_q_hard", grad_or_zeros(quantizer->codebook));
      break;
    }
    case ConformCaseKind::loss: {
      const at::Tensor x_recon = leaf(input("x_recon"), true), z = leaf(input("z"), true);
      const at::Tensor z_q = leaf(input("z_q"), true), z_q_hard = leaf(input("z_q_hard"), true);
      const LossOutput loss = vqvae_loss(input("x"), x_recon, z, z_q, z_q_hard, beta());
      loss.total.backward();
      out = {{"losses", at::tensor({loss.total_value, loss.recon, loss.codebook, loss.commitment}, at::kDouble)},
             {"grad_x_recon", grad_or_zeros(x_recon)},
             {"grad_z", grad_or_zeros(z)},
             {"grad_z_q", grad_or_zeros(z_q)},
             {"grad_z_q_hard", grad_or_zeros(z_q_hard)}};
      break;
    }
    case ConformCaseKind::model: {
      const at::Tensor U_k = input("U_k");
      VQVAE model(PCAEncoder(U_k).ptr(), make_class(text(request, "class"), input("codebook")), PCADecoder(U_k).ptr());
      const at::Tensor x = input("x");
      const VQVAEOutput o = model->forward(x);
      response.attributes.emplace_back("output_keys", std::string("x_recon,z,z_q,z_q_hard,indices"));
      vqvae_loss(x, o.x_recon, o.z, o.z_q, o.z_q_hard, beta()).total.backward();
      out = {{"x_recon", o.x_recon.detach().clone()}, {"z", o.z.detach().clone()}, {"z_q", o.z_q.detach().clone()},
             {"z_q_hard", o.z_q_hard.detach().clone()}, {"indices", o.indices},
             {"codebook_grad", grad_or_zeros(model->quantizer()->codebook)}};
      break;
    }
    case ConformCaseKind::ste: {
      const QuantizerPtr quantizer = make_class(text(request, "class"), input("codebook"));
      PCADecoder decoder(input("U_k"));
      for (const bool requires_grad : {false, true}) {
        quantizer->zero_grad();
        const at::Tensor z = leaf(input("z"), requires_grad);
        const QuantizerOutput q = quantizer->forward(z);
        vqvae_loss(input("x"), decoder->forward(q.z_q), z, q.z_q, q.z_q_hard, beta()).total.backward();
        out.emplace_back(requires_grad ? "codebook_grad_z_trainable" : "codebook_grad_z_frozen",
                         grad_or_zeros(quantizer->codebook));
      }
      break;
    }
  }
  for (auto& entry : out)
    entry.second = precision == GoldenPrecision::float64 ? as_stored(entry.second.detach())
                                                         : entry.second.detach().contiguous();
  return response;
}

}  // namespace vqvae
