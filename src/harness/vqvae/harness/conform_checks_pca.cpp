// Area pca: PCAEncoder/PCADecoder (fix #4) and the legacy LinearGaussianVQVAE (fix #3), on the
// `pca` and `legacy` cases (golden suite and configuration).
#include <vqvae/harness/conform_referee.h>

#include <vqvae/core/checks.h>
#include <vqvae/core/format.h>

#include <ATen/ATen.h>

namespace vqvae::conform {
namespace {

// encode = x·U_k, decode = z·U_kᵀ (float64 from the request's inputs), and the stored expectations.
std::string encode_decode_error(const Judged& j) {
  const at::Tensor U = f64(j.request->dataset("U_k"));
  const at::Tensor encoded = f64(j.request->dataset("x")).matmul(U);
  const at::Tensor decoded = f64(j.request->dataset("z")).matmul(U.t());
  if (std::string why = differs(*j.response, "encoded", encoded, "x·U_k", 1e-5, 1e-5); !why.empty()) return why;
  if (std::string why = differs(*j.response, "decoded", decoded, "z·U_kᵀ", 1e-5, 1e-5); !why.empty()) return why;
  return stored_expectations_differ(j, 1e-5, 1e-5);
}

Check storage(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::pca)) {
    const at::Tensor& U = j.request->dataset("U_k");
    const at::Tensor* e = output(*j.response, "encoder_weight");
    const at::Tensor* d = output(*j.response, "decoder_weight");
    double error = 0;
    if (!e || e->sizes() != U.sizes() || !close(*e, U, 0, 0, error))
      t.fail(j.request->name + ": PCAEncoder.encoder_weight is " + shape_of(e) + ", expected U_k " + shape_string(U));
    else if (!d || d->sizes() != U.sizes() || !close(*d, U, 0, 0, error))
      t.fail(j.request->name + ": PCADecoder.decoder_weight is " + shape_of(d) + ", expected U_k " + shape_string(U));
    else
      t.pass();
  }
  return t.result("PCAEncoder/PCADecoder store U_k as (d, k)", 4, "encoder_weight = decoder_weight = U_k (d, k)");
}

Check pca_values(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::pca)) {
    if (const std::string wrong = encode_decode_error(j); !wrong.empty()) t.fail(j.request->name + ": " + wrong);
    else t.pass();
  }
  return t.result("PCA encode/decode as the goldens say", 4, "encode = x·U_k, decode = z·U_kᵀ (within 1e-05 + 1e-05·|expected|)");
}

Check legacy(const Cases& cases) {
  Tally t;
  for (const Judged& j : cases.of(ConformCaseKind::legacy)) {
    if (status_of(*j.response) == "missing") {
      t.skip("no LinearGaussianVQVAE in this implementation (" + text_attribute(*j.response, "detail") + ")");
      continue;
    }
    if (const std::string why = unusable(j); !why.empty()) { t.fail(why); continue; }
    const at::Tensor& U = j.request->dataset("U_k");
    const at::Tensor* e = output(*j.response, "encoder_weight");
    const at::Tensor* d = output(*j.response, "decoder_weight");
    const std::string wrong = encode_decode_error(j);
    if (!e || e->sizes() != U.sizes())
      t.fail(j.request->name + ": encoder_weight is " + shape_of(e) + ", expected (d, k) = " + shape_string(U));
    else if (!d || d->sizes() != U.t().sizes())
      t.fail(j.request->name + ": decoder_weight is " + shape_of(d) + ", expected (k, d) = " + shape_string(U.t()));
    else if (!wrong.empty())
      t.fail(j.request->name + ": " + wrong);
    else
      t.pass();
  }
  return t.result("legacy model: encoder_weight (d, k) encodes, decoder_weight (k, d) decodes", 3,
                  "encode = x·U_k, decode = z·U_kᵀ with weights of the named shapes");
}

}  // namespace

void judge_pca(const Cases& cases, Verdicts& out) {
  out.checks.push_back(storage(cases));
  out.checks.push_back(pca_values(cases));
  out.checks.push_back(legacy(cases));
}

}  // namespace vqvae::conform
