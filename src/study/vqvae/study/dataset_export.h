// Writes a GaussianDataset to HDF5 so that the same data can be read from Python or h5dump.
#pragma once

#include <vqvae/data/gaussian_dataset.h>

#include <string>

namespace vqvae {

/// Datasets X (n, d), Y (n, k), A (d, k), Sigma_y (k, k), U_k (d, k), eigenvalues_k (k),
/// z_true (n, k), all float32; root attributes d, k, n, sigma_noise, seed, library_version,
/// torch_version and `command` (how the file was made). Written atomically (Hdf5Writer).
void write_dataset_hdf5(const GaussianDataset& dataset, const std::string& path,
                        const std::string& command);

}  // namespace vqvae
