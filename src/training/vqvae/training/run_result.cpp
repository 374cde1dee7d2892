#include <vqvae/training/run_result.h>

namespace vqvae {

std::vector<std::pair<std::string, std::vector<double>>> history_columns(
    const std::vector<EvalRecord>& history) {
  std::vector<std::pair<std::string, std::vector<double>>> columns;
  for_each_history_field([&](const char* name, auto member) {
    std::vector<double> values;
    values.reserve(history.size());
    for (const EvalRecord& r : history) values.push_back(static_cast<double>(r.*member));
    columns.emplace_back(name, std::move(values));
  });
  return columns;
}

int64_t steps_to_within(const std::vector<EvalRecord>& history, double fraction) {
  if (history.empty()) return 0;
  const double target = (1.0 + fraction) * history.back().distortion;
  for (const EvalRecord& r : history)
    if (r.distortion <= target) return r.step;
  return history.back().step;
}

}  // namespace vqvae
