#include <vqvae/training/divergence.h>

#include <vqvae/core/format.h>
#include <vqvae/tensor/checks.h>

#include <c10/core/GradMode.h>
#include <c10/util/string_utils.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <cmath>

namespace vqvae {
namespace {

// A parameter beyond ±sqrt(FLT_MAX) ≈ 1.84e19 can only give Inf squared distances in float32:
// a codeword there is never anyone's nearest again, latents there are never quantized.
const float kParameterLimit = std::sqrt(std::numeric_limits<float>::max());

// Values of t that are NaN or beyond ±limit: a branch-free pass over the raw values of a
// contiguous CPU float tensor, LibTorch ops otherwise.
int64_t count_non_finite(const at::Tensor& t, float limit = std::numeric_limits<float>::max()) {
  if (t.device().is_cpu() && t.is_contiguous() && t.scalar_type() == at::kFloat) {  // no detach(): it allocates
    const float* v = t.data_ptr<float>();
    const int64_t size = t.numel();
    int64_t bad = 0;
    for (int64_t start = 0; start < size; start += int64_t{1} << 30) {
      // An int32 count per block of 2^30 values: the loop vectorizes (an int64 one did not).
      const int64_t end = std::min(size, start + (int64_t{1} << 30));
      int32_t block = 0;
      for (int64_t i = start; i < end; ++i) block += std::fabs(v[i]) <= limit ? 0 : 1;
      bad += block;
    }
    return bad;
  }
  const at::Tensor d = t.detach();
  return d.numel() - (d.abs() <= static_cast<double>(limit)).sum().item<int64_t>();
}

}  // namespace

DivergenceWatch::DivergenceWatch(VQVAE& model) {
  for (const auto& item : model->named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    std::string name = item.key();
    if (name.rfind("quantizer.", 0) == 0) name = name.substr(10);
    watched_.push_back({name, item.value(), kParameterLimit});
  }
}

// Adam's moments of the watched parameters (created by the first step): the second moment is
// where a huge gradient first overflows (g² beyond float32), before any parameter does.
void DivergenceWatch::watch_optimizer_state(Trainer& trainer) {
  auto& state = trainer.optimizer().state();
  const size_t parameters = watched_.size();
  for (size_t i = 0; i < parameters; ++i) {
    const Watched p = watched_[i];
    const auto found = state.find(c10::guts::to_string(p.tensor.unsafeGetTensorImpl()));
    if (found == state.end()) continue;
    const auto* adam = dynamic_cast<const torch::optim::AdamParamState*>(found->second.get());
    if (!adam) continue;
    watched_.push_back({"Adam's exp_avg of " + p.name, adam->exp_avg()});
    watched_.push_back({"Adam's exp_avg_sq of " + p.name, adam->exp_avg_sq()});
  }
}

std::string DivergenceWatch::after_step(int64_t step, const LossOutput& loss, Trainer& trainer) {
  if (step == 1) watch_optimizer_state(trainer);
  std::string found;
  if (!std::isfinite(loss.total_value) || !std::isfinite(loss.recon) || !std::isfinite(loss.codebook) ||
      !std::isfinite(loss.commitment))
    found = "loss not finite (total " + format_significant(loss.total_value, 4) + ": recon " +
            format_significant(loss.recon, 4) + ", codebook " + format_significant(loss.codebook, 4) +
            ", commitment " + format_significant(loss.commitment, 4) + ")";
  for (const Watched& w : watched_) {
    const int64_t bad = count_non_finite(w.tensor, w.limit);
    if (bad == 0) continue;
    const int64_t non_finite = w.limit < std::numeric_limits<float>::max() ? count_non_finite(w.tensor) : bad;
    const std::string of = " of " + std::to_string(w.tensor.numel()) + " values";
    const std::string beyond = "beyond ±" + format_significant(w.limit, 3);
    found += (found.empty() ? "" : "; ") + w.name + " has ";
    if (non_finite == bad) found += std::to_string(bad) + " NaN/Inf" + of;
    else if (non_finite == 0) found += std::to_string(bad) + of + " " + beyond + " (squares Inf in float32)";
    else found += std::to_string(non_finite) + " NaN/Inf and " + std::to_string(bad - non_finite) + " more " + beyond + of;
    found += " after the update";
  }
  return found;
}


std::string DivergenceWatch::search_failure(VQVAE& model, const at::Tensor& batch) const {
  at::Tensor z;
  {
    c10::NoGradGuard no_grad;
    z = model->encode(batch);
  }
  const at::Tensor& codebook = model->quantizer()->codebook;
  const int64_t bad_z = count_non_finite(z), bad_codebook = count_non_finite(codebook);
  if (bad_z > 0)
    return "z has " + std::to_string(bad_z) + " NaN/Inf of " + std::to_string(z.numel()) + " values at the forward pass";
  if (bad_codebook > 0)
    return "codebook has " + std::to_string(bad_codebook) + " NaN/Inf of " + std::to_string(codebook.numel()) + " values";
  const double reach = max_abs(z) + max_abs(codebook);
  if (reach * reach * static_cast<double>(z.size(1)) > std::numeric_limits<float>::max())
    return "every squared distance overflows float32 (max |codebook| " + format_significant(max_abs(codebook), 3) +
           ", max |z| " + format_significant(max_abs(z), 3) + ")";
  return "";
}

}  // namespace vqvae
