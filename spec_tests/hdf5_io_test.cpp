// HDF5 reader/writer and the dataset export (src/io/vqvae/io/, src/study/vqvae/study/dataset_export.h): round trips, atomic replacement,
// byte-identical rewrites, and errors that name the file.
#include "test_support.h"

#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/study/dataset_export.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace vqvae {
namespace {

namespace fs = std::filesystem;

using testing::bytes_of;

// A new empty folder for one test.
fs::path fresh_folder(const std::string& name) { return testing::fresh_folder("vqvae_hdf5_test_" + name); }

void write_sample(const std::string& path, double value) {
  Hdf5Writer file(path);
  file.create_group("case/a");
  file.write_tensor("case/a/x", torch::full({2, 3}, value));
  file.write_tensor("i", torch::arange(4));
  file.write_attribute("/", "seed", int64_t{42});
  file.write_attribute("case/a", "sigma", 0.1);
  file.write_attribute("/", "command", std::string("vqvae test"));
  file.commit();
}

TEST(Hdf5File, RoundTripOfTensorsAndAttributes) {
  const fs::path folder = fresh_folder("roundtrip");
  const std::string path = (folder / "a.h5").string();
  write_sample(path, 1.5);
  Hdf5Reader in(path);
  EXPECT_TRUE(in.has("case/a/x"));
  EXPECT_FALSE(in.has("case/b/x"));
  EXPECT_TENSOR_EQ(in.read_tensor("case/a/x"), torch::full({2, 3}, 1.5));
  EXPECT_EQ(in.read_tensor("case/a/x").scalar_type(), torch::kFloat);
  EXPECT_TENSOR_EQ(in.read_tensor("i"), torch::arange(4));
  EXPECT_EQ(in.read_int_attribute("/", "seed"), 42);
  EXPECT_DOUBLE_EQ(in.read_double_attribute("case/a", "sigma"), 0.1);
  EXPECT_EQ(in.read_string_attribute("/", "command"), "vqvae test");
  EXPECT_EQ(in.list("case"), (std::vector<std::string>{"a"}));
  fs::remove_all(folder);
}

TEST(Hdf5File, WrittenFileHasThePlainCreateMode) {
  const fs::path folder = fresh_folder("mode");
  const mode_t mask = ::umask(022);  // the usual umask, so that the expected mode is 0644
  write_sample((folder / "a.h5").string(), 1.0);
  ::umask(mask);
  EXPECT_EQ(fs::status(folder / "a.h5").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  fs::remove_all(folder);
}

TEST(Hdf5File, SameContentGivesSameBytes) {
  const fs::path folder = fresh_folder("bytes");
  write_sample((folder / "a.h5").string(), 2.0);
  write_sample((folder / "b.h5").string(), 2.0);
  EXPECT_EQ(bytes_of(folder / "a.h5"), bytes_of(folder / "b.h5"));
  fs::remove_all(folder);
}

TEST(Hdf5File, UncommittedWriterLeavesOldFileWholeAndNoTemporary) {
  const fs::path folder = fresh_folder("atomic");
  const std::string path = (folder / "a.h5").string();
  write_sample(path, 1.0);
  const std::string before = bytes_of(path);
  {
    Hdf5Writer file(path);
    file.write_tensor("x", torch::zeros({100}));
    // destroyed without commit(), as when an exception unwinds
  }
  EXPECT_EQ(bytes_of(path), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(folder), fs::directory_iterator()), 1);
  fs::remove_all(folder);
}

TEST(Hdf5File, ErrorsNameTheFileAndObject) {
  const fs::path folder = fresh_folder("errors");
  const std::string missing = (folder / "missing.h5").string();
  try { Hdf5Reader r(missing); FAIL(); } catch (const Hdf5Error& e) { EXPECT_NE(std::string(e.what()).find(missing), std::string::npos); }
  const std::string junk = (folder / "junk.h5").string();
  std::ofstream(junk) << "not hdf5";
  try { Hdf5Reader r(junk); FAIL(); } catch (const Hdf5Error& e) { EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos); }
  const std::string path = (folder / "a.h5").string();
  write_sample(path, 1.0);
  Hdf5Reader in(path);
  try { in.read_tensor("case/zz"); FAIL(); } catch (const Hdf5Error& e) { EXPECT_NE(std::string(e.what()).find("dataset 'case/zz' is missing"), std::string::npos); }
  try { Hdf5Writer w((folder / "no/such/dir/x.h5").string()); FAIL(); } catch (const Hdf5Error& e) { EXPECT_NE(std::string(e.what()).find("missing or not writable"), std::string::npos); }
  fs::remove_all(folder);
}

TEST(DatasetExport, WritesEveryTensorAndParameter) {
  const fs::path folder = fresh_folder("export");
  const std::string path = (folder / "data.h5").string();
  GaussianDataset data(GaussianDatasetOptions().d(16).k(4).n_samples(100).seed(3));
  write_dataset_hdf5(data, path, "vqvae data --d 16");
  Hdf5Reader in(path);
  EXPECT_TENSOR_EQ(in.read_tensor("X"), data.X);
  EXPECT_TENSOR_EQ(in.read_tensor("Y"), data.Y);
  EXPECT_TENSOR_EQ(in.read_tensor("A"), data.A);
  EXPECT_TENSOR_EQ(in.read_tensor("Sigma_y"), data.Sigma_y);
  EXPECT_TENSOR_EQ(in.read_tensor("U_k"), data.U_k);
  EXPECT_TENSOR_EQ(in.read_tensor("eigenvalues_k"), data.eigenvalues_k);
  EXPECT_TENSOR_EQ(in.read_tensor("z_true"), data.z_true);
  EXPECT_EQ(in.read_int_attribute("/", "d"), 16);
  EXPECT_EQ(in.read_int_attribute("/", "k"), 4);
  EXPECT_EQ(in.read_int_attribute("/", "n"), 100);
  EXPECT_EQ(in.read_int_attribute("/", "seed"), 3);
  EXPECT_DOUBLE_EQ(in.read_double_attribute("/", "sigma_noise"), 0.1);
  EXPECT_EQ(in.read_string_attribute("/", "command"), "vqvae data --d 16");
  fs::remove_all(folder);
}

}  // namespace
}  // namespace vqvae
