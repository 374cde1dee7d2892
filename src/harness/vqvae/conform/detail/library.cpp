// execute_with_library: every case kind of docs/conform_protocol.md run on this library, as the
// driver `vqvae_library_driver` answers and as the referee computes "ours" (the golden suite's
// stored expectations, the configuration's cases, init under the same seed, the trainer's
// trajectory from the same state). Here the kinds that hold no state across calls, and the
// dispatch; the kinds that train (train, evaluate, checkpoint) and the logging path (tracker) are
// in library_training.cpp (detail/library.h).
#include <vqvae/conform/protocol.h>
#include <vqvae/conform/detail/library.h>
#include <vqvae/conform/detail/referee.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/errors.h>
#include <vqvae/core/format.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/evaluation/metrics.h>
#include <vqvae/initialization/codebook_init.h>
#include <vqvae/initialization/rd_init.h>
#include <vqvae/models/legacy.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/quantizer_kind.h>
#include <vqvae/training/losses.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <optional>

// The legacy model is run on purpose: it is one of the implementations under test.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace vqvae::conform::library {
namespace {

QuantizerKind quantizer_class(const std::string& name) {
  for (size_t i = 0; i < std::size(kQuantizerClasses); ++i)
    if (name == kQuantizerClasses[i]) return kQuantizerNames[i].value;
  throw_invalid_argument("conform", "class must be VectorQuantizer, RotationVectorQuantizer or "
                                    "ProjectionVectorQuantizer, got '" + name + "'");
}

at::Tensor grad_or_zeros(const at::Tensor& t) { return t.grad().defined() ? t.grad().clone() : at::zeros_like(t); }

at::Tensor leaf(const at::Tensor& t, bool requires_grad) { return t.detach().clone().requires_grad_(requires_grad); }

// One epoch of a shuffling loader over N rows in batches of batch_size: the order and the sizes.
std::pair<at::Tensor, at::Tensor> loader_epoch(int64_t N, int64_t batch_size, uint64_t seed) {
  const at::Tensor order = at::randperm(N, make_generator(seed), at::kLong);
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < N; start += batch_size) sizes.push_back(std::min(batch_size, N - start));
  return {order, at::tensor(sizes, at::kLong)};
}

void run_dataset(const GoldenRecord& request, GoldenPrecision precision, std::vector<std::pair<std::string, at::Tensor>>& out) {
  GaussianDatasetOptions options;  // the baseline's defaults
  if (!defaults_call(request))
    options.d(integer(request, "d"))
        .k(integer(request, "k"))
        .n_samples(integer(request, "n"))
        .sigma_noise(real(request, "sigma_noise"))
        .seed(static_cast<uint64_t>(integer(request, "seed")));
  const GaussianDataset data = golden_dataset(options, precision);
  const double noise_variance = options.sigma_noise() * options.sigma_noise();
  out = {{"X", data.X}, {"Y", data.Y}, {"U_k", data.U_k}, {"Sigma_X", data.Sigma_X},
         {"eigenvalues_k", data.eigenvalues_k}, {"Sigma_z", data.Sigma_z}, {"sigma_z_squared", scalar(data.sigma_z_squared)},
         {"signal_variance", scalar(data.signal_variance)}, {"noise_variance", scalar(noise_variance)},
         {"snr", scalar(data.snr)}};
  if (!has_attribute(request, "n_init")) return;  // a protocol-1 golden case: X and U_k only
  out.emplace_back("init_batch", data.get_initialization_batch(integer(request, "n_init")));
  out.emplace_back("init_batch_default", data.get_initialization_batch(1000));
  // The loader's epochs: its order drawn from the seed the request gives (torch.manual_seed before
  // the loader), a new order the next epoch, the first again after the same seed.
  const bool seeded = has_attribute(request, "loader_seed");
  const uint64_t loader_seed = seeded ? static_cast<uint64_t>(integer(request, "loader_seed")) : options.seed();
  const auto [order, sizes] = loader_epoch(data.size(), integer(request, "batch_size"), loader_seed);
  out.emplace_back("loader_x", data.X.index_select(0, order));
  out.emplace_back("loader_y", data.Y.index_select(0, order));
  out.emplace_back("loader_batch_sizes", sizes);
  if (seeded) {
    out.emplace_back("loader_x_epoch2", data.X.index_select(0, loader_epoch(data.size(), 1, loader_seed + 7).first));
    out.emplace_back("loader_x_reseeded", data.X.index_select(0, order));
  }
  const auto [default_order, default_sizes] = loader_epoch(data.size(), 64, options.seed() + 1);
  out.emplace_back("default_loader_batch_sizes", default_sizes);
  out.emplace_back("default_loader_x", data.X.index_select(0, default_order));
}

// The init case's function under the seed, with the request's arguments or (defaults) without
// those that have defaults: {"codebook"} or {"variance"}.
void run_init(const GoldenRecord& request, bool defaults, std::vector<std::pair<std::string, at::Tensor>>& out) {
  const std::string& function = request_text(request, "function");
  const int64_t n = integer(request, "codebook_size"), k = integer(request, "dim");
  const auto seed = static_cast<uint64_t>(integer(request, "seed"));
  const auto data = [&] { return request.dataset("data"); };
  at::Tensor codebook;
  if (function == "uniform_init") {
    codebook = uniform_init(n, k, seed);
  } else if (function == "random_normal_init") {
    codebook = random_normal_init(n, k, defaults ? 1.0 : real(request, "std"), seed);
  } else if (function == "compute_rd_variance") {
    out = {{"variance", scalar(compute_rd_variance(data(), real(request, "rate")))}};
    return;
  } else if (function == "rd_gaussian_init") {
    codebook = rd_gaussian_init(n, k, data(), defaults ? std::nullopt : std::optional<double>(real(request, "rate")), seed);
  } else if (function == "kmeans_init") {
    KMeansOptions options = KMeansOptions().seed(defaults ? 42 : static_cast<uint64_t>(integer(request, "random_state")));
    if (!defaults) options.n_init(integer(request, "n_init")).max_iter(integer(request, "max_iter"));
    codebook = kmeans_init(n, k, data(), options).to(at::kFloat);
  } else if (function == "quantizer_default") {
    codebook = make_quantizer(QuantizerKind::vq, QuantizerOptions(k, n).seed(seed))->codebook.detach().clone();
  } else if (function == "legacy_init") {
    silence_legacy_deprecation_warning();
    const at::Tensor U_k = request.dataset("U_k");
    const LegacyInitMethod method =
        defaults ? LegacyInitMethod::uniform
                 : parse_choice(kLegacyInitNames, request_text(request, "init_method"), "conform: init_method");
    LinearGaussianVQVAE model(U_k.size(0), k, n, U_k, method, data(), seed);
    codebook = model->quantizer->codebook.detach().clone();
  } else {
    throw_invalid_argument("conform", "init function '" + function + "' is not one of the protocol's");
  }
  out = {{"codebook", codebook}};
}

// (5, 2) int64 per module: `trainable` and whether every parameter requires grad (-1: none), as
// constructed, after freeze(), after unfreeze(), constructed with trainable = false and = true.
template <typename Make>
at::Tensor module_flags(const Make& make) {
  std::vector<int64_t> flags;
  for (int state = 0; state < 5; ++state) {
    auto module = make(state == 3 ? std::optional<bool>(false) : state == 4 ? std::optional<bool>(true) : std::nullopt);
    if (state == 1) module->freeze();
    if (state == 2) {
      module->freeze();
      module->unfreeze();
    }
    const auto parameters = module->parameters();
    bool all = true;
    for (const auto& p : parameters) all = all && p.requires_grad();
    flags.push_back(module->trainable() ? 1 : 0);
    flags.push_back(parameters.empty() ? -1 : (all ? 1 : 0));
  }
  return at::tensor(flags, at::kLong).view({5, 2});
}

void run_modules(const GoldenRecord& request, std::vector<std::pair<std::string, at::Tensor>>& out) {
  const int64_t d = integer(request, "d"), k = integer(request, "k"), n = integer(request, "codebook_size");
  const at::Tensor U_k = request.dataset("U_k");
  // trainable: the constructor's argument, or its default.
  using Trainable = std::optional<bool>;
  out = {{"LearnedLinearEncoder", module_flags([&](Trainable t) {
            return LearnedLinearEncoder(LearnedLinearEncoderOptions(d, k).seed(0).trainable(t.value_or(true)));
          })},
         {"LearnedLinearDecoder", module_flags([&](Trainable t) {
            return LearnedLinearDecoder(LearnedLinearDecoderOptions(k, d).seed(0).trainable(t.value_or(true)));
          })},
         {"PCAEncoder", module_flags([&](Trainable t) { return PCAEncoder(U_k, t.value_or(false)); })},
         {"PCADecoder", module_flags([&](Trainable t) { return PCADecoder(U_k, t.value_or(false)); })},
         {"VectorQuantizer", module_flags([&](Trainable t) {
            return make_quantizer(QuantizerKind::vq, QuantizerOptions(k, n).seed(0).trainable(t.value_or(true)));
          })}};
}

}  // namespace

int64_t integer(const GoldenRecord& r, const std::string& name) { return std::get<int64_t>(r.attribute(name)); }
double real(const GoldenRecord& r, const std::string& name) { return std::get<double>(r.attribute(name)); }

// `call = "defaults"`: the function is called without the arguments that have defaults.
bool defaults_call(const GoldenRecord& r) { return has_attribute(r, "call") && request_text(r, "call") == "defaults"; }

QuantizerPtr make_class(const std::string& name, const at::Tensor& codebook) {
  return make_quantizer(quantizer_class(name),
                        QuantizerOptions(codebook.size(1), codebook.size(0)).init_codebook(codebook));
}

at::Tensor scalar(double value) { return at::full({1}, value, at::kDouble); }

void add_metrics(const at::Tensor& indices, int64_t n, const at::Tensor& z, const at::Tensor& z_q,
                 const at::Tensor& codebook, std::vector<std::pair<std::string, at::Tensor>>& out,
                 const std::string& prefix) {
  const CodebookUsage usage = codebook_usage(indices, n);
  const double error = quantization_error(z, z_q);
  const CodebookGeometry geometry = codebook_geometry(codebook);
  const double values[] = {usage.perplexity, static_cast<double>(usage.dead_codes), usage.min_usage, usage.max_usage,
                           usage.std_usage,  usage.entropy, error, error, geometry.mean_norm, geometry.std_norm,
                           geometry.mean_pairwise_distance};
  for (size_t i = 0; i < std::size(kMetricKeys); ++i) out.emplace_back(prefix + kMetricKeys[i], scalar(values[i]));
}

namespace {

GoldenRecord execute(const GoldenRecord& request, GoldenPrecision precision) {
  GoldenRecord response;
  response.name = request.name;
  response.attributes.emplace_back("status", std::string("ok"));
  auto& out = response.datasets;
  const auto input = [&](const char* name) { return in_precision(request.dataset(name), precision); };
  const auto beta = [&] { return defaults_call(request) ? 0.25 : real(request, "beta"); };
  switch (case_kind(request)) {
    case ConformCaseKind::dataset:
      run_dataset(request, precision, out);
      break;
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
      const QuantizerPtr quantizer = make_class(request_text(request, "class"), input("codebook"));
      const bool z_requires_grad = integer(request, "z_requires_grad") != 0;
      const at::Tensor z = leaf(input("z"), z_requires_grad);
      const QuantizerOutput q = quantizer->forward(z);
      out = {{"z_q", q.z_q.detach().clone()}, {"indices", q.indices}, {"z_q_hard", q.z_q_hard.detach().clone()},
             {"distances", q.distances.detach().clone()}, {"commitment_loss", q.commitment_loss.detach().to(at::kDouble).reshape({1})}};
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
      VQVAE model(PCAEncoder(U_k).ptr(), make_class(request_text(request, "class"), input("codebook")), PCADecoder(U_k).ptr());
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
      const QuantizerPtr quantizer = make_class(request_text(request, "class"), input("codebook"));
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
    case ConformCaseKind::init:
      run_init(request, defaults_call(request), out);
      if (defaults_call(request)) {
        std::vector<std::pair<std::string, at::Tensor>> explicit_call;
        run_init(request, false, explicit_call);
        out.emplace_back("codebook_given_defaults", explicit_call.front().second);
      }
      break;
    case ConformCaseKind::modules:
      run_modules(request, out);
      break;
    case ConformCaseKind::metrics:
      add_metrics(request.dataset("indices"), integer(request, "codebook_size"), request.dataset("z"),
                  request.dataset("z_q"), request.dataset("codebook"), out);
      break;
    case ConformCaseKind::train:
      run_train(request, out);
      break;
    case ConformCaseKind::evaluate:
      run_evaluate(request, out);
      break;
    case ConformCaseKind::checkpoint:
      run_checkpoint(request, out, response.attributes);
      break;
    case ConformCaseKind::tracker:
      run_tracker(request, out);
      break;
    case ConformCaseKind::surface: {
      // This library has every part of the surface.
      out = {{"present", at::ones({static_cast<int64_t>(split(request_text(request, "parts"), ',').size())}, at::kLong)}};
      break;
    }
  }
  for (auto& entry : out)
    entry.second = precision == GoldenPrecision::float64 ? as_stored(entry.second.detach())
                                                         : entry.second.detach().contiguous();
  return response;
}

}  // namespace
}  // namespace vqvae::conform::library

namespace vqvae {

GoldenRecord execute_with_library(const GoldenRecord& request, GoldenPrecision precision) {
  return conform::library::execute(request, precision);
}

}  // namespace vqvae
