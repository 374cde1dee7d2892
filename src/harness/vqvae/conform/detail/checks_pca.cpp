// Area pca: PCAEncoder/PCADecoder (fix #4) and the legacy LinearGaussianVQVAE (fix #3, optional),
// on the `pca` and `legacy` cases (golden suite and configuration): each module's storage and each
// direction apart.
#include <vqvae/conform/detail/referee.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>

#include <ATen/ATen.h>

namespace vqvae::conform {
namespace {

// encoded = x·U_k or decoded = z·U_kᵀ (float64 from the request's inputs), and the stored
// expectation of that output where the golden file has one.
Failure value_error(const Judged& j, bool encode) {
  const at::Tensor U = f64(j.request->dataset("U_k"));
  const char* name = encode ? "encoded" : "decoded";
  const at::Tensor expected = encode ? f64(j.request->dataset("x")).matmul(U) : f64(j.request->dataset("z")).matmul(U.t());
  if (Failure why = differs(*j.response, name, expected, encode ? "x·U_k" : "z·U_kᵀ", 1e-5, 1e-5); !why.empty())
    return why;
  return j.expected.count(name) ? differs(*j.response, name, j.expected.at(name), "the stored expectation", 1e-5, 1e-5)
                                : Failure();
}

// PCAEncoder.encoder_weight (encoder) or PCADecoder.decoder_weight stores U_k as (d, k) (fix #4).
Check storage(const Cases& cases, bool encoder) {
  Tally t;
  const char* weight = encoder ? "encoder_weight" : "decoder_weight";
  for (const Judged& j : cases.answered(t, ConformCaseKind::pca)) {
    const at::Tensor& U = j.request->dataset("U_k");
    const at::Tensor* w = output(*j.response, weight);
    const std::optional<Discrepancy> numbers = w ? compare(*w, U, 0, 0, weight, "U_k") : std::nullopt;
    if (!w || numbers)
      t.fail(j, {std::string(encoder ? "PCAEncoder." : "PCADecoder.") + weight + " is " + shape_of(w) +
                     (w && w->sizes() == U.sizes() ? " and differs from U_k" : "") + ", expected U_k " + shape_string(U),
                 numbers});
    else t.pass();
  }
  return t.result(std::string(weight) + " = U_k (d, k)");
}

Check pca_value(const Cases& cases, bool encode) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::pca)) {
    if (const Failure wrong = value_error(j, encode); !wrong.empty()) t.fail(j, wrong);
    else t.pass();
  }
  return t.result(encode ? "encode = x·U_k (within 1e-05 + 1e-05·|expected|)" : "decode = z·U_kᵀ (within 1e-05 + 1e-05·|expected|)");
}

// The legacy model (fix #3): its buffers' shapes, and what encode and decode compute.
enum class LegacyProperty { weight_shapes, encode, decode };

Check legacy(const Cases& cases, LegacyProperty property) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::legacy)) {
    const at::Tensor& U = j.request->dataset("U_k");
    const at::Tensor* e = output(*j.response, "encoder_weight");
    const at::Tensor* d = output(*j.response, "decoder_weight");
    Failure wrong;
    if (property == LegacyProperty::weight_shapes) {
      if (!e || e->sizes() != U.sizes())
        wrong = {"encoder_weight is " + shape_of(e) + ", expected (d, k) = " + shape_string(U),
                 shapes(e, U.sizes().vec(), "encoder_weight", "(d, k)")};
      else if (!d || d->sizes() != U.t().sizes())
        wrong = {"decoder_weight is " + shape_of(d) + ", expected (k, d) = " + shape_string(U.t()),
                 shapes(d, U.t().sizes().vec(), "decoder_weight", "(k, d)")};
    } else {
      wrong = value_error(j, property == LegacyProperty::encode);
    }
    if (!wrong.empty()) t.fail(j, wrong);
    else t.pass();
  }
  switch (property) {
    case LegacyProperty::weight_shapes: return t.result("encoder_weight (d, k), decoder_weight (k, d)");
    case LegacyProperty::encode: return t.result("encode = x·U_k");
    case LegacyProperty::decode: return t.result("decode = z·U_kᵀ");
  }
  return t.result("");
}

}  // namespace

std::vector<CheckDefinition> pca_checks() {
  const std::vector<ConformCaseKind> pca{ConformCaseKind::pca}, old{ConformCaseKind::legacy};
  const std::vector<std::string> encoder{"PCAEncoder"}, decoder{"PCADecoder"}, model{"LinearGaussianVQVAE"};
  return {
      {"pca.encoder.stores_U_k", "PCAEncoder stores U_k as (d, k)", 4, pca, encoder,
       [](const Cases& c, Findings&) { return storage(c, true); }},
      {"pca.decoder.stores_U_k", "PCADecoder stores U_k as (d, k)", 4, pca, decoder,
       [](const Cases& c, Findings&) { return storage(c, false); }},
      {"pca.encoder.encode", "PCAEncoder(U_k)(x) = x·U_k, as the goldens say", 4, pca, encoder,
       [](const Cases& c, Findings&) { return pca_value(c, true); }},
      {"pca.decoder.decode", "PCADecoder(U_k)(z) = z·U_kᵀ, as the goldens say", 4, pca, decoder,
       [](const Cases& c, Findings&) { return pca_value(c, false); }},
      {"pca.legacy.weight_shapes", "legacy model: encoder_weight is (d, k), decoder_weight (k, d)", 3, old, model,
       [](const Cases& c, Findings&) { return legacy(c, LegacyProperty::weight_shapes); }},
      {"pca.legacy.encode", "legacy model: encode(x) = x·U_k (encoder_weight encodes)", 3, old, model,
       [](const Cases& c, Findings&) { return legacy(c, LegacyProperty::encode); }},
      {"pca.legacy.decode", "legacy model: decode(z) = z·U_kᵀ (decoder_weight decodes)", 3, old, model,
       [](const Cases& c, Findings&) { return legacy(c, LegacyProperty::decode); }},
  };
}

}  // namespace vqvae::conform
