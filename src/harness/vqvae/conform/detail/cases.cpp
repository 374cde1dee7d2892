// The request's cases besides the surface and the areas' built-in ones: the golden suite
// (fixtures/conform_goldens.h5: its schema, its cases with the library's answers stored as
// expected_<output>) and the cases at the configuration about to run (config_*); both built from
// one dataset, a codebook and seeded draws by make_inputs and cases_from.
#include <vqvae/conform/conform.h>
#include <vqvae/conform/detail/cases.h>
#include <vqvae/conform/detail/referee.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/search/nearest_codeword.h>
#include <vqvae/study/factory.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>

namespace vqvae {
namespace {

using conform::Attribute;
using conform::make_record;
using conform::text_attribute;

constexpr const char* kVectorQuantizer = "VectorQuantizer";

const char* class_of(QuantizerKind kind) {
  for (size_t i = 0; i < std::size(kQuantizerClasses); ++i)
    if (kQuantizerNames[i].value == kind) return kQuantizerClasses[i];
  return "?";
}

// ---------------------------------------------------------------- building cases
// The inputs of every case kind from one dataset, `B` rows, a codebook (n, k) and seeded noise.
struct CaseInputs {
  std::string prefix;     // "golden" or "config"
  int64_t n_init = 0;     // the dataset case's get_initialization_batch(n_init)
  int64_t batch_size = 0; // the dataset case's get_dataloader(batch_size)
  int64_t loader_seed = -1;  // the dataset case's torch.manual_seed before its loader (-1: none)
  at::Tensor U_k;         // (d, k)
  at::Tensor x;           // (B, d)
  at::Tensor z;           // (B, k) latents of other rows than x's, for decode
  at::Tensor latents;     // (B, k) = x U_k
  at::Tensor codebook;    // (n, k)
  at::Tensor g, h;        // (B, k) upstream gradients
  at::Tensor x_recon;     // (B, d)
  double beta = 0.25;
};

// float64 (the golden suite's reference): each input the float64 value of its formula applied to
// the stored values it depends on, rounded once to float32; the draws (g, h, the noise) are float32.
CaseInputs make_inputs(const std::string& prefix, const GaussianDataset& data, int64_t B, const at::Tensor& codebook,
                       uint64_t seed, double beta, GoldenPrecision precision = GoldenPrecision::float32) {
  c10::NoGradGuard no_grad;
  at::Generator gen = make_generator(seed);
  const auto stored = [&](const at::Tensor& t) { return stored_value(t.contiguous(), precision); };
  const auto draw = [&](at::IntArrayRef sizes) { return in_precision(at::randn(sizes, gen, at::kFloat), precision); };
  CaseInputs in;
  in.prefix = prefix;
  in.U_k = stored(data.U_k);
  in.x = stored(data.X.slice(0, 0, B));
  in.latents = stored(in.x.matmul(in.U_k));
  in.z = stored(stored(data.X.slice(0, B, 2 * B)).matmul(in.U_k));
  in.codebook = stored(in_precision(codebook, precision));
  in.g = draw({B, in.U_k.size(1)});
  in.h = draw({B, in.U_k.size(1)});
  in.x_recon = stored(in.x + 0.1 * draw(in.x.sizes()));
  in.beta = beta;
  for (at::Tensor* t : {&in.U_k, &in.x, &in.latents, &in.z, &in.codebook, &in.g, &in.h, &in.x_recon}) *t = as_stored(*t);
  return in;
}

std::vector<GoldenRecord> cases_from(const CaseInputs& in, const GaussianDatasetOptions& dataset,
                                     const std::vector<const char*>& classes) {
  const std::string& p = in.prefix;
  std::vector<GoldenRecord> cases;
  cases.push_back(make_record(p + "_dataset",
                         {Attribute{"kind", std::string("dataset")}, Attribute{"d", dataset.d()}, Attribute{"k", dataset.k()},
                          Attribute{"n", dataset.n_samples()}, Attribute{"sigma_noise", dataset.sigma_noise()},
                          Attribute{"seed", static_cast<int64_t>(dataset.seed())}, Attribute{"call", std::string("explicit")},
                          Attribute{"n_init", in.n_init}, Attribute{"batch_size", in.batch_size}},
                         {}));
  // The loader across epochs (state across calls): not in the golden file's cases, whose schema
  // predates it.
  if (in.loader_seed >= 0) cases.back().attributes.emplace_back("loader_seed", in.loader_seed);
  cases.push_back(make_record(p + "_pca", {Attribute{"kind", std::string("pca")}},
                         {{"U_k", in.U_k}, {"x", in.x}, {"z", in.z}}));
  cases.push_back(make_record(p + "_legacy", {Attribute{"kind", std::string("legacy")}, Attribute{"codebook_size", in.codebook.size(0)}},
                         {{"U_k", in.U_k}, {"x", in.x}, {"z", in.z}}));
  for (const char* cls : classes)
    for (const int64_t z_requires_grad : {int64_t{1}, int64_t{0}})
      cases.push_back(make_record(p + "_quantizer_" + cls + (z_requires_grad ? "_z_requires_grad" : "_z_frozen"),
                             {Attribute{"kind", std::string("quantizer")}, Attribute{"class", std::string(cls)},
                              Attribute{"z_requires_grad", z_requires_grad}},
                             {{"codebook", in.codebook}, {"z", in.latents}, {"g", in.g}, {"h", in.h}}));
  {
    c10::NoGradGuard no_grad;
    const at::Tensor z_q_hard = in.codebook.index_select(0, nearest_codeword(in.latents, in.codebook)).contiguous();
    cases.push_back(make_record(p + "_loss",
                                {Attribute{"kind", std::string("loss")}, Attribute{"beta", in.beta},
                                 Attribute{"call", std::string("explicit")}},
                           {{"x", in.x}, {"x_recon", in.x_recon}, {"z", in.latents}, {"z_q", z_q_hard.clone()},
                            {"z_q_hard", z_q_hard}}));
  }
  // The model and STE cases run the classes whose fixes they guard (#1, #2: VectorQuantizer;
  // #5: RotationVectorQuantizer) among those asked for.
  for (const char* cls : classes) {
    const std::string name = cls;
    cases.push_back(make_record(p + "_model_" + name,
                           {Attribute{"kind", std::string("model")}, Attribute{"class", name}, Attribute{"beta", in.beta}},
                           {{"U_k", in.U_k}, {"codebook", in.codebook}, {"x", in.x}}));
    cases.push_back(make_record(p + "_ste_" + name, {Attribute{"kind", std::string("ste")}, Attribute{"class", name}, Attribute{"beta", in.beta}},
                           {{"U_k", in.U_k}, {"codebook", in.codebook}, {"z", in.latents}, {"x", in.x}}));
  }
  return cases;
}

}  // namespace

namespace conform {
namespace {

// The outputs the golden suite stores for each kind it holds.
const std::vector<std::pair<ConformCaseKind, std::vector<const char*>>>& stored_outputs() {
  static const std::vector<std::pair<ConformCaseKind, std::vector<const char*>>> outputs{
      {ConformCaseKind::dataset, {"X", "U_k"}},
      {ConformCaseKind::pca, {"encoded", "decoded"}},
      {ConformCaseKind::legacy, {"encoded", "decoded"}},
      {ConformCaseKind::quantizer, {"indices", "z_q_hard", "codebook_grad_from_z_q_hard"}},
      {ConformCaseKind::loss, {"losses", "grad_z_q_hard"}},
      {ConformCaseKind::model, {"codebook_grad"}},
      {ConformCaseKind::ste, {"codebook_grad_z_frozen"}}};
  return outputs;
}

}  // namespace

std::map<std::string, at::Tensor> library_expectations(const GoldenRecord& request, GoldenPrecision precision) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [kind, names] : stored_outputs())
    if (kind == case_kind(request)) {
      const GoldenRecord response = execute_with_library(request, precision);
      for (const char* name : names) out[name] = response.dataset(name);
    }
  return out;
}

}  // namespace conform

// ---------------------------------------------------------------- the golden suite
const GoldenSchema& conform_golden_schema() {
  using T = GoldenValueType;
  const auto when = [](std::vector<const char*> kinds) { return GoldenCondition{"kind", std::move(kinds)}; };
  static const GoldenSchema schema{
      {{"kind", T::text, {"dataset", "pca", "legacy", "quantizer", "loss", "model", "ste"}},
       {"d", T::integer, {}, when({"dataset"})},
       {"k", T::integer, {}, when({"dataset"})},
       {"n", T::integer, {}, when({"dataset"})},
       {"sigma_noise", T::real, {}, when({"dataset"})},
       {"seed", T::integer, {}, when({"dataset"})},
       {"call", T::text, {"explicit", "defaults"}, when({"dataset", "loss"})},
       {"n_init", T::integer, {}, when({"dataset"})},
       {"batch_size", T::integer, {}, when({"dataset"})},
       {"codebook_size", T::integer, {}, when({"legacy"})},
       {"class", T::text, {"VectorQuantizer", "RotationVectorQuantizer", "ProjectionVectorQuantizer"},
        when({"quantizer", "model", "ste"})},
       {"z_requires_grad", T::integer, {}, when({"quantizer"})},
       {"beta", T::real, {}, when({"loss", "model", "ste"})}},
      {{"U_k", {"d", "k"}, when({"pca", "legacy", "model", "ste"})},
       {"x", {"B", "d"}, when({"pca", "legacy", "loss", "model", "ste"})},
       {"z", {"B", "k"}, when({"pca", "legacy", "quantizer", "loss", "ste"})},
       {"codebook", {"c", "k"}, when({"quantizer", "model", "ste"})},
       {"g", {"B", "k"}, when({"quantizer"})},
       {"h", {"B", "k"}, when({"quantizer"})},
       {"x_recon", {"B", "d"}, when({"loss"})},
       {"z_q", {"B", "k"}, when({"loss"})},
       {"z_q_hard", {"B", "k"}, when({"loss"})},
       {"expected_X", {"n", "d"}, when({"dataset"})},
       {"expected_U_k", {"d", "k"}, when({"dataset"})},
       {"expected_encoded", {"B", "k"}, when({"pca", "legacy"})},
       {"expected_decoded", {"B", "d"}, when({"pca", "legacy"})},
       {"expected_indices", {"B"}, when({"quantizer"}), true},
       {"expected_z_q_hard", {"B", "k"}, when({"quantizer"})},
       {"expected_codebook_grad_from_z_q_hard", {"c", "k"}, when({"quantizer"})},
       {"expected_losses", {"L"}, when({"loss"})},
       {"expected_grad_z_q_hard", {"B", "k"}, when({"loss"})},
       {"expected_codebook_grad", {"c", "k"}, when({"model"})},
       {"expected_codebook_grad_z_frozen", {"c", "k"}, when({"ste"})}}};
  return schema;
}

namespace {

// Adds to each case the library's outputs that the suite stores, as expected_<output>.
std::vector<GoldenRecord> with_expectations(std::vector<GoldenRecord> cases, GoldenPrecision precision) {
  for (GoldenRecord& c : cases)
    for (const auto& [name, tensor] : conform::library_expectations(c, precision))
      c.datasets.emplace_back("expected_" + name, tensor);
  return cases;
}

}  // namespace

std::vector<GoldenRecord> conform_golden_records(GoldenPrecision precision) {
  // Seed 2: its top eigenvalues (12.8, 3.96, 1.97, 0.72; noise 0.014) are well apart, so the
  // float32 U_k of any BLAS kernel lies within ~1e-6 of the exact one. (Seed 7's 2.22 and 2.15 made
  // float32 eigenvectors differ by 6e-6 between kernels and the latents by 3.7e-5, beyond the
  // 1e-5 tolerance of `goldens check` and of the referee's dataset check.)
  const GaussianDatasetOptions options = GaussianDatasetOptions().d(16).k(4).n_samples(200).sigma_noise(0.1).seed(2);
  const GaussianDataset data = golden_dataset(options, precision);
  // A codebook of 8 latents of the dataset, moved off them: every row has one nearest codeword.
  at::Generator gen = make_generator(11);
  const at::Tensor latents = stored_value(data.X, precision).matmul(stored_value(data.U_k, precision));
  // Two draws, sequenced: the 8 rows first, then the noise (the operands of one `+` would be drawn
  // in whichever order the compiler picks).
  const at::Tensor rows = at::randperm(200, gen, at::kLong).slice(0, 0, 8);
  const at::Tensor noise = in_precision(at::randn({8, 4}, gen, at::kFloat), precision);
  const at::Tensor codebook = latents.index_select(0, rows) + 0.3 * noise;
  CaseInputs in = make_inputs("golden", data, 8, codebook, 13, 0.25, precision);
  in.n_init = 50;      // < n = 200; the default 1000 is > n
  in.batch_size = 64;  // 200 = 3·64 + 8: a short last batch
  const std::vector<const char*> classes(std::begin(kQuantizerClasses), std::end(kQuantizerClasses));
  std::vector<GoldenRecord> cases = cases_from(in, options, classes);
  // The model and STE cases guard fixes #1, #2 (VectorQuantizer) and #5 (RotationVectorQuantizer).
  cases.erase(std::remove_if(cases.begin(), cases.end(),
                             [](const GoldenRecord& c) {
                               const ConformCaseKind kind = case_kind(c);
                               const std::string cls = text_attribute(c, "class");
                               return (kind == ConformCaseKind::model && cls == "ProjectionVectorQuantizer") ||
                                      (kind == ConformCaseKind::ste && cls != kVectorQuantizer);
                             }),
              cases.end());
  return with_expectations(std::move(cases), precision);
}

std::vector<GoldenRecord> conform_config_cases(const RunConfig& config, std::vector<std::string>* description) {
  const GaussianDataset data = make_dataset(config);
  const at::Tensor codebook = make_codebook(config, data);
  const int64_t B = std::min<int64_t>(std::min<int64_t>(config.batch_size, 64), config.n / 2);
  CaseInputs in = make_inputs("config", data, std::max<int64_t>(B, 1), codebook, config.seed + 17, config.beta);
  in.n_init = config.init_samples;
  in.batch_size = std::min(config.batch_size, config.n);
  in.loader_seed = static_cast<int64_t>(config.seed) + 19;
  const char* cls = class_of(config.quantizer);
  std::vector<GoldenRecord> cases = cases_from(in, data.options(), {cls});
  const auto say = [&](const std::string& line) {
    if (description) description->push_back(line);
  };
  say("config_dataset, config_pca, config_legacy, config_loss; config_quantizer_*, config_model_*, config_ste_*: " +
      std::string(cls) + ", " + std::to_string(config.codebook_size) + " codewords");

  // Every initialisation of the baseline's API at the configuration's codebook size, on its
  // initialisation batch; k-means with the baseline's defaults when the run uses it, one restart
  // otherwise (a check of the definition, at a tenth of the time).
  const int64_t n = config.codebook_size, k = config.k;
  const at::Tensor init_data = data.get_initialization_batch(init_rows(config)).contiguous();
  const auto init_case = [&](const std::string& function, std::vector<Attribute> extra, bool with_data) {
    std::vector<Attribute> attributes{{"kind", std::string("init")}, {"function", function}, {"codebook_size", n},
                                      {"dim", k}, {"seed", static_cast<int64_t>(config.seed) + 29}, {"call", std::string("explicit")}};
    for (Attribute& a : extra) attributes.push_back(std::move(a));
    std::vector<std::pair<std::string, at::Tensor>> datasets;
    if (with_data) datasets.emplace_back("data", init_data);
    cases.push_back(conform::make_record("config_init_" + function, std::move(attributes), std::move(datasets)));
  };
  init_case("uniform_init", {}, false);
  init_case("random_normal_init", {{"std", 1.0}}, false);
  init_case("rd_gaussian_init", {{"rate", std::log2(static_cast<double>(n)) / static_cast<double>(k)}}, true);
  const bool kmeans_run = config.init == InitKind::kmeans;
  const int64_t restarts = kmeans_run ? 10 : 1;
  std::string inits = "config_init_*: uniform_init, random_normal_init, rd_gaussian_init";
  if (init_data.size(0) >= n) {
    init_case("kmeans_init",
              {{"n_init", restarts}, {"max_iter", int64_t{100}}, {"random_state", static_cast<int64_t>(config.seed)}}, true);
    inits += ", kmeans_init (n_init " + std::to_string(restarts) + (kmeans_run ? ", the baseline's default" : "") + ")";
  } else {
    inits += " (no kmeans_init: " + std::to_string(init_data.size(0)) + " initialisation rows < " + std::to_string(n) + " codewords)";
  }
  say(inits + " at " + std::to_string(n) + " codewords on " + std::to_string(init_data.size(0)) + " initialisation rows");

  // The run's model: its quantizer, modules, optimizer, learning rate and β, the codebook its init
  // draws; three steps, and an evaluation over the whole set at its batch size.
  std::vector<Attribute> model_attributes{{"class", std::string(cls)}, {"encoder", to_string(config.encoder)},
                                          {"decoder", to_string(config.decoder)}, {"optimizer", std::string(to_string(config.optimizer))},
                                          {"lr", config.lr}, {"beta", config.beta}};
  std::vector<std::pair<std::string, at::Tensor>> model_datasets{{"U_k", data.U_k.contiguous()}, {"codebook", codebook.contiguous()}};
  // The run's own learned weights (the codebook above: make_codebook once, as k-means is not cheap).
  if (config.encoder.kind == ModuleKind::learned)
    model_datasets.emplace_back("encoder_weight", make_encoder(config, data)->parameters()[0].detach().clone());
  if (config.decoder.kind == ModuleKind::learned)
    model_datasets.emplace_back("decoder_weight", make_decoder(config, data)->parameters()[0].detach().clone());
  const int64_t steps = 3, step_rows = std::max<int64_t>(1, std::min(config.batch_size, config.n / steps));
  {
    std::vector<Attribute> attributes{{"kind", std::string("train")}, {"setting", std::string("configuration")},
                                      {"call", std::string("explicit")}, {"batch_form", std::string("tensor")}};
    attributes.insert(attributes.end(), model_attributes.begin(), model_attributes.end());
    auto datasets = model_datasets;
    // Rows after the initialisation batch where there are enough: a k-means codeword sits on a
    // point it alone was the mean of, and a gradient that is rounding noise there makes Adam's first
    // step (g / (|g| + 1e-8)) depend on the last bits of z.
    const int64_t first = config.n - init_rows(config) >= steps * step_rows ? init_rows(config) : 0;
    const at::Tensor rows = at::arange(first, first + steps * step_rows, at::kLong);
    datasets.emplace_back("batches", data.X.index_select(0, rows).reshape({steps, step_rows, config.d}).contiguous());
    datasets.emplace_back("batch_targets", data.Y.index_select(0, rows).reshape({steps, step_rows, config.k}).contiguous());
    cases.push_back(conform::make_record("config_train", std::move(attributes), std::move(datasets)));
  }
  {
    std::vector<Attribute> attributes{{"kind", std::string("evaluate")}, {"batch_size", std::min(config.batch_size, config.n)},
                                      {"codebook_size", n}, {"seed", static_cast<int64_t>(config.seed) + 23}};
    attributes.insert(attributes.end(), model_attributes.begin(), model_attributes.end());
    auto datasets = model_datasets;
    const int64_t rows = std::min(step_rows, config.n / 2);
    datasets.emplace_back("train_batch", data.X.slice(0, 0, rows).contiguous());
    datasets.emplace_back("train_batch_after", data.X.slice(0, rows, 2 * rows).contiguous());
    datasets.emplace_back("X", data.X.contiguous());
    datasets.emplace_back("Y", data.Y.contiguous());
    cases.push_back(conform::make_record("config_evaluate", std::move(attributes), std::move(datasets)));
  }
  say("config_train: " + std::string(cls) + ", encoder " + to_string(config.encoder) + ", decoder " + to_string(config.decoder) + ", " +
      to_string(config.optimizer) + " lr " + format_significant(config.lr, 3) + ", β " + format_significant(config.beta, 3) + ", " +
      std::to_string(n) + " codewords from --init " + choice_text(config.init) + ", " + std::to_string(steps) + " steps of " +
      std::to_string(step_rows) + " rows; config_evaluate: the same model over " + std::to_string(config.n) + " rows in batches of " +
      std::to_string(std::min(config.batch_size, config.n)));
  return cases;
}

}  // namespace vqvae
