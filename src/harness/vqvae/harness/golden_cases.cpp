// The PCA suite's cases, computed from the library (goldens.h).
#include <vqvae/harness/goldens.h>

#include <vqvae/core/checks.h>
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

GoldenCase compute_golden_case(const GoldenCaseSpec& spec) {
  const char* where = "compute_golden_case";
  if (spec.name.empty() || spec.name.find('/') != std::string::npos)
    throw_invalid_argument(where, "name must be non-empty without '/', got '" + spec.name + "'");
  check_at_least(spec.B, 1, where, "B");
  if (spec.B > spec.n)
    throw_invalid_argument(where, "B must be <= n = " + std::to_string(spec.n) + ", got " + std::to_string(spec.B));
  GaussianDataset data(
      GaussianDatasetOptions().d(spec.d).k(spec.k).n_samples(spec.n).sigma_noise(spec.sigma_noise).seed(spec.seed));
  GoldenCase out;
  out.spec = spec;
  out.x = data.X.slice(0, 0, spec.B).clone();
  out.U_k = data.U_k.clone();
  if (spec.encoder == GoldenEncoder::pca) {
    PCAEncoder encoder(data.U_k);
    PCADecoder decoder(data.U_k);
    out.z = encoder->forward(out.x).detach();
    out.x_recon = decoder->forward(out.z).detach();
  } else {
    LearnedLinearEncoder encoder(LearnedLinearEncoderOptions(spec.d, spec.k).seed(spec.seed + 1));
    LearnedLinearDecoder decoder(LearnedLinearDecoderOptions(spec.k, spec.d).seed(spec.seed + 2));
    out.z = encoder->forward(out.x).detach();
    out.x_recon = decoder->forward(out.z).detach();
    out.encoder_weight = encoder->weight.detach().clone();
    out.decoder_weight = decoder->weight.detach().clone();
  }
  return out;
}

void write_goldens(const std::string& path, const std::vector<GoldenCaseSpec>& specs, const std::string& command) {
  std::vector<GoldenCase> cases;
  for (const auto& spec : specs) cases.push_back(compute_golden_case(spec));
  write_golden_cases(path, cases, command);
}

std::vector<GoldenRecord> pca_golden_records(const std::vector<GoldenCaseSpec>& specs) {
  std::vector<GoldenRecord> records;
  for (const auto& spec : specs) records.push_back(compute_golden_case(spec).record());
  return records;
}

GoldenReport compare_goldens(const std::string& path) { return compare_golden_records(path, pca_golden_records()); }

RegenResult regen_goldens(const std::string& path, const RegenOptions& options, std::ostream& log,
                          const std::vector<GoldenCaseSpec>& specs) {
  return regen_golden_records(path, pca_golden_schema(), pca_golden_records(specs), options, log);
}

}  // namespace vqvae
