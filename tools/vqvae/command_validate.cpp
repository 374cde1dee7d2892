// `vqvae validate`: the seed's "Quick sanity check" (BASELINE_FIXES.md) as a program. Builds the
// seed's configuration, runs forward, loss and backward, and checks every assertion of the seed.
#include "commands.h"
#include "core/runtime.h"
#include "data/gaussian_dataset.h"
#include "decoders/linear.h"
#include "encoders/linear.h"
#include "initialization/rd_init.h"
#include "models/vqvae.h"
#include "quantizers/vq.h"
#include "training/losses.h"

#include <ATen/ATen.h>

#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

namespace vqvae::cli {

CommandRunner add_validate_command(CLI::App& app) {
  struct Flags {
    int64_t d = 64, k = 8, n = 1000, codebook_size = 256, batch_size = 32, init_batch = 500;
    double sigma_noise = 0.1;
    uint64_t seed = 42;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "validate", "Check shapes, z_q_hard and gradient flow on the configuration about to run");
  sub->add_option("--d", flags->d, "Ambient dimension d")->capture_default_str();
  sub->add_option("--k", flags->k, "Latent dimension k (<= d)")->capture_default_str();
  sub->add_option("--n", flags->n, "Number of samples")->capture_default_str();
  sub->add_option("--sigma-noise", flags->sigma_noise, "Noise standard deviation")->capture_default_str();
  sub->add_option("--seed", flags->seed, "Seed of every draw")->capture_default_str();
  sub->add_option("--codebook-size", flags->codebook_size, "Number of codewords")->capture_default_str();
  sub->add_option("--batch-size", flags->batch_size, "Batch checked")->capture_default_str();
  return [flags](const GlobalOptions& global) {
    const c10::Device device = resolve_device(global.device);
    struct Check { std::string name; bool passed; std::string detail; };
    std::vector<Check> checks;
    const auto check = [&](const std::string& name, bool passed, const std::string& detail) {
      checks.push_back({name, passed, detail});
      std::cout << (passed ? "\u2713 " : "\u2717 ") << name << (detail.empty() ? "" : ": ")
                << detail << std::endl;
    };
    const auto& f = *flags;

    // Seed: dataset = GaussianDataset(d=64, k=8, n_samples=1000)
    GaussianDataset dataset(
        GaussianDatasetOptions().d(f.d).k(f.k).n_samples(f.n).sigma_noise(f.sigma_noise).seed(f.seed));
    // Seed: encoder, rd_gaussian codebook from 500 latents, quantizer, decoder, model.
    const at::Tensor init_data = dataset.get_initialization_batch(f.init_batch);
    const at::Tensor codebook =
        rd_gaussian_init(f.codebook_size, f.k, init_data, std::nullopt, f.seed);
    VQVAE model(PCAEncoder(dataset.U_k), VectorQuantizer(f.k, f.codebook_size, codebook),
                PCADecoder(dataset.U_k));
    model->to(device);
    const int64_t batch = std::min(f.batch_size, f.n);
    const at::Tensor x = dataset.X.slice(0, 0, batch).to(device);
    std::ostringstream config;
    config << "GaussianDataset(d=" << f.d << ", k=" << f.k << ", n=" << f.n << ", seed=" << f.seed
           << ") + VQVAE(PCAEncoder, VectorQuantizer(n=" << f.codebook_size
           << ", rd_gaussian_init), PCADecoder), batch " << batch;
    check("configuration builds", true, config.str());

    const VQVAEOutput out = model(x);
    check("outputs include z_q_hard", out.z_q_hard.defined(), "");
    std::ostringstream shape;
    shape << "(" << out.z_q_hard.size(0) << ", " << out.z_q_hard.size(1) << ")";
    check("z_q_hard shape is (" + std::to_string(batch) + ", " + std::to_string(f.k) + ")",
          out.z_q_hard.size(0) == batch && out.z_q_hard.size(1) == f.k, "got " + shape.str());
    const bool hard_is_codebook = at::equal(
        out.z_q_hard, model->quantizer()->codebook.index_select(0, out.indices));
    check("z_q_hard equals codebook[indices]", hard_is_codebook, "");

    const LossOutput loss = vqvae_loss(x, out.x_recon, out.z, out.z_q, out.z_q_hard);
    loss.total.backward();
    const at::Tensor grad = model->quantizer()->codebook.grad();
    const double grad_norm = grad.defined() ? grad.norm().item<double>() : 0.0;
    std::ostringstream detail;
    detail << "loss " << loss.total_value << ", |grad codebook| = " << grad_norm;
    check("codebook receives a gradient", grad.defined() && grad_norm > 0, detail.str());

    int passed = 0;
    for (const auto& c : checks) passed += c.passed ? 1 : 0;
    const int failed = static_cast<int>(checks.size()) - passed;
    std::cout << (failed == 0 ? "gradient flow working: " : "validation FAILED: ") << passed
              << " passed, " << failed << " failed" << std::endl;
    return failed == 0 ? 0 : 1;
  };
}

}  // namespace vqvae::cli
