#include <vqvae/quantizers/base.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/initialization/codebook_init.h>
#include <vqvae/search/nearest_codeword.h>

#include <ATen/ATen.h>

#include <ostream>

namespace vqvae {

QuantizerBase::QuantizerBase(const std::string& name, const QuantizerOptions& options_)
    : torch::nn::Module(name), options(options_) {
  const int64_t k = options.dim(), n = options.codebook_size();
  check_at_least(k, 1, name.c_str(), "dim k");
  check_at_least(n, 1, name.c_str(), "codebook_size n");
  at::Tensor initial;
  if (options.init_codebook().defined()) {
    check_shape(options.init_codebook(), name.c_str(), "init_codebook", {n, k}, "(n, k)");
    check_finite(options.init_codebook(), name.c_str(), "init_codebook");
    initial = options.init_codebook().detach().clone();
  } else {
    initial = uniform_init(n, k, options.seed());
  }
  codebook = register_parameter("codebook", initial);
  trainable_ = options.trainable();
  codebook.requires_grad_(trainable_);
}

QuantizerOutput QuantizerBase::forward(const at::Tensor& z) {
  const std::string where = name() + "::forward";
  check_shape(z, where.c_str(), "z", {-1, dim()}, "(B, k)");
  check_at_least(z.size(0), 1, where.c_str(), "batch size B");
  QuantizerOutput out;
  out.indices = nearest_codeword(z, codebook.to(z.scalar_type()));
  out.z_q_hard = codebook.index_select(0, out.indices).to(z.scalar_type());  // (B, k)
  out.z_q = estimate(z, out.z_q_hard.detach());
  out.distances = (z - out.z_q_hard).norm(2, /*dim=*/1);
  out.commitment_loss = out.distances.pow(2).mean();
  return out;
}

void QuantizerBase::freeze() {
  trainable_ = false;
  codebook.requires_grad_(false);
}

void QuantizerBase::unfreeze() {
  trainable_ = true;
  codebook.requires_grad_(true);
}

void QuantizerBase::pretty_print(std::ostream& stream) const {
  stream << "vqvae::" << name() << "(dim=" << dim() << ", codebook_size=" << codebook_size()
         << ", trainable=" << (trainable_ ? "true" : "false") << ")";
}

}  // namespace vqvae
