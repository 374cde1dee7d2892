#include <vqvae/training/trainer.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/training/fused_step.h>

#include <torch/optim/optimizer.h>
#include <torch/serialize.h>

#include <cmath>
#include <cstdio>
#include <exception>

namespace vqvae {

LossOutput default_vqvae_loss(const at::Tensor& x, const VQVAEOutput& out, double beta) {
  return vqvae_loss(x, out.x_recon, out.z, out.z_q, out.z_q_hard /* fix #1 */, beta);
}

Trainer::Trainer(VQVAE model, const TrainerOptions& options)
    : model_(std::move(model)), options_(options) {
  if (!model_) throw_invalid_argument("Trainer", "model must not be null, got null");
  if (!(options.lr() > 0) || !std::isfinite(options.lr()))
    throw_invalid_argument("Trainer", "lr must be finite and > 0, got " + std::to_string(options.lr()));
  std::vector<at::Tensor> trainable;
  for (const auto& parameter : model_->parameters())
    if (parameter.requires_grad()) trainable.push_back(parameter);
  if (trainable.empty())
    throw_invalid_argument("Trainer", "model must have at least one trainable parameter, got 0 "
                                      "(encoder, codebook and decoder all frozen)");
  optimizer_ = make_optimizer(options.optimizer(), std::move(trainable), options.lr(), options.momentum());
  fused_ = std::make_unique<FusedStep>();
}

Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;

const at::Tensor& Trainer::last_latents() const {
  return last_step_fused_ ? fused_->latents() : last_latents_;
}

const at::Tensor& Trainer::last_indices() const {
  return last_step_fused_ ? fused_->indices() : last_indices_;
}

LossOutput Trainer::train_step(const at::Tensor& batch, double beta) {
  model_->train();
  if (options_.fused_step() && !options_.loss()) {
    LossOutput loss;
    if (fused_->step(*model_, *optimizer_, batch, beta, loss)) {
      last_step_fused_ = true;
      last_latents_ = at::Tensor();
      last_indices_ = at::Tensor();
      return loss;
    }
  }
  last_step_fused_ = false;
  const VQVAEOutput out = model_->forward(batch);
  last_latents_ = out.z.detach();
  last_indices_ = out.indices;
  LossOutput loss = options_.loss() ? options_.loss()(batch, out, beta)
                                    : default_vqvae_loss(batch, out, beta);
  if (!loss.total.requires_grad())
    throw_invalid_argument("Trainer::train_step",
                           "loss must depend on a trainable parameter, got a loss with no "
                           "gradient path (check which modules are frozen)");
  optimizer_->zero_grad();
  loss.total.backward();
  optimizer_->step();
  return loss;
}

void Trainer::save_checkpoint(const std::string& path) const {
  torch::serialize::OutputArchive checkpoint, model_state, optimizer_state;
  model_->save(model_state);
  optimizer_->save(optimizer_state);
  checkpoint.write("model_state_dict", model_state);
  checkpoint.write("optimizer_state_dict", optimizer_state);
  const std::string temporary = path + ".tmp";
  try {
    checkpoint.save_to(temporary);
  } catch (const std::exception& e) {
    std::remove(temporary.c_str());
    const std::string what = e.what();
    throw_invalid_argument("save_checkpoint", "cannot write '" + path + "': " + what.substr(0, what.find('\n')));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw_invalid_argument("save_checkpoint", "cannot write '" + path + "' (rename failed)");
  }
}

void Trainer::load_checkpoint(const std::string& path) {
  try {
    torch::serialize::InputArchive checkpoint, model_state, optimizer_state;
    checkpoint.load_from(path);
    checkpoint.read("model_state_dict", model_state);
    checkpoint.read("optimizer_state_dict", optimizer_state);
    model_->load(model_state);
    optimizer_->load(optimizer_state);
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw_invalid_argument("load_checkpoint", "'" + path + "': " + what.substr(0, what.find('\n')));
  }
}

}  // namespace vqvae
