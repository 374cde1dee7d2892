// The optimizers a Trainer uses (Adam, SGD with momentum), and the fused step's copy of their
// update rules: the same arithmetic as LibTorch's Adam::step / SGD::step on raw float32
// buffers, with the state kept where torch::optim keeps it, so the fused and autograd paths can
// alternate and Trainer::optimizer() stays meaningful.
#pragma once

#include <vqvae/core/choices.h>

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace torch::optim {
class Optimizer;
class OptimizerParamState;
class Adam;
class SGD;
}  // namespace torch::optim

namespace c10 {
struct TensorImpl;
}  // namespace c10

namespace vqvae {

enum class OptimizerKind { adam, sgd };
inline constexpr ChoiceTable<OptimizerKind, 2> kOptimizerNames{
    {{OptimizerKind::adam, "adam"}, {OptimizerKind::sgd, "sgd"}}};
inline const char* to_string(OptimizerKind kind) { return choice_name(kOptimizerNames, kind); }

/// torch::optim::Adam(lr) or torch::optim::SGD(lr, momentum) over `parameters`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(OptimizerKind kind,
                                                         std::vector<at::Tensor> parameters,
                                                         double lr, double momentum = 0.0);

/// The keys of Optimizer::state() (the parameter's TensorImpl address as text, as torch::optim
/// writes it), computed once per tensor: formatting one costs about a microsecond.
class OptimizerStateKeys {
 public:
  const std::string& key(const at::Tensor& parameter);

 private:
  std::vector<std::pair<const c10::TensorImpl*, std::string>> keys_;
};

/// The fused update of one optimizer: LibTorch 1.13's Adam (no weight decay, no amsgrad) or SGD
/// (no weight decay, dampening or Nesterov), one parameter group.
class FusedOptimizerUpdate {
 public:
  /// nullptr when `optimizer` qualifies (and this object is ready to update its parameters),
  /// else a short reason ("optimizer is not torch::optim::Adam or torch::optim::SGD", ...).
  const char* resolve(torch::optim::Optimizer& optimizer);

  /// The existing state of `parameter` in `state` (null when its first step is still to come);
  /// nullptr when that state is usable, else why not (not float32 buffers of its shape).
  const char* find_state(const at::Tensor& parameter, OptimizerStateKeys& keys,
                         torch::optim::OptimizerParamState*& state) const;

  /// One update of `parameter` (float32, contiguous) with gradient `grad` (its numel floats),
  /// creating its state on the first step; bumps the parameter's version as an in-place op does.
  void update(const at::Tensor& parameter, const float* grad, OptimizerStateKeys& keys,
              torch::optim::OptimizerParamState* state) const;

 private:
  torch::optim::Optimizer* optimizer_ = nullptr;
  torch::optim::Adam* adam_ = nullptr;
  torch::optim::SGD* sgd_ = nullptr;
};

}  // namespace vqvae
