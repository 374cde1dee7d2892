#include <vqvae/training/fused_step.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/decoders/linear.h>
#include <vqvae/encoders/linear.h>
#include <vqvae/math/fused_kernels.h>
#include <vqvae/math/search_kernel.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/quantizers/quantizer_kind.h>
#include <vqvae/training/losses.h>
#include <vqvae/training/optimizer.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/optim/optimizer.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <typeinfo>
#include <vector>

// The step: which tensors play which role (resolve), then forward, loss, backward and the
// optimizer update through the torch-free kernels of math/fused_kernels.h and the update rules
// of training/optimizer.h.
namespace vqvae {
namespace {

// The model's tensors by role; each null or a pointer to the module's member.
enum Role { kEncoderWeight, kEncoderBias, kCodebook, kDecoderWeight, kDecoderBias, kRoles };

struct Plan {
  int64_t B = 0, d = 0, k = 0, n = 0;
  bool encoder_learned = false;  // weight W (k, d) rather than E (d, k)
  QuantizerKind quantizer = QuantizerKind::vq;
  std::array<const at::Tensor*, kRoles> tensors{};
  std::array<bool, kRoles> train{};
  FusedOptimizerUpdate optimizer;
  // The existing optimizer state of each trained tensor (null: created by this step).
  std::array<torch::optim::OptimizerParamState*, kRoles> state{};
};

bool has_shape(const at::Tensor& t, std::initializer_list<int64_t> sizes) {
  return is_float_cpu_contiguous(t) && t.sizes() == at::IntArrayRef(sizes);
}

bool same_storage(const at::Tensor& a, const at::Tensor& b) {
  return a.storage().unsafeGetStorageImpl() == b.storage().unsafeGetStorageImpl();
}

// A tensor that this step may overwrite: reused unless someone else still holds it (or a view
// of it), or its shape changed.
at::Tensor& reusable(at::Tensor& t, at::IntArrayRef sizes, at::ScalarType type) {
  if (!t.defined() || t.use_count() > 1 || t.storage().use_count() > 1 || t.sizes() != sizes)
    t = at::empty(sizes, at::TensorOptions().dtype(type));
  return t;
}

// Fills `plan` from the model, optimizer and batch; nullptr when the fused step applies, else why
// not. Reads only.
const char* resolve(VQVAEImpl& model, torch::optim::Optimizer& optimizer, const at::Tensor& batch,
                    OptimizerStateKeys& keys, Plan& plan) {
  if (!c10::GradMode::is_enabled()) return "gradient mode is off";
  EncoderBase& encoder = *model.encoder();
  DecoderBase& decoder = *model.decoder();
  QuantizerBase& quantizer = *model.quantizer();
  plan.d = encoder.input_dim();
  plan.k = encoder.latent_dim();
  plan.n = quantizer.codebook_size();
  const int64_t d = plan.d, k = plan.k, n = plan.n;

  if (typeid(encoder) == typeid(PCAEncoderImpl)) {
    plan.tensors[kEncoderWeight] = &static_cast<PCAEncoderImpl&>(encoder).encoder_weight;
    if (!has_shape(*plan.tensors[kEncoderWeight], {d, k})) return "encoder weight is not float32 (d, k)";
  } else if (typeid(encoder) == typeid(LearnedLinearEncoderImpl)) {
    auto& learned = static_cast<LearnedLinearEncoderImpl&>(encoder);
    plan.encoder_learned = true;
    plan.tensors[kEncoderWeight] = &learned.weight;
    if (!has_shape(learned.weight, {k, d})) return "encoder weight is not float32 (k, d)";
    if (learned.bias.defined()) {
      plan.tensors[kEncoderBias] = &learned.bias;
      if (!has_shape(learned.bias, {k})) return "encoder bias is not float32 (k)";
    }
  } else {
    return "encoder is not PCAEncoder or LearnedLinearEncoder";
  }

  if (typeid(decoder) == typeid(PCADecoderImpl)) {
    plan.tensors[kDecoderWeight] = &static_cast<PCADecoderImpl&>(decoder).decoder_weight;
  } else if (typeid(decoder) == typeid(LearnedLinearDecoderImpl)) {
    auto& learned = static_cast<LearnedLinearDecoderImpl&>(decoder);
    plan.tensors[kDecoderWeight] = &learned.weight;
    if (learned.bias.defined()) {
      plan.tensors[kDecoderBias] = &learned.bias;
      if (!has_shape(learned.bias, {d})) return "decoder bias is not float32 (d)";
    }
  } else {
    return "decoder is not PCADecoder or LearnedLinearDecoder";
  }
  if (!has_shape(*plan.tensors[kDecoderWeight], {d, k})) return "decoder weight is not float32 (d, k)";

  const std::optional<QuantizerKind> kind = exact_kind(quantizer);
  if (!kind) return "quantizer is not VectorQuantizer, RotationVectorQuantizer or ProjectionVectorQuantizer";
  plan.quantizer = *kind;
  plan.tensors[kCodebook] = &quantizer.codebook;
  if (!has_shape(quantizer.codebook, {n, k})) return "codebook is not float32 (n, k)";

  if (!batch.defined() || batch.dim() != 2 || batch.size(1) != d || batch.size(0) < 1 ||
      batch.scalar_type() != at::kFloat || !batch.device().is_cpu() || batch.requires_grad())
    return "batch is not a float32 CPU (B, d) tensor with B >= 1 (and no gradient)";
  plan.B = batch.size(0);

  // The trained tensors: exactly the optimizer's one parameter group, no two sharing storage.
  if (const char* reason = plan.optimizer.resolve(optimizer)) return reason;
  const torch::optim::OptimizerParamGroup& group = optimizer.param_groups()[0];
  size_t trained = 0;
  for (int role = 0; role < kRoles; ++role) {
    const at::Tensor* t = plan.tensors[role];
    plan.train[role] = t && t->requires_grad();
    if (!plan.train[role]) continue;
    ++trained;
    for (int other = 0; other < role; ++other)
      if (plan.train[other] && same_storage(*plan.tensors[other], *t))
        return "two trained tensors share storage (tied weights)";
  }
  if (trained == 0 || group.params().size() != trained)
    return "optimizer's parameters are not the model's tensors that require grad";
  std::array<bool, kRoles> matched{};
  for (const at::Tensor& p : group.params())
    for (int role = 0; role < kRoles; ++role)
      if (plan.train[role] && plan.tensors[role]->unsafeGetTensorImpl() == p.unsafeGetTensorImpl())
        matched[role] = true;
  for (int role = 0; role < kRoles; ++role)
    if (plan.train[role] && !matched[role])
      return "optimizer's parameters are not the model's tensors that require grad";

  // Existing optimizer state must be float32 buffers of the parameter's shape.
  for (int role = 0; role < kRoles; ++role)
    if (plan.train[role])
      if (const char* reason = plan.optimizer.find_state(*plan.tensors[role], keys, plan.state[role]))
        return reason;
  return nullptr;
}

// p.grad(), allocated when missing (as the first backward() would), as a float buffer to
// overwrite with this step's gradient (backward() after zero_grad() leaves the same values).
float* gradient_buffer(const at::Tensor& p) {
  at::Tensor& grad = p.mutable_grad();
  if (!is_float_cpu_contiguous(grad) || grad.sizes() != p.sizes())
    grad = at::empty_like(p, at::MemoryFormat::Contiguous);
  return grad.data_ptr<float>();
}

}  // namespace

struct FusedStep::State {
  OptimizerStateKeys keys;
  kernels::PackedCodebook packed;  // the codebook, repacked every step into the same storage
  at::Tensor latents;              // (B, k) float32: z
  at::Tensor indices;              // (B) int64
  std::vector<float> Et;           // (k, d) the PCA encoder's E transposed
  std::vector<float> Dt;           // (k, d) the decoder's D transposed
  std::vector<float> q;            // (B, k) c[idx]
  std::vector<float> diff;         // (B, k) q − z
  std::vector<float> r;            // (B, d) x̂ − x, then G = 2 (x̂ − x)/(B d)
  std::vector<float> g;            // (B, k) ∂L/∂z_q = G D
  std::vector<float> gz;           // (B, k) ∂L/∂z
  std::vector<float> acc;          // (k, d) a (d, k) gradient before its transpose
  std::vector<float> block;        // (d, 16) rows of x or G transposed by dot_rows
  std::vector<double> work;        // (3 k) the rotation frame of one row
};

FusedStep::FusedStep() : state_(std::make_unique<State>()) {}
FusedStep::~FusedStep() = default;
FusedStep::FusedStep(FusedStep&&) noexcept = default;
FusedStep& FusedStep::operator=(FusedStep&&) noexcept = default;

const at::Tensor& FusedStep::latents() const { return state_->latents; }
const at::Tensor& FusedStep::indices() const { return state_->indices; }

const char* FusedStep::unsupported(VQVAEImpl& model, torch::optim::Optimizer& optimizer,
                                   const at::Tensor& batch) {
  OptimizerStateKeys keys;
  Plan plan;
  return resolve(model, optimizer, batch, keys, plan);
}

bool FusedStep::step(VQVAEImpl& model, torch::optim::Optimizer& optimizer, const at::Tensor& batch,
                     double beta, LossOutput& loss) {
  if (!(beta >= 0) || !std::isfinite(beta)) return false;  // vqvae_loss's error, via autograd
  State& s = *state_;
  Plan plan;
  if (resolve(model, optimizer, batch, s.keys, plan)) return false;
  const int64_t B = plan.B, d = plan.d, k = plan.k, n = plan.n;
  const auto data = [&](Role role) {
    return plan.tensors[role] ? plan.tensors[role]->data_ptr<float>() : nullptr;
  };
  const at::Tensor x_tensor = batch.contiguous();
  const float* x = x_tensor.data_ptr<float>();
  const float* codebook = data(kCodebook);
  const float* D = data(kDecoderWeight);  // (d, k)

  // ---- forward: z = x E (+ b_e); idx = nearest codeword; x̂ − x = q Dᵀ (+ b_d) − x
  const float* Et = data(kEncoderWeight);  // learned: W (k, d) is already Eᵀ
  if (!plan.encoder_learned) {
    s.Et.resize(static_cast<size_t>(k * d));
    kernels::transpose(Et, d, k, s.Et.data());
    Et = s.Et.data();
  }
  float* z = reusable(s.latents, {B, k}, at::kFloat).data_ptr<float>();
  int64_t* idx = reusable(s.indices, {B}, at::kLong).data_ptr<int64_t>();
  s.block.resize(static_cast<size_t>(d * kernels::kFusedLanes));
  kernels::dot_rows(x, B, d, Et, k, data(kEncoderBias), z, s.block.data());
  kernels::pack_codebook(codebook, n, k, s.packed);
  if (kernels::search_nearest(s.packed, z, B, idx) >= 0) return false;  // nearest_codeword throws

  s.q.resize(static_cast<size_t>(B * k));
  s.diff.resize(static_cast<size_t>(B * k));
  float* q = s.q.data();
  float* diff = s.diff.data();
  for (int64_t i = 0; i < B; ++i)
    for (int64_t t = 0; t < k; ++t) {
      q[i * k + t] = codebook[idx[i] * k + t];
      diff[i * k + t] = q[i * k + t] - z[i * k + t];
    }
  s.Dt.resize(static_cast<size_t>(k * d));
  kernels::transpose(D, d, k, s.Dt.data());
  s.r.resize(static_cast<size_t>(B * d));
  float* r = s.r.data();
  kernels::combine_rows(q, B, k, s.Dt.data(), d, data(kDecoderBias), x, r);

  // ---- the loss, from float64 sums (codebook and commitment terms have the same value)
  const double recon = kernels::sum_squares(r, B * d) / static_cast<double>(B * d);
  const double latent = kernels::sum_squares(diff, B * k) / static_cast<double>(B * k);

  // ---- backward, into each trained tensor's .grad()
  std::array<float*, kRoles> grad{};
  for (int role = 0; role < kRoles; ++role)
    if (plan.train[role]) grad[role] = gradient_buffer(*plan.tensors[role]);
  // mse_loss's backward scales, rounded to float32 as ATen rounds 2 / numel.
  const float recon_scale = static_cast<float>(2.0 / static_cast<double>(B * d));
  const float latent_scale = static_cast<float>(2.0 / static_cast<double>(B * k));

  if (plan.train[kCodebook]) {  // Σ_{i: idx_i = j} 2 (c_j − z_i)/(B k), rows in order
    float* gc = grad[kCodebook];
    std::fill(gc, gc + n * k, 0.0f);
    for (int64_t i = 0; i < B; ++i)
      for (int64_t t = 0; t < k; ++t) gc[idx[i] * k + t] += diff[i * k + t] * latent_scale;
  }
  const bool encoder_trained = plan.train[kEncoderWeight] || plan.train[kEncoderBias];
  const bool decoder_trained = plan.train[kDecoderWeight] || plan.train[kDecoderBias];
  if (encoder_trained || decoder_trained) kernels::scale(r, B * d, recon_scale);  // r is now G
  if (plan.train[kDecoderWeight]) {  // ∂L/∂D (d, k) = Gᵀ q
    s.acc.assign(static_cast<size_t>(k * d), 0.0f);
    kernels::accumulate_outer(q, r, B, k, d, s.acc.data());
    kernels::transpose(s.acc.data(), k, d, grad[kDecoderWeight]);
  }
  if (plan.train[kDecoderBias]) kernels::sum_rows(r, B, d, grad[kDecoderBias]);
  if (encoder_trained) {
    s.g.resize(static_cast<size_t>(B * k));
    s.gz.resize(static_cast<size_t>(B * k));
    float* g = s.g.data();
    float* gz = s.gz.data();
    kernels::dot_rows(r, B, d, s.Dt.data(), k, nullptr, g, s.block.data());  // ∂L/∂z_q = G D
    switch (plan.quantizer) {
      case QuantizerKind::vq:
        std::copy(g, g + B * k, gz);
        break;
      case QuantizerKind::rotation:
        s.work.resize(static_cast<size_t>(3 * k));
        kernels::rotation_gradient(z, q, g, B, k, s.work.data(), gz);
        break;
      case QuantizerKind::projection:
        kernels::projection_gradient(diff, g, B, k, gz);
        break;
    }
    const float beta_f = static_cast<float>(beta);
    for (int64_t i = 0; i < B * k; ++i) gz[i] += (-diff[i] * latent_scale) * beta_f;  // commitment
    if (plan.train[kEncoderWeight]) {
      if (plan.encoder_learned) {  // ∂L/∂W (k, d) = (∂L/∂z)ᵀ x
        std::fill(grad[kEncoderWeight], grad[kEncoderWeight] + k * d, 0.0f);
        kernels::accumulate_outer(gz, x, B, k, d, grad[kEncoderWeight]);
      } else {  // ∂L/∂E (d, k) = xᵀ ∂L/∂z
        s.acc.assign(static_cast<size_t>(k * d), 0.0f);
        kernels::accumulate_outer(gz, x, B, k, d, s.acc.data());
        kernels::transpose(s.acc.data(), k, d, grad[kEncoderWeight]);
      }
    }
    if (plan.train[kEncoderBias]) kernels::sum_rows(gz, B, k, grad[kEncoderBias]);
  }

  // ---- optimizer step
  for (int role = 0; role < kRoles; ++role)
    if (plan.train[role]) plan.optimizer.update(*plan.tensors[role], grad[role], s.keys, plan.state[role]);

  loss.recon = recon;
  loss.codebook = latent;
  loss.commitment = latent;
  loss.total_value = recon + latent + beta * latent;
  loss.total = at::scalar_tensor(loss.total_value, at::TensorOptions().dtype(at::kFloat));
  return true;
}

}  // namespace vqvae
