// `vqvae experiment --json` and `vqvae merge --json`: the numbers of the table and of the HDF5
// file as one JSON object, with the HDF5 file's names (docs/study.md, "JSON"), so that a script
// reads the study without an HDF5 library and finds the same numbers under the same names.
#include <vqvae/experiment/report.h>
#include <vqvae/experiment/sweep_report.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <utility>

namespace vqvae {
namespace {

using Json = nlohmann::ordered_json;

// A number as JSON; NaN and ±inf (a gap to a zero bound, a single pair's interval) as null.
Json number(double value) { return std::isfinite(value) ? Json(value) : Json(); }

Json numbers(const std::vector<double>& values) {
  Json array = Json::array();
  for (const double v : values) array.push_back(number(v));
  return array;
}

// One rate: what write_experiment_group writes under its group, by the same names.
Json experiment_json(const ExperimentResult& r) {
  Json out;
  out["codebook_size"] = r.config.codebook_size;
  out["rate_bits"] = r.bound.rate_bits;
  out["distortion_rate_bound"] = number(r.bound.distortion_rate);
  out["latent_variance"] = r.bound.latent_variance;
  out["eigenvalues"] = numbers(r.bound.eigenvalues);
  out["seeds"] = Json(std::vector<int64_t>(r.seeds.begin(), r.seeds.end()));
  Json runs = Json::object();
  const InitStudy* best = best_init(r);
  for (const InitStudy& s : r.inits) {
    Json init;
    if (!s.note.empty()) init["note"] = s.note;
    if (!s.runs.empty()) {
      const MeanStd d = mean_std(s.final_distortion), t = mean_std(s.test_distortion);
      init["best"] = &s == best;
      init["test_distortion_mean"] = t.mean;
      init["test_distortion_std"] = t.std;
      init["test_gap_db"] = number(gap_db(t.mean, r.bound.distortion_rate));
      init["final_distortion_mean"] = d.mean;
      init["final_distortion_std"] = d.std;
      init["gap_db"] = number(gap_db(d.mean, r.bound.distortion_rate));
      for (const auto& [name, values] : init_columns(s)) init[name] = numbers(*values);
    }
    runs[to_string(s.init)] = init;
  }
  out["runs"] = runs;
  Json paired = Json::object();
  for (const InitComparison& c : compare_inits(r))
    paired[std::string(to_string(c.a)) + "_minus_" + to_string(c.b)] = {
        {"pairs", c.db.pairs},         {"mean_db", number(c.db.mean)}, {"low_db", number(c.db.low)},
        {"high_db", number(c.db.high)}, {"confidence", 0.95},          {"a_lower", c.db.a_lower},
        {"b_lower", c.db.b_lower}};
  out["paired"] = paired;
  if (!r.kmeans_distortion.empty())
    out["kmeans"] = {{"distortion", numbers(r.kmeans_distortion)},
                     {"test_distortion", numbers(r.kmeans_test_distortion)},
                     {"dead_codes", numbers(r.kmeans_dead_codes)}};
  else if (!r.kmeans_skipped.empty())
    out["kmeans"] = {{"skipped", r.kmeans_skipped}};
  return out;
}

}  // namespace

std::string format_sweep_json(const SweepResult& result) {
  Json out;
  out["status"] = to_string(result.status);
  if (!result.stop_reason.empty()) out["stop_reason"] = result.stop_reason;
  out["finished_runs"] = result.finished_runs;
  out["grid_identity"] = grid_identity(result.grid);
  Json sizes = Json::array();
  for (const ExperimentResult& size : result.sizes) sizes.push_back(experiment_json(size));
  out["sizes"] = sizes;
  return out.dump(2);
}

}  // namespace vqvae
