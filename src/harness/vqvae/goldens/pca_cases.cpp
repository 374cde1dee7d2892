// The PCA suite's cases, computed from the library (pca_suite.h).
#include <vqvae/goldens/pca_suite.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>

#include <ATen/ATen.h>

namespace vqvae {

std::vector<GoldenCaseSpec> golden_case_specs() {
  using E = GoldenEncoder;
  //       name              d   k  n      sigma seed  B  encoder
  return {{"default_d64_k8", 64, 8, 10000, 0.1, 42, 16, E::pca},
          {"k1_d16", 16, 1, 500, 0.3, 7, 8, E::pca},
          {"k_eq_d_d8", 8, 8, 500, 0.1, 7, 8, E::pca},
          {"batch1_d16_k4", 16, 4, 500, 0.1, 7, 1, E::pca},
          {"d1_k1", 1, 1, 500, 0.1, 7, 8, E::pca},
          {"learned_d16_k4", 16, 4, 500, 0.1, 7, 8, E::learned}};
}

GoldenCase compute_golden_case(const GoldenCaseSpec& spec, GoldenPrecision precision) {
  const char* where = "compute_golden_case";
  if (spec.name.empty() || spec.name.find('/') != std::string::npos)
    throw_invalid_argument(where, "name must be non-empty without '/', got '" + spec.name + "'");
  check_at_least(spec.B, 1, where, "B");
  if (spec.B > spec.n)
    throw_invalid_argument(where, "B must be <= n = " + std::to_string(spec.n) + ", got " + std::to_string(spec.B));
  const GaussianDataset data = golden_dataset(
      GaussianDatasetOptions().d(spec.d).k(spec.k).n_samples(spec.n).sigma_noise(spec.sigma_noise).seed(spec.seed),
      precision);
  // Each value from the stored values before it: z from the stored x and U_k, x_recon from the
  // stored z (float64: rounded to float32 and back; float32: the library's own values).
  const auto stored = [&](const at::Tensor& t) { return stored_value(t.detach(), precision); };
  GoldenCase out;
  out.spec = spec;
  const at::Tensor x = stored(data.X.slice(0, 0, spec.B).clone());
  const at::Tensor U_k = stored(data.U_k);
  at::Tensor z, x_recon;
  if (spec.encoder == GoldenEncoder::pca) {
    z = stored(PCAEncoder(U_k)->forward(x));
    x_recon = PCADecoder(U_k)->forward(z).detach();
  } else {
    // The weights are float32 draws (Xavier-uniform); float64 converts them exactly.
    LearnedLinearEncoder encoder(LearnedLinearEncoderOptions(spec.d, spec.k).seed(spec.seed + 1));
    LearnedLinearDecoder decoder(LearnedLinearDecoderOptions(spec.k, spec.d).seed(spec.seed + 2));
    encoder->to(x.scalar_type());
    decoder->to(x.scalar_type());
    z = stored(encoder->forward(x));
    x_recon = decoder->forward(z).detach();
    out.encoder_weight = as_stored(encoder->weight.detach().clone());
    out.decoder_weight = as_stored(decoder->weight.detach().clone());
  }
  out.x = as_stored(x);
  out.U_k = as_stored(U_k);
  out.z = as_stored(z);
  out.x_recon = as_stored(x_recon);
  return out;
}

void write_goldens(const std::string& path, const std::vector<GoldenCaseSpec>& specs, const std::string& command) {
  std::vector<GoldenCase> cases;
  for (const auto& spec : specs) cases.push_back(compute_golden_case(spec, GoldenPrecision::float64));
  write_golden_cases(path, cases, command);
}

std::vector<GoldenRecord> pca_golden_records(const std::vector<GoldenCaseSpec>& specs, GoldenPrecision precision) {
  std::vector<GoldenRecord> records;
  for (const auto& spec : specs) records.push_back(compute_golden_case(spec, precision).record());
  return records;
}

GoldenReport compare_goldens(const std::string& path) { return compare_golden_records(path, pca_golden_records()); }

RegenResult regen_goldens(const std::string& path, const RegenOptions& options, std::ostream& log,
                          const std::vector<GoldenCaseSpec>& specs) {
  return regen_golden_records(path, pca_golden_schema(), pca_golden_records(specs, GoldenPrecision::float64), options,
                              log);
}

}  // namespace vqvae
