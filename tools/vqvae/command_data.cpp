// `vqvae data`: writes the linear-Gaussian dataset to HDF5 for Python (h5py) or h5dump.
#include "commands.h"

#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/study/dataset_export.h>
#include <vqvae/preflight/memory_estimate.h>

#include <iostream>
#include <memory>

namespace vqvae::cli {

CommandRunner add_data_command(CLI::App& app) {
  struct Flags {
    int64_t d = 64, k = 8, n = 10000;
    double sigma_noise = 0.1;
    uint64_t seed = 42;
    std::string out;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand("data", "Generate the Gaussian dataset and write it to HDF5");
  sub->add_option("--d", flags->d, "Ambient dimension d")->capture_default_str();
  sub->add_option("--k", flags->k, "Latent dimension k (<= d)")->capture_default_str();
  sub->add_option("--n", flags->n, "Number of samples")->capture_default_str();
  sub->add_option("--sigma-noise", flags->sigma_noise, "Noise standard deviation")->capture_default_str();
  sub->add_option("--seed", flags->seed, "Seed of every draw")
      ->capture_default_str()
      ->check(non_negative_integer);  // CLI11 would wrap -1 to 2^64 - 1
  sub->add_option("--out", flags->out, "Output HDF5 file (written atomically)")->required();
  return [flags](const GlobalOptions& global) {
    require_memory(estimate_data_memory(flags->d, flags->k, flags->n), available_memory());  // exit 2
    GaussianDataset dataset(GaussianDatasetOptions()
                                .d(flags->d)
                                .k(flags->k)
                                .n_samples(flags->n)
                                .sigma_noise(flags->sigma_noise)
                                .seed(flags->seed));
    write_dataset_hdf5(dataset, flags->out, global.command_line);
    std::cout << "wrote " << flags->out << ": X (" << flags->n << ", " << flags->d << "), U_k ("
              << flags->d << ", " << flags->k << "), snr " << dataset.snr << std::endl;
    return 0;
  };
}

}  // namespace vqvae::cli
