// Test helper for cli.bad_input.kill_mid_write: rewrites PATH through vqvae::Hdf5Writer, the same
// large content (~32 MB) each time, in an endless loop until killed; with --once, writes it once.
// The content never changes, so a kill at any moment must leave PATH byte-identical to the file
// --once wrote (the old file, or a complete identical rewrite), never a partial one.
#include <vqvae/io/hdf5_file.h>

#include <torch/torch.h>

#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: kill_writer PATH [--once]" << std::endl;
    return 2;
  }
  const std::string path = argv[1];
  const bool once = argc > 2 && std::strcmp(argv[2], "--once") == 0;
  const at::Tensor x = torch::arange(4 * 1024 * 1024, torch::kDouble);
  const at::Tensor y = torch::arange(1000, torch::kFloat).reshape({100, 10});
  do {
    vqvae::Hdf5Writer file(path);
    file.write_tensor("x", x);
    file.write_tensor("group/y", y);
    file.write_attribute("/", "note", std::string("kill_writer"));
    file.commit();
  } while (!once);
  return 0;
}
