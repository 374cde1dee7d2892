#include <vqvae/training/optimizer.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/math/fused_kernels.h>

#include <ATen/ATen.h>
#include <c10/util/string_utils.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/version.h>

#include <cmath>

// FusedOptimizerUpdate copies the formulas of LibTorch 1.13's Adam::step and SGD::step
// (torch/csrc/api/src/optim/adam.cpp, sgd.cpp) and relies on that version's state keys and
// state classes. Another version may change any of them: compare its optimizers with
// fused_kernels.h's adam_update / sgd_update (and spec_tests/fused_step_test.cpp's comparison
// against the autograd path) before changing this line.
static_assert(TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR == 13,
              "the fused optimizer update follows LibTorch 1.13's Adam and SGD: check their "
              "formulas and state keys in this version before building against it");

namespace vqvae {
std::unique_ptr<torch::optim::Optimizer> make_optimizer(OptimizerKind kind,
                                                         std::vector<at::Tensor> parameters,
                                                         double lr, double momentum) {
  if (kind == OptimizerKind::adam)
    return std::make_unique<torch::optim::Adam>(std::move(parameters), torch::optim::AdamOptions(lr));
  return std::make_unique<torch::optim::SGD>(std::move(parameters),
                                             torch::optim::SGDOptions(lr).momentum(momentum));
}

const std::string& OptimizerStateKeys::key(const at::Tensor& parameter) {
  const c10::TensorImpl* impl = parameter.unsafeGetTensorImpl();
  for (const auto& entry : keys_)
    if (entry.first == impl) return entry.second;
  keys_.emplace_back(impl, c10::guts::to_string(parameter.unsafeGetTensorImpl()));
  return keys_.back().second;
}

const char* FusedOptimizerUpdate::resolve(torch::optim::Optimizer& optimizer) {
  optimizer_ = &optimizer;
  adam_ = dynamic_cast<torch::optim::Adam*>(&optimizer);
  sgd_ = adam_ ? nullptr : dynamic_cast<torch::optim::SGD*>(&optimizer);
  if (!adam_ && !sgd_) return "optimizer is not torch::optim::Adam or torch::optim::SGD";
  if (optimizer.param_groups().size() != 1) return "optimizer has more than one parameter group";
  const auto& group_options = optimizer.param_groups()[0].options();
  if (adam_) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group_options);
    if (options.weight_decay() != 0 || options.amsgrad()) return "Adam has weight decay or amsgrad";
  } else {
    const auto& options = static_cast<const torch::optim::SGDOptions&>(group_options);
    if (options.weight_decay() != 0 || options.dampening() != 0 || options.nesterov())
      return "SGD has weight decay, dampening or Nesterov momentum";
  }
  return nullptr;
}

const char* FusedOptimizerUpdate::find_state(const at::Tensor& p, OptimizerStateKeys& keys,
                                             torch::optim::OptimizerParamState*& state) const {
  state = nullptr;
  if (sgd_ && static_cast<const torch::optim::SGDOptions&>(optimizer_->param_groups()[0].options())
                      .momentum() == 0)
    return nullptr;  // plain SGD keeps no state
  auto found = optimizer_->state().find(keys.key(p));
  if (found == optimizer_->state().end()) return nullptr;
  state = found->second.get();
  if (adam_) {
    const auto& s = static_cast<const torch::optim::AdamParamState&>(*found->second);
    if (!is_float_cpu_contiguous(s.exp_avg()) || s.exp_avg().sizes() != p.sizes() ||
        !is_float_cpu_contiguous(s.exp_avg_sq()) || s.exp_avg_sq().sizes() != p.sizes())
      return "Adam state is not float32 buffers of the parameter's shape";
  } else {
    const auto& s = static_cast<const torch::optim::SGDParamState&>(*found->second);
    if (!is_float_cpu_contiguous(s.momentum_buffer()) || s.momentum_buffer().sizes() != p.sizes())
      return "SGD momentum buffer is not float32 of the parameter's shape";
  }
  return nullptr;
}

void FusedOptimizerUpdate::update(const at::Tensor& p, const float* grad, OptimizerStateKeys& keys,
                                  torch::optim::OptimizerParamState* existing) const {
  const int64_t count = p.numel();
  float* data = p.data_ptr<float>();
  if (adam_) {
    const auto& options =
        static_cast<const torch::optim::AdamOptions&>(optimizer_->param_groups()[0].options());
    auto* state = static_cast<torch::optim::AdamParamState*>(existing);
    if (!state) {
      auto created = std::make_unique<torch::optim::AdamParamState>();
      created->step(0);
      created->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
      created->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
      state = created.get();
      optimizer_->state()[keys.key(p)] = std::move(created);
    }
    state->step(state->step() + 1);
    const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
    const double bias_correction1 = 1 - std::pow(beta1, state->step());
    const double bias_correction2 = 1 - std::pow(beta2, state->step());
    const double step_size = options.lr() / bias_correction1;
    kernels::adam_update(data, grad, state->exp_avg().data_ptr<float>(),
                         state->exp_avg_sq().data_ptr<float>(), count, static_cast<float>(beta1),
                         static_cast<float>(1 - beta1), static_cast<float>(beta2),
                         static_cast<float>(1 - beta2),
                         static_cast<float>(std::sqrt(bias_correction2)),
                         static_cast<float>(options.eps()), static_cast<float>(-step_size));
  } else {
    const auto& options =
        static_cast<const torch::optim::SGDOptions&>(optimizer_->param_groups()[0].options());
    float* buffer = nullptr;
    bool first = false;
    if (options.momentum() != 0) {
      auto* state = static_cast<torch::optim::SGDParamState*>(existing);
      if (!state) {
        auto created = std::make_unique<torch::optim::SGDParamState>();
        created->momentum_buffer(at::empty_like(p, at::MemoryFormat::Contiguous));
        state = created.get();
        optimizer_->state()[keys.key(p)] = std::move(created);
        first = true;
      }
      buffer = state->momentum_buffer().data_ptr<float>();
    }
    kernels::sgd_update(data, grad, buffer, count, first, static_cast<float>(options.momentum()),
                        static_cast<float>(-1 * options.lr()));
  }
  p.unsafeGetTensorImpl()->bump_version();  // an in-place change, as p.addcdiv_ / p.add_ record
}

}  // namespace vqvae
