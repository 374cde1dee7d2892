#include <vqvae/experiment/result.h>

#include <vqvae/core/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace vqvae {

std::vector<InitKind> all_inits() {
  std::vector<InitKind> inits;
  for (const auto& entry : kInitNames) inits.push_back(entry.value);
  return inits;
}

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd out;
  if (values.empty()) return out;
  for (double v : values) out.mean += v;
  out.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    double sum = 0;
    for (double v : values) sum += (v - out.mean) * (v - out.mean);
    out.std = std::sqrt(sum / static_cast<double>(values.size() - 1));
  }
  return out;
}

std::string format_mean_std(const std::vector<double>& values) {
  const MeanStd d = mean_std(values);
  return format_fixed(d.mean, 3) + " ± " + format_fixed(d.std, 3);
}

namespace {

// a − b in dB of held-out distortion over the seeds both ran (seed s: the same data and held-out
// set for both inits); pairs = 0 when they share none.
PairedDifference paired_db(const InitStudy& a, const InitStudy& b) {
  std::vector<double> a_db, b_db;
  for (size_t x = 0; x < a.seeds.size(); ++x)
    for (size_t y = 0; y < b.seeds.size(); ++y)
      if (a.seeds[x] == b.seeds[y]) {
        a_db.push_back(10 * std::log10(a.test_distortion[x]));
        b_db.push_back(10 * std::log10(b.test_distortion[y]));
      }
  return a_db.empty() ? PairedDifference{} : paired_difference(a_db, b_db);
}

}  // namespace

std::vector<InitComparison> compare_inits(const ExperimentResult& r) {
  std::vector<InitComparison> out;
  for (size_t i = 0; i < r.inits.size(); ++i)
    for (size_t j = i + 1; j < r.inits.size(); ++j) {
      const PairedDifference d = paired_db(r.inits[i], r.inits[j]);
      if (d.pairs > 0) out.push_back({r.inits[i].init, r.inits[j].init, d});
    }
  return out;
}

namespace {

// The inits with runs, by mean held-out distortion, lowest first.
std::vector<const InitStudy*> ranked(const ExperimentResult& r) {
  std::vector<const InitStudy*> out;
  for (const InitStudy& s : r.inits)
    if (!s.runs.empty()) out.push_back(&s);
  std::stable_sort(out.begin(), out.end(), [](const InitStudy* a, const InitStudy* b) {
    return mean_std(a->test_distortion).mean < mean_std(b->test_distortion).mean;
  });
  return out;
}

std::string interval_text(const PairedDifference& d) {
  return format_signed_fixed(d.mean, 2) + " dB [" + format_signed_fixed(d.low, 2) + ", " + format_signed_fixed(d.high, 2) + "]";
}

}  // namespace

const InitStudy* best_init(const ExperimentResult& r) {
  const auto order = ranked(r);
  return order.empty() ? nullptr : order.front();
}

const InitStudy* runner_up(const ExperimentResult& r) {
  const auto order = ranked(r);
  return order.size() < 2 ? nullptr : order[1];
}

double mean_test_standard_error(const ExperimentResult& r) {
  std::vector<double> all;
  for (const InitStudy& s : r.inits) all.insert(all.end(), s.test_distortion_se.begin(), s.test_distortion_se.end());
  return mean_std(all).mean;
}

std::string below_bound(const ExperimentResult& r) {
  std::string out;
  for (const InitStudy& s : r.inits)
    for (size_t i = 0; i < s.runs.size(); ++i)
      if (s.test_distortion[i] < r.bound.distortion_rate - 2 * s.test_distortion_se[i])
        out += (out.empty() ? "" : ", ") + std::string(to_string(s.init)) + " seed " + std::to_string(s.seeds[i]) + " (" +
               format_fixed(s.test_distortion[i], 3) + " ± " + format_fixed(s.test_distortion_se[i], 3) + ")";
  return out;
}

std::string format_comparisons(const ExperimentResult& r, const std::string& indent) {
  const std::vector<const InitStudy*> order = ranked(r);
  if (order.size() < 2) return "";
  const InitStudy* best = order[0];
  std::ostringstream out;
  const int64_t pairs = static_cast<int64_t>(best->seeds.size());
  out << indent << "paired over " << pairs << " seeds (held-out D, other − best, 95 % Student's t interval): best "
      << to_string(best->init) << "\n";
  PairedDifference runner_up_d;  // order[1] − best, the verdict's line
  for (size_t i = 1; i < order.size(); ++i) {
    const PairedDifference d = paired_db(*order[i], *best);
    if (i == 1) runner_up_d = d;
    out << indent << "  " << padded(to_string(order[i]->init), 16) << padded(interval_text(d), 30) << to_string(best->init)
        << " lower in " << d.b_lower << "/" << d.pairs << " seeds" << (d.includes_zero() ? "" : "  *") << "\n";
  }
  const PairedDifference& d = runner_up_d;
  out << indent << "runner-up " << to_string(order[1]->init) << ": "
      << (d.includes_zero() ? "its interval includes 0: these seeds cannot separate it from " + std::string(to_string(best->init))
                            : "its interval excludes 0: " + std::string(to_string(best->init)) + " is lower beyond the seeds' noise")
      << " (* marks an interval that excludes 0)\n";
  return out.str();
}

}  // namespace vqvae
