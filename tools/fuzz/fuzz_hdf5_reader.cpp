// libFuzzer target: the HDF5 readers, on any bytes as a file: Hdf5Reader (open, walk every
// group, read every dataset and the attributes the project reads), the golden-fixture readers
// list_golden_cases / read_golden_case, and compare_goldens against the expected cases (what
// `vqvae goldens check` and `vqvae validate` do with fixtures/pca_goldens.h5; the expected cases
// are read from the committed file, so that no model code is built into the fuzzer). The
// documented outcome of a bad file is vqvae::Hdf5Error (or InvalidArgument) with one line; any
// other exception, a crash or a sanitizer report is a finding.
#include "fuzz_io.h"

#include <vqvae/tensor/checks.h>
#include <vqvae/goldens/pca_suite.h>
#include <vqvae/io/hdf5_file.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

void require_one_line(const std::exception& e) {
  const std::string message = e.what();
  if (message.empty() || message.find('\n') != std::string::npos) {
    std::fprintf(stderr, "finding: error message is not one line: '%s'\n", message.c_str());
    std::abort();
  }
}

// Every documented error is caught here, so one bad dataset does not hide the rest of the file.
template <typename F>
void documented(F&& read) {
  try {
    read();
  } catch (const vqvae::Hdf5Error& e) {
    require_one_line(e);
  } catch (const vqvae::InvalidArgument& e) {
    require_one_line(e);
  }
}

// Reads everything under `group` (depth-limited: HDF5 allows cycles through hard links).
void walk(const vqvae::Hdf5Reader& file, const std::string& group, int depth) {
  std::vector<std::string> names;
  documented([&] { names = file.list(group); });
  for (const std::string& name : names) {
    const std::string path = group == "/" ? name : group + "/" + name;
    documented([&] { (void)file.read_tensor(path); });
    for (const char* attribute : {"d", "k", "n", "seed", "encoder_seed"})
      documented([&] { (void)file.read_int_attribute(path, attribute); });
    documented([&] { (void)file.read_double_attribute(path, "sigma_noise"); });
    documented([&] { (void)file.read_string_attribute(path, "encoder"); });
    if (depth < 4) walk(file, path, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The expected cases, read once from the committed golden file.
  static const std::vector<vqvae::GoldenCase> expected = [] {
    const std::string committed = vqvae::golden_file_path(VQVAE_FIXTURES_DIR);
    std::vector<vqvae::GoldenCase> cases;
    for (const auto& name : vqvae::list_golden_cases(committed)) cases.push_back(vqvae::read_golden_case(committed, name));
    return cases;
  }();
  const std::string path = vqvae::fuzz::write_input(data, size, "h5");
  try {
    documented([&] {
      vqvae::Hdf5Reader file(path);
      for (const char* attribute : {"library_version", "torch_version", "command"})
        documented([&] { (void)file.read_string_attribute("/", attribute); });
      walk(file, "/", 0);
    });
    documented([&] {
      for (const std::string& name : vqvae::list_golden_cases(path))
        documented([&] { (void)vqvae::read_golden_case(path, name); });
    });
    documented([&] { (void)vqvae::format_golden_report(vqvae::compare_goldens(path, expected)); });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "finding: undocumented exception escaped the HDF5 readers: %s\n", e.what());
    std::abort();
  }
  return 0;
}
