#include <vqvae/study/dataset_export.h>

#include <vqvae/io/hdf5_file.h>
#include <vqvae/io/provenance.h>

namespace vqvae {

void write_dataset_hdf5(const GaussianDataset& dataset, const std::string& path,
                        const std::string& command) {
  Hdf5Writer file(path);
  file.write_tensor("X", dataset.X);
  file.write_tensor("Y", dataset.Y);
  file.write_tensor("A", dataset.A);
  file.write_tensor("Sigma_y", dataset.Sigma_y);
  file.write_tensor("U_k", dataset.U_k);
  file.write_tensor("eigenvalues_k", dataset.eigenvalues_k);
  file.write_tensor("z_true", dataset.z_true);
  const auto& o = dataset.options();
  file.write_attribute("/", "d", o.d());
  file.write_attribute("/", "k", o.k());
  file.write_attribute("/", "n", o.n_samples());
  file.write_attribute("/", "sigma_noise", o.sigma_noise());
  file.write_attribute("/", "seed", static_cast<int64_t>(o.seed()));
  write_provenance(file, command);
  file.commit();
}

}  // namespace vqvae
