// Area surface: which parts of the baseline's API the implementation has (the `surface` case), one check
// per part (surface.<part>). A required part that is absent fails here, once; the checks that need
// it are skipped by the referee with its name. An optional part that is absent is not applicable,
// and so are the checks that need it (docs/conform_protocol.md, "The surface").
#include <vqvae/conform/detail/referee.h>

#include <vqvae/core/format.h>

#include <ATen/ATen.h>

namespace vqvae::conform {
namespace {

std::string joined_parts() {
  std::vector<std::string> names;
  for (const SurfacePart& part : surface_parts()) names.push_back(part.name);
  return joined(names, ",");
}

Check judge_part(const Cases& cases, const SurfacePart& part) {
  Tally t;
  for (const Judged& j : cases.answered(t, ConformCaseKind::surface)) {
    const at::Tensor* present = output(*j.response, "present");
    const int64_t index = static_cast<int64_t>(&part - surface_parts().data());
    if (!present || present->dim() != 1 || present->size(0) != static_cast<int64_t>(surface_parts().size())) {
      const int64_t parts = static_cast<int64_t>(surface_parts().size());
      t.fail(j, {"present " + shape_of(present) + ", expected one 1/0 per part (" + std::to_string(parts) + ")",
                 shapes(present, {parts}, "present", "one 1/0 per part")});
      continue;
    }
    if (present->to(at::kLong)[index].item<int64_t>() != 0) t.pass();
    else if (part.required) t.fail(part.name + " is not in this implementation (required: BASELINE_FIXES.md and the design contract name it)");
    else t.not_applicable(part.name + " is not in this implementation (" + part.why_optional + ")");
  }
  return t.result(part.required ? "present" : "present (optional)");
}

}  // namespace

GoldenRecord surface_case() {
  return make_record(kSurfaceCaseName, {{"kind", std::string("surface")}, {"parts", joined_parts()}}, {});
}

std::vector<CheckDefinition> surface_checks() {
  std::vector<CheckDefinition> out;
  for (const SurfacePart& part : surface_parts()) {
    const SurfacePart* p = &part;
    out.push_back({"surface." + part.name,
                   part.name + (part.required ? " exists (required)" : " exists (optional: " + part.why_optional + ")"),
                   std::nullopt,
                   {ConformCaseKind::surface},
                   {},
                   [p](const Cases& cases, Findings&) { return judge_part(cases, *p); }});
  }
  return out;
}

}  // namespace vqvae::conform
