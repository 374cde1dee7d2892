// Gradient routing (docs/design.md's table) as a property over random models: learned and PCA
// encoders and decoders, each frozen or trainable, any of the three quantizers, codebook frozen
// or trainable.
//
// | loss term  | codebook | encoder params     | decoder params     |
// | recon      | never    | yes, if trainable  | yes, if trainable  |
// | codebook   | yes      | never              | never              |
// | commitment | never    | yes, if trainable  | never              |
//
// Each term's gradient is isolated from the library's own vqvae_loss by linearity, on the real
// tensors of one forward pass (no term is rebuilt here):
//   codebook   = ∇ loss(x_recon detached, β = 0)                       (recon is then constant)
//   commitment = ∇ loss(x_recon detached, β = 1) − ∇ loss(x_recon detached, β = 0)
//   recon      = ∇ loss(x_recon, β = 0) − ∇ loss(x_recon detached, β = 0)
// With one thread the same graph gives the same bits, so a term that does not reach a parameter
// leaves an exact 0 there. "Reaches" is a nonzero gradient: with continuous random data an exact
// zero where the table says yes has probability 0.
#include "generators.h"

#include <vqvae/training/losses.h>

#include <ATen/ATen.h>
#include <rapidcheck/gtest.h>
#include <torch/autograd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace vqvae::props {
namespace {

using Gradients = std::map<std::string, at::Tensor>;  // parameter name -> gradient (float64)

/// ∇ of vqvae_loss(...).total over every parameter of the model; zeros where it does not reach
/// (undefined and zero are the same answer: "no gradient").
Gradients loss_gradients(VQVAE& model, const at::Tensor& x, bool detach_recon, double beta) {
  const VQVAEOutput out = model->forward(x);
  const LossOutput loss = vqvae_loss(x, detach_recon ? out.x_recon.detach() : out.x_recon, out.z,
                                     out.z_q, out.z_q_hard, beta);
  Gradients grads;
  std::vector<std::string> names;
  std::vector<at::Tensor> inputs;
  for (const auto& item : model->named_parameters()) {
    grads[item.key()] = at::zeros_like(item.value(), at::kDouble);
    if (item.value().requires_grad()) {
      names.push_back(item.key());
      inputs.push_back(item.value());
    }
  }
  if (inputs.empty() || !loss.total.requires_grad()) return grads;
  const auto result = torch::autograd::grad({loss.total}, inputs, {}, /*retain_graph=*/false,
                                            /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t i = 0; i < names.size(); ++i)
    if (result[i].defined()) grads[names[i]] = result[i].to(at::kDouble);
  return grads;
}

Gradients minus(const Gradients& a, const Gradients& b) {
  Gradients out;
  for (const auto& [name, g] : a) out[name] = g - b.at(name);
  return out;
}

/// "encoder.weight" -> "encoder".
std::string module_of(const std::string& name) { return name.substr(0, name.find('.')); }

}  // namespace

// Every loss term's gradient reaches exactly the parameters docs/design.md's table names, and is
// exactly zero (or absent) everywhere else; frozen modules hold no parameter that requires grad.
RC_GTEST_PROP(GradientRoutingProperty, EachLossTermReachesExactlyTheTablesParameters, ()) {
  const ModelCase m = *gen_model_case();
  VQVAE model = make_model(m);
  at::Generator gen = make_generator(m.seed + 3);
  const at::Tensor x = at::randn({m.B, m.d}, gen, at::kFloat);

  const std::map<std::string, bool> trainable = {{"encoder", m.encoder_trainable},
                                                 {"quantizer", m.quantizer_trainable},
                                                 {"decoder", m.decoder_trainable}};
  for (const auto& item : model->named_parameters())
    RC_ASSERT(item.value().requires_grad() == trainable.at(module_of(item.key())));

  const Gradients full = loss_gradients(model, x, /*detach_recon=*/false, 0.0);
  const Gradients no_recon = loss_gradients(model, x, /*detach_recon=*/true, 0.0);
  const Gradients no_recon_beta1 = loss_gradients(model, x, /*detach_recon=*/true, 1.0);
  const std::map<std::string, Gradients> terms = {{"recon", minus(full, no_recon)},
                                                  {"codebook", no_recon},
                                                  {"commitment", minus(no_recon_beta1, no_recon)}};
  // The table: which modules each term may reach (when they are trainable).
  const std::map<std::string, std::vector<std::string>> reaches = {
      {"recon", {"encoder", "decoder"}}, {"codebook", {"quantizer"}}, {"commitment", {"encoder"}}};

  for (const auto& [term, grads] : terms) {
    for (const auto& [name, g] : grads) {
      const std::string module = module_of(name);
      const auto& allowed = reaches.at(term);
      const bool expected = trainable.at(module) &&
                            std::find(allowed.begin(), allowed.end(), module) != allowed.end();
      const bool reached = max_abs(g) > 0;
      if (reached != expected) RC_LOG() << term << " -> " << name << ": max |grad| " << max_abs(g) << "\n";
      RC_ASSERT(reached == expected);
    }
  }
}

// The codebook term's gradient is docs/design.md's closed form: 2(c_j − z_i)/(B·k) summed over
// the z_i assigned to c_j (the derivative of mean((c_idx − sg z)²)); unassigned rows get exactly 0.
RC_GTEST_PROP(GradientRoutingProperty, CodebookGradientIsTheKMeansStep, ()) {
  ModelCase m = *gen_model_case();
  m.quantizer_trainable = true;
  VQVAE model = make_model(m);
  at::Generator gen = make_generator(m.seed + 3);
  const at::Tensor x = at::randn({m.B, m.d}, gen, at::kFloat);

  const VQVAEOutput out = model->forward(x);
  const LossOutput loss =
      vqvae_loss(x, out.x_recon.detach(), out.z, out.z_q, out.z_q_hard, /*beta=*/0.0);
  const at::Tensor& codebook = model->quantizer()->codebook;
  const at::Tensor grad = torch::autograd::grad({loss.total}, {codebook})[0].to(at::kDouble);

  const at::Tensor z = out.z.detach().to(at::kDouble);
  const at::Tensor c = codebook.detach().to(at::kDouble);
  const at::Tensor per_row = 2 * (c.index_select(0, out.indices) - z) / static_cast<double>(m.B * m.k);
  const at::Tensor expected = at::zeros_like(c).index_add_(0, out.indices, per_row);
  // float32 arithmetic in the library: a few roundings of numbers of size |c| + |z|.
  const double scale = (c.abs().max().item<double>() + z.abs().max().item<double>()) * 2 /
                       static_cast<double>(m.B * m.k) * static_cast<double>(m.B);
  RC_ASSERT(max_abs_diff(grad, expected) <= 1e-5 * scale);
  const at::Tensor assigned = at::zeros({m.n}, at::kBool).index_fill_(0, out.indices, true);
  RC_ASSERT(max_abs(grad.index_select(0, (~assigned).nonzero().reshape(-1))) == 0.0);
}

}  // namespace vqvae::props
