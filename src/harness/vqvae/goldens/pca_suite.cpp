// The PCA suite's schema, and reading and comparing its file: no model code here (the HDF5 fuzzer
// builds this file with the readers alone); pca_cases.cpp computes the cases.
#include <vqvae/goldens/pca_suite.h>

#include <vqvae/io/hdf5_file.h>

#include <ATen/ATen.h>

#include <filesystem>

namespace vqvae {

std::string golden_file_path(const std::string& fixtures_dir) {
  return (std::filesystem::path(fixtures_dir) / kGoldenFileName).string();
}

const GoldenSchema& pca_golden_schema() {
  using T = GoldenValueType;
  const GoldenCondition learned{"encoder", {"learned"}};
  static const GoldenSchema schema{
      // attributes: name, type, allowed values, present only if
      {{"d", T::integer},
       {"k", T::integer},
       {"n", T::integer},
       {"sigma_noise", T::real},
       {"seed", T::integer},
       {"encoder", T::text, {"pca", "learned"}},
       {"encoder_seed", T::integer, {}, learned},
       {"decoder_seed", T::integer, {}, learned}},
      // datasets: name, shape, present only if
      {{"x", {"B", "d"}},
       {"U_k", {"d", "k"}},
       {"z", {"B", "k"}},
       {"x_recon", {"B", "d"}},
       {"encoder_weight", {"k", "d"}, learned},
       {"decoder_weight", {"d", "k"}, learned}}};
  return schema;
}

const char* to_string(GoldenEncoder encoder) { return encoder == GoldenEncoder::pca ? "pca" : "learned"; }

std::vector<std::pair<std::string, at::Tensor>> GoldenCase::datasets() const {
  std::vector<std::pair<std::string, at::Tensor>> out{{"x", x}, {"U_k", U_k}, {"z", z}, {"x_recon", x_recon}};
  if (encoder_weight.defined()) out.emplace_back("encoder_weight", encoder_weight);
  if (decoder_weight.defined()) out.emplace_back("decoder_weight", decoder_weight);
  return out;
}

GoldenRecord GoldenCase::record() const {
  GoldenRecord r;
  r.name = spec.name;
  r.attributes = {{"d", spec.d},
                  {"k", spec.k},
                  {"n", spec.n},
                  {"sigma_noise", spec.sigma_noise},
                  {"seed", static_cast<int64_t>(spec.seed)},
                  {"encoder", std::string(to_string(spec.encoder))}};
  if (spec.encoder == GoldenEncoder::learned) {
    r.attributes.emplace_back("encoder_seed", static_cast<int64_t>(spec.seed + 1));
    r.attributes.emplace_back("decoder_seed", static_cast<int64_t>(spec.seed + 2));
  }
  r.datasets = datasets();
  return r;
}

void write_golden_cases(const std::string& path, const std::vector<GoldenCase>& cases,
                        const std::string& command) {
  std::vector<GoldenRecord> records;
  for (const GoldenCase& c : cases) records.push_back(c.record());
  write_golden_records(path, pca_golden_schema(), records, command);
}

std::vector<std::string> list_golden_cases(const std::string& path) { return list_golden_records(path); }

GoldenCase read_golden_case(const std::string& path, const std::string& name) {
  const GoldenRecord r = read_golden_record(path, pca_golden_schema(), name);
  GoldenCase out;
  GoldenCaseSpec& spec = out.spec;
  spec.name = name;
  spec.d = std::get<int64_t>(r.attribute("d"));
  spec.k = std::get<int64_t>(r.attribute("k"));
  spec.n = std::get<int64_t>(r.attribute("n"));
  spec.sigma_noise = std::get<double>(r.attribute("sigma_noise"));
  spec.seed = static_cast<uint64_t>(std::get<int64_t>(r.attribute("seed")));
  spec.encoder = std::get<std::string>(r.attribute("encoder")) == "pca" ? GoldenEncoder::pca : GoldenEncoder::learned;
  out.x = r.dataset("x");
  spec.B = out.x.size(0);
  out.U_k = r.dataset("U_k");
  out.z = r.dataset("z");
  out.x_recon = r.dataset("x_recon");
  if (spec.encoder == GoldenEncoder::learned) {
    out.encoder_weight = r.dataset("encoder_weight");
    out.decoder_weight = r.dataset("decoder_weight");
  }
  return out;
}

GoldenReport compare_goldens(const std::string& path, const std::vector<GoldenCase>& expected,
                             const GoldenTolerance& tolerance) {
  std::vector<GoldenRecord> records;
  for (const GoldenCase& c : expected) records.push_back(c.record());
  return compare_golden_records(path, records, tolerance);
}

}  // namespace vqvae
