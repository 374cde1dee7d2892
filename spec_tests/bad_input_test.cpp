// Bad input: the library's answer to each row of docs/reliability.md's "Bad input" table that no
// other spec test covers. Each check compares the whole one-line message, so the docs quote
// what the code says; CLI rows are ctest entries cli.bad_input.* in CMakeLists.txt.
#include "test_support.h"

#include <vqvae/tensor/checks.h>
#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/search/nearest_codeword.h>
#include <vqvae/quantizers/vq.h>
#include <vqvae/study/run_config.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace vqvae {
namespace {

namespace fs = std::filesystem;
using testing::message_of;

torch::Tensor codebook() { return torch::tensor({0.0, 0.0, 1.0, 0.0, 0.0, 2.0}, torch::kDouble).reshape({3, 2}); }

TEST(BadInput, WrongRankOrSize) {
  EXPECT_EQ(message_of<InvalidArgument>([] { nearest_codeword(torch::zeros({2, 2, 2}, torch::kDouble), codebook()); }),
            "nearest_codeword: z must have shape (B, k) = (*, 2), got (2, 2, 2)");
  EXPECT_EQ(message_of<InvalidArgument>([] { nearest_codeword(torch::zeros({2}, torch::kDouble), codebook()); }),
            "nearest_codeword: z must have shape (B, k) = (*, 2), got (2)");
  VectorQuantizer quantizer(2, 4);
  EXPECT_EQ(message_of<InvalidArgument>([&] { quantizer(torch::zeros({5, 3})); }),
            "VectorQuantizer::forward: z must have shape (B, k) = (*, 2), got (5, 3)");
}

TEST(BadInput, DtypeOtherThanFloat32OrFloat64) {
  VectorQuantizer quantizer(2, 4);
  EXPECT_EQ(message_of<InvalidArgument>([&] { quantizer(torch::zeros({5, 2}, torch::kLong)); }),
            "VectorQuantizer::forward: z must be float32 or float64, got Long");
  EXPECT_EQ(message_of<InvalidArgument>([&] { quantizer(torch::zeros({5, 2}, torch::kHalf)); }),
            "VectorQuantizer::forward: z must be float32 or float64, got Half");
  EXPECT_EQ(message_of<InvalidArgument>([] { nearest_codeword(torch::zeros({1, 2}, torch::kFloat), codebook()); }),
            "nearest_codeword: z and codebook must share a dtype, got Float and Double");
}

TEST(BadInput, NonFiniteZOrCodebookIsAnErrorNotIndexZero) {
  // NaN or ±Inf anywhere in a row of z: no finite distance to any codeword.
  for (double bad : {NAN, INFINITY, -INFINITY}) {
    torch::Tensor z = torch::zeros({3, 2}, torch::kDouble);
    z[2][1] = bad;
    EXPECT_EQ(message_of<InvalidArgument>([&] { nearest_codeword(z, codebook()); }),
              "nearest_codeword: z row 2 has no finite distance to any codeword (NaN or Inf in z or in the codebook)");
  }
  // Through the quantizer too (float32).
  VectorQuantizer quantizer(2, 4);
  EXPECT_EQ(message_of<InvalidArgument>([&] { quantizer(torch::full({2, 2}, NAN)); }),
            "nearest_codeword: z row 0 has no finite distance to any codeword (NaN or Inf in z or in the codebook)");
  // NaN in the model's input x reaches z through the encoder: the same error, not index 0.
  torch::Tensor U = torch::eye(6).slice(1, 0, 3);
  VQVAE model(PCAEncoder(U), VectorQuantizer(3, 5), PCADecoder(U));
  torch::Tensor x = torch::randn({4, 6});
  x[1][0] = NAN;
  EXPECT_EQ(message_of<InvalidArgument>([&] { model(x); }),
            "nearest_codeword: z row 1 has no finite distance to any codeword (NaN or Inf in z or in the codebook)");
  // A codebook with no finite codeword.
  EXPECT_EQ(message_of<InvalidArgument>([] { nearest_codeword(torch::zeros({1, 2}, torch::kDouble), torch::full({3, 2}, INFINITY, torch::kDouble)); }),
            "nearest_codeword: z row 0 has no finite distance to any codeword (NaN or Inf in z or in the codebook)");
  // One non-finite codeword among finite ones is never chosen (its distance is never smaller).
  torch::Tensor partly = codebook();
  partly[0][0] = NAN;
  EXPECT_EQ(nearest_codeword(torch::zeros({1, 2}, torch::kDouble), partly).item<int64_t>(), 1);
  // A non-finite initial codebook is refused at construction.
  EXPECT_EQ(message_of<InvalidArgument>([] { VectorQuantizer(2, 3, torch::full({3, 2}, INFINITY)); }),
            "VectorQuantizer: init_codebook must be finite, got 6 NaN/Inf of 6 elements");
}

TEST(BadInput, EmptyBatchAndEmptyCodebook) {
  VectorQuantizer quantizer(2, 4);
  EXPECT_EQ(message_of<InvalidArgument>([&] { quantizer(torch::zeros({0, 2})); }),
            "VectorQuantizer::forward: batch size B must be >= 1, got 0");
  EXPECT_EQ(message_of<InvalidArgument>([] { nearest_codeword(torch::zeros({2, 2}), torch::zeros({0, 2})); }),
            "nearest_codeword: codebook size n must be >= 1, got 0");
  EXPECT_EQ(message_of<InvalidArgument>([] { VectorQuantizer(2, 0); }),
            "VectorQuantizer: codebook_size n must be >= 1, got 0");
}

TEST(BadInput, KGreaterThanDAndBatchLargerThanDataset) {
  EXPECT_EQ(message_of<InvalidArgument>([] { GaussianDataset(GaussianDatasetOptions().d(8).k(9)); }),
            "GaussianDataset: k must be <= d = 8, got 9");
  RunConfig config;
  config.n = 500;
  config.batch_size = 600;
  EXPECT_EQ(message_of<InvalidArgument>([&] { check_config(config); }),
            "batch_size: must be <= n = 500, got 600");
}

TEST(BadInput, CorruptedConfigFile) {
  const fs::path folder = testing::fresh_folder("vqvae_bad_input_config");
  RunConfig config;
  const std::string junk = (folder / "junk.json").string();
  std::ofstream(junk) << "{\"k\": 4,";
  EXPECT_EQ(message_of<InvalidArgument>([&] { apply_config_file(junk, config); }).rfind("config: '" + junk + "' is not valid JSON: ", 0), 0u);
  const std::string unknown = (folder / "unknown.json").string();
  std::ofstream(unknown) << "{\"kk\": 4}";
  EXPECT_EQ(message_of<InvalidArgument>([&] { apply_config_file(unknown, config); }),
            "config: '" + unknown + "' key 'kk' is not a configuration key");
  const std::string wrong_type = (folder / "type.json").string();
  std::ofstream(wrong_type) << "{\"k\": \"four\"}";
  EXPECT_EQ(message_of<InvalidArgument>([&] { apply_config_file(wrong_type, config); }),
            "config: '" + wrong_type + "' key 'k' has the wrong type: \"four\"");
  fs::remove_all(folder);
}

TEST(BadInput, TruncatedHdf5FileIsOneLineError) {
  const fs::path folder = testing::fresh_folder("vqvae_bad_input_hdf5");
  const std::string path = (folder / "a.h5").string();
  {
    Hdf5Writer file(path);
    file.write_tensor("x", torch::arange(100000, torch::kDouble));
    file.commit();
  }
  const std::string bytes = testing::bytes_of(path);
  // Superblock intact, data cut: HDF5 sees the file shorter than its recorded end.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  EXPECT_EQ(message_of<Hdf5Error>([&] { Hdf5Reader(path).read_tensor("x"); }), path + ": cannot open HDF5 file");
  // Cut inside the superblock: not an HDF5 file.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, 4);
  EXPECT_EQ(message_of<Hdf5Error>([&] { Hdf5Reader r(path); }), path + ": not an HDF5 file (or truncated)");
  fs::remove_all(folder);
}

TEST(BadInput, UnwritableOutputLeavesNoFile) {
  // Running as root makes a chmod'ed read-only folder writable, so "not writable" is a path
  // under a regular file (a file used as a folder) and one under /proc.
  const fs::path folder = testing::fresh_folder("vqvae_bad_input_out");
  const std::string file = (folder / "plain").string();
  std::ofstream(file) << "x";
  EXPECT_EQ(message_of<Hdf5Error>([&] { Hdf5Writer w(file + "/x.h5"); }),
            file + "/x.h5: cannot create a file in folder '" + file + "' (missing or not writable)");
  EXPECT_EQ(message_of<Hdf5Error>([] { Hdf5Writer w("/proc/vqvae_x.h5"); }),
            "/proc/vqvae_x.h5: cannot create a file in folder '/proc' (missing or not writable)");
  EXPECT_EQ(std::distance(fs::directory_iterator(folder), fs::directory_iterator()), 1);
  fs::remove_all(folder);
}

}  // namespace
}  // namespace vqvae
