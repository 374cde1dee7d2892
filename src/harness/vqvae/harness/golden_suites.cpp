#include <vqvae/harness/golden_suites.h>

#include <vqvae/harness/conform.h>
#include <vqvae/harness/goldens.h>

namespace vqvae {

std::vector<GoldenSuite> golden_suites() {
  return {{kGoldenFileName, &pca_golden_schema(),
           [] {
             std::vector<GoldenRecord> records;
             for (const auto& spec : golden_case_specs()) records.push_back(compute_golden_case(spec).record());
             return records;
           }},
          {kConformGoldenFileName, &conform_golden_schema(), conform_golden_records}};
}

}  // namespace vqvae
