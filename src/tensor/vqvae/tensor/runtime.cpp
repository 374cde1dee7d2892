#include <vqvae/tensor/runtime.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/version.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <dlfcn.h>

namespace vqvae {

std::string library_version() { return VQVAE_VERSION; }

std::string torch_version() { return TORCH_VERSION; }

void set_threads(int64_t threads) {
  check_at_least(threads, 1, "set_threads", param("threads").c_str());
  at::set_num_threads(static_cast<int>(threads));
  // LibTorch's setting does not reach OpenBLAS's own thread pool (Debian's libblas.so.3 is
  // OpenBLAS with pthreads, which otherwise starts one thread per core for large products).
  using SetBlasThreads = void (*)(int);
  if (auto set_blas_threads = reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas_threads(static_cast<int>(threads));
}

c10::Device resolve_device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw_invalid_argument(param("device"), "'" + name +
                                             "' requested, but this LibTorch build has no CUDA "
                                             "device available (use --device cpu)");
    return c10::Device(name);
  }
  throw_invalid_argument(param("device"), "must be 'cpu' or 'cuda', got '" + name + "'");
}

at::Generator make_generator(std::optional<uint64_t> seed) {
  if (!seed) return at::detail::getDefaultCPUGenerator();
  return at::make_generator<at::CPUGeneratorImpl>(*seed);
}

}  // namespace vqvae
