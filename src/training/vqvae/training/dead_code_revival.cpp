#include <vqvae/training/dead_code_revival.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace vqvae {

DeadCodeRevival::DeadCodeRevival(int64_t n, int64_t window)
    : n_(n), window_(window), last_used_(static_cast<size_t>(n), 0) {}

int64_t DeadCodeRevival::after_step(int64_t step, const at::Tensor& z, const at::Tensor& indices,
                                    const at::Tensor& codebook, at::Generator& generator) {
  const at::Tensor used = at::bincount(indices, {}, n_).contiguous();
  const int64_t* counts = used.data_ptr<int64_t>();
  std::vector<int64_t> dead;
  for (int64_t j = 0; j < n_; ++j) {
    if (counts[j] > 0) last_used_[j] = step;
    else if (step - last_used_[j] >= window_) dead.push_back(j);
  }
  if (dead.empty()) return 0;
  c10::NoGradGuard no_grad;
  const at::Tensor dead_rows = at::tensor(dead, at::kLong);
  const at::Tensor picks = at::randint(z.size(0), {static_cast<int64_t>(dead.size())}, generator,
                                       at::TensorOptions().dtype(at::kLong));
  // In place on the parameter itself, so the optimizer keeps its state for it.
  codebook.index_copy_(0, dead_rows, z.index_select(0, picks).to(codebook.scalar_type()));
  for (int64_t j : dead) last_used_[j] = step;
  revived_ += static_cast<int64_t>(dead.size());
  return static_cast<int64_t>(dead.size());
}

}  // namespace vqvae
