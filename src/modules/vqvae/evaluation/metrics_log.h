// The logging path of the baseline's MetricsTracker (src/evaluation: update, get_final_metrics,
// save, load), through which every reported number passes: one row per update, one column per
// key. A key not logged at an update is empty in that row; a key first logged at a later step is
// empty in the rows before. Files are the caller's (to_csv / from_csv are text): the layers that
// write files sit above this one.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vqvae {

/// Example:
/// ```
/// vqvae::MetricsLog log;
/// log.update(0, {{"loss", 4.2}});
/// log.update(100, {{"loss", 3.1}, {"eval_D", 15.6}});   // eval_D empty at step 0
/// log.final_metrics();                                   // {loss: 3.1, eval_D: 15.6}
/// const std::string csv = log.to_csv();                  // step,loss,eval_D
/// ```
class MetricsLog {
 public:
  /// Appends one row: `step` and the given keys' values (finite or not; NaN reads back as "not
  /// logged"). Throws InvalidArgument for an empty key, one named "step", or a key given twice.
  void update(int64_t step, const std::vector<std::pair<std::string, double>>& values);

  /// Each key's last logged value: a key logged only sometimes keeps its last one.
  std::map<std::string, double> final_metrics() const;

  /// The keys, in the order they were first logged.
  const std::vector<std::string>& keys() const { return keys_; }
  /// The step of each row.
  const std::vector<int64_t>& steps() const { return steps_; }
  /// The key's value at each row, NaN where it was not logged (all NaN for an unknown key).
  std::vector<double> column(const std::string& key) const;

  /// CSV: the header `step,KEY...`, one line per row, values at 17 significant digits (they read
  /// back exactly), empty where not logged.
  std::string to_csv() const;
  /// The log to_csv wrote (or any CSV with a `step` column and numeric or empty cells). Throws
  /// InvalidArgument naming `source` and the line for a malformed text.
  static MetricsLog from_csv(const std::string& text, const std::string& source);

 private:
  std::vector<std::string> keys_;
  std::vector<int64_t> steps_;
  std::vector<std::vector<double>> rows_;  // rows_[row][key index]; NaN: not logged
};

}  // namespace vqvae
