#include <vqvae/harness/golden_suites.h>

#include <vqvae/harness/conform.h>
#include <vqvae/harness/goldens.h>

namespace vqvae {

std::vector<GoldenSuite> golden_suites() {
  return {{kGoldenFileName, &pca_golden_schema(),
           [](GoldenPrecision precision) { return pca_golden_records(golden_case_specs(), precision); }},
          {kConformGoldenFileName, &conform_golden_schema(), conform_golden_records}};
}

}  // namespace vqvae
