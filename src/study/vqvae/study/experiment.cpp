#include <vqvae/study/experiment.h>

#include <vqvae/core/format.h>
#include <vqvae/evaluation/metrics.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/io/provenance.h>
#include <vqvae/study/factory.h>
#include <vqvae/study/gnuplot.h>
#include <vqvae/study/sweep_report.h>
#include <vqvae/study/sweep_shard.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <memory>
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

ExperimentResult run_experiment(const RunConfig& config, const ExperimentOptions& options) {
  check_config(config);
  // A sweep of one rate, in this process: the same cells, in the same order, as a sweep's.
  SweepGrid grid{config, {config.codebook_size}, options};
  grid.options.on_run = nullptr;
  check_grid(grid);
  const GaussianDataset dataset = make_dataset(config);
  CellProgress progress = nullptr;
  if (options.on_run)
    progress = [&](const CellResult& cell, bool) {
      if (cell.cell.kind == CellKind::training && cell.skipped.empty())
        options.on_run(cell.cell.init, cell.cell.seed, cell.run.summary);
    };
  const ShardRun run = run_shard(grid, ShardSpec{}, "", dataset, progress);
  SweepResult sweep = assemble_sweep(grid, run.cells, dataset, run.status, run.stop_reason);
  ExperimentResult result = std::move(sweep.sizes.front());
  if (result.status == RunStatus::diverged) {
    const std::string message = result.stop_reason;
    throw ExperimentDiverged(message, std::make_shared<const ExperimentResult>(std::move(result)));
  }
  return result;
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

std::string format_experiment_table(const ExperimentResult& r) {
  const RunConfig& c = r.config;
  const double bound = r.bound.distortion_rate;
  std::ostringstream out;
  out << "R(D)-initialisation study: d=" << c.d << " k=" << c.k << " n=" << c.n << " (held out: " << c.n_test << ")"
      << " sigma=" << format_significant(c.sigma_noise) << ", " << c.codebook_size
      << " codewords (R = " << format_fixed(r.bound.rate_bits, 2) << " bits), " << to_string(c.quantizer)
      << ", " << to_string(c.optimizer) << " lr " << format_significant(c.lr) << ", batch " << c.batch_size << ", "
      << r.total_steps << " steps, " << r.seeds.size() << " seeds\n";
  out << "latent variance " << format_fixed(r.bound.latent_variance, 3) << ", D(R) = " << format_fixed(bound, 3)
      << (r.revive_dead_codes ? ", dead-code revival on (window " + std::to_string(r.revival_window) + " steps)"
                              : "")
      << "\n\n";
  const std::vector<size_t> w = {32, 18, 13, 18, 14, 15};
  std::string header = padded("init", w[0]) + padded("D test", w[1]) + padded("gap to D(R)", w[2]) +
                       padded("D train", w[3]) + padded("dead te/tr", w[4]) + padded("steps to 10%", w[5]) +
                       (r.revive_dead_codes ? "revived" : "");
  header.erase(header.find_last_not_of(' ') + 1);
  out << header << "\n";
  const auto row = [&](const std::string& name, const std::vector<double>& test, const std::vector<double>& train,
                       const std::string& dead, const std::string& steps, const std::string& revived) {
    std::string line = padded(name, w[0]) + padded(format_mean_std(test), w[1]) +
                       padded(format_signed_fixed(gap_db(mean_std(test).mean, bound), 2) + " dB", w[2]) +
                       padded(format_mean_std(train), w[3]) + padded(dead, w[4]) + padded(steps, w[5]) + revived;
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  };
  const auto dead_pair = [](const std::vector<double>& test, const std::vector<double>& train) {
    return format_fixed(mean_std(test).mean, 1) + "/" + format_fixed(mean_std(train).mean, 1);
  };
  const InitStudy* best = best_init(r);
  for (const InitStudy& s : r.inits) {
    if (s.runs.empty()) out << padded(to_string(s.init), w[0]) << s.note << "\n";
    else row(std::string(to_string(s.init)) + (&s == best ? " (best)" : ""), s.test_distortion, s.final_distortion,
             dead_pair(s.test_dead_codes, s.dead_codes), format_fixed(mean_std(s.steps_to_within_10_percent).mean, 0),
             r.revive_dead_codes ? format_fixed(mean_std(s.revived).mean, 1) : "");
  }
  out << "reference rows (no gradient training):\n";
  for (const InitStudy& s : r.inits) {
    if (s.runs.empty()) continue;
    std::vector<double> initial_dead;
    for (const auto& run : s.runs) initial_dead.push_back(static_cast<double>(run.history.front().dead_codes));
    std::vector<double> initial_test_dead;
    for (const auto& run : s.runs) initial_test_dead.push_back(static_cast<double>(run.history.front().test_dead_codes));
    row(std::string(to_string(s.init)) + ", initial codebook", s.initial_test_distortion, s.initial_distortion,
        dead_pair(initial_test_dead, initial_dead), "-", "");
  }
  if (r.kmeans_skipped.empty()) row("k-means (Lloyd, k-means++)", r.kmeans_test_distortion, r.kmeans_distortion, "-/" +
                                    format_fixed(mean_std(r.kmeans_dead_codes).mean, 1), "-", "");
  else out << padded("k-means (Lloyd, k-means++)", w[0]) << r.kmeans_skipped << "\n";
  out << padded("D(R) bound", w[0]) << padded(format_fixed(bound, 3), w[1]) << "+0.00 dB\n";
  if (best) {
    const std::string below = below_bound(r);
    const double se = mean_test_standard_error(r);
    out << "held-out set: " << c.n_test << " samples; standard error of one run's D test ≈ "
        << format_significant(se, 2) << " (" << format_signed_fixed(10 * std::log10(1 + 2 * se / bound), 2) << " dB at 2 SE); "
        << (below.empty() ? "every run's D test is at or above D(R) within 2 SE"
                          : "BELOW D(R) by more than 2 SE, which no code can be: " + below + " (something is wrong)")
        << "\n";
  }
  out << format_comparisons(r, "");
  std::vector<std::string> notes;  // once each: like-for-like cells give every init the same note
  for (const InitStudy& s : r.inits)
    if (!s.runs.empty() && !s.note.empty() && std::find(notes.begin(), notes.end(), s.note) == notes.end())
      notes.push_back(s.note);
  for (const std::string& note : notes) out << "note: " << note << "\n";
  return out.str();
}

void write_experiment_group(Hdf5Writer& file, const std::string& group, const ExperimentResult& r) {
  const auto at = [&](const std::string& name) { return group == "/" ? name : group + "/" + name; };
  if (group != "/") file.create_group(group);
  file.create_group(at("runs"));
  for (const InitStudy& s : r.inits) {
    const std::string base = at(std::string("runs/") + to_string(s.init));
    file.create_group(base);
    if (!s.note.empty()) file.write_attribute(base, "note", s.note);
    if (s.runs.empty()) continue;  // skipped: the note says why
    file.write_tensor(base + "/initial_distortion", at::tensor(s.initial_distortion, at::kDouble));
    file.write_tensor(base + "/initial_test_distortion", at::tensor(s.initial_test_distortion, at::kDouble));
    file.write_tensor(base + "/final_distortion", at::tensor(s.final_distortion, at::kDouble));
    file.write_tensor(base + "/test_distortion", at::tensor(s.test_distortion, at::kDouble));
    file.write_tensor(base + "/test_distortion_se", at::tensor(s.test_distortion_se, at::kDouble));
    file.write_tensor(base + "/test_dead_codes", at::tensor(s.test_dead_codes, at::kDouble));
    file.write_tensor(base + "/test_perplexity", at::tensor(s.test_perplexity, at::kDouble));
    file.write_tensor(base + "/dead_codes", at::tensor(s.dead_codes, at::kDouble));
    file.write_tensor(base + "/steps_to_within_10_percent", at::tensor(s.steps_to_within_10_percent, at::kDouble));
    file.write_tensor(base + "/revived", at::tensor(s.revived, at::kDouble));
    file.write_tensor(base + "/steps", at::tensor(s.steps, at::kDouble));
    file.write_tensor(base + "/mean_distortion", at::tensor(s.mean_distortion, at::kDouble));
    file.write_tensor(base + "/mean_test_distortion", at::tensor(s.mean_test_distortion, at::kDouble));
    const MeanStd d = mean_std(s.final_distortion), t = mean_std(s.test_distortion);
    file.write_attribute(base, "final_distortion_mean", d.mean);
    file.write_attribute(base, "final_distortion_std", d.std);
    file.write_attribute(base, "gap_db", gap_db(d.mean, r.bound.distortion_rate));
    file.write_attribute(base, "test_distortion_mean", t.mean);
    file.write_attribute(base, "test_distortion_std", t.std);
    file.write_attribute(base, "test_gap_db", gap_db(t.mean, r.bound.distortion_rate));
    for (size_t i = 0; i < s.runs.size(); ++i) {
      const std::string run = base + "/seed_" + std::to_string(s.seeds[i]);
      write_run_group(file, run, s.runs[i]);
      file.write_attribute(run, "seed", static_cast<int64_t>(s.seeds[i]));
    }
  }
  // Paired comparisons of the held-out distortion (dB) over the shared seeds, every pair.
  const std::vector<InitComparison> comparisons = compare_inits(r);
  if (!comparisons.empty()) {
    file.create_group(at("paired"));
    for (const InitComparison& c : comparisons) {
      const std::string name = at(std::string("paired/") + to_string(c.a) + "_minus_" + to_string(c.b));
      file.create_group(name);
      file.write_attribute(name, "pairs", c.db.pairs);
      file.write_attribute(name, "mean_db", c.db.mean);
      file.write_attribute(name, "low_db", c.db.low);
      file.write_attribute(name, "high_db", c.db.high);
      file.write_attribute(name, "confidence", 0.95);
      file.write_attribute(name, "a_lower", c.db.a_lower);
      file.write_attribute(name, "b_lower", c.db.b_lower);
    }
    if (const InitStudy* best = best_init(r)) file.write_attribute(at("paired"), "best", std::string(to_string(best->init)));
    if (const InitStudy* second = runner_up(r)) file.write_attribute(at("paired"), "runner_up", std::string(to_string(second->init)));
  }
  if (!r.kmeans_distortion.empty()) {  // none when the study stopped early
    file.create_group(at("kmeans"));
    file.write_tensor(at("kmeans/distortion"), at::tensor(r.kmeans_distortion, at::kDouble));
    file.write_tensor(at("kmeans/test_distortion"), at::tensor(r.kmeans_test_distortion, at::kDouble));
    file.write_tensor(at("kmeans/dead_codes"), at::tensor(r.kmeans_dead_codes, at::kDouble));
    file.write_attribute(at("kmeans"), "max_iter", r.kmeans_max_iter);
    file.write_attribute(at("kmeans"), "n_init", r.kmeans_n_init);
  } else if (!r.kmeans_skipped.empty()) {
    file.create_group(at("kmeans"));
    file.write_attribute(at("kmeans"), "skipped", r.kmeans_skipped);
  }
  file.write_tensor(at("eigenvalues"), at::tensor(r.bound.eigenvalues, at::kDouble));
  file.write_tensor(at("seeds"), at::tensor(std::vector<int64_t>(r.seeds.begin(), r.seeds.end()), at::kLong));
  file.write_attribute(group, "distortion_rate_bound", r.bound.distortion_rate);
  file.write_attribute(group, "latent_variance", r.bound.latent_variance);
  file.write_attribute(group, "rate_bits", r.bound.rate_bits);
}

void write_experiment_root(Hdf5Writer& file, const ExperimentResult& r, const std::string& command,
                           const std::string& codebook_sizes) {
  write_config_attributes(file, r.config, codebook_sizes.empty() ? "" : "codebook_size");
  if (!codebook_sizes.empty()) file.write_attribute("/", "codebook_size", codebook_sizes);
  std::string inits;
  for (const InitStudy& s : r.inits) inits += (inits.empty() ? "" : ",") + std::string(to_string(s.init));
  file.write_attribute("/", "inits", inits);
  file.write_attribute("/", "total_steps", r.total_steps);
  file.write_attribute("/", "eval_every", r.eval_every);
  file.write_attribute("/", "revive_dead_codes", static_cast<int64_t>(r.revive_dead_codes));
  file.write_attribute("/", "revival_window", r.revival_window);
  file.write_attribute("/", "status", std::string(to_string(r.status)));
  file.write_attribute("/", "finished_runs", r.finished_runs);
  if (r.status == RunStatus::diverged) file.write_attribute("/", "diverged_reason", r.stop_reason);
  if (!r.grid_json.empty()) {
    file.write_attribute("/", "grid", r.grid_json);
    file.write_attribute("/", "grid_identity", json_identity(r.grid_json));
  }
  write_provenance(file, command);
}

void write_experiment_hdf5(const std::string& path, const ExperimentResult& r, const std::string& command) {
  Hdf5Writer file(path);
  write_experiment_group(file, "/", r);
  write_experiment_root(file, r, command);
  file.commit();
}

std::string plot_experiment(const std::string& path, const ExperimentResult& r) {
  std::vector<const InitStudy*> plotted;  // an init skipped at this size has no curve
  for (const InitStudy& s : r.inits)
    if (!s.runs.empty()) plotted.push_back(&s);
  if (plotted.empty()) return "nothing to plot";
  return draw_with_gnuplot(path, 800, 500, [&](const std::string& folder) {
    const std::string data = folder + "/distortion.dat";
    {
      std::ofstream out(data);
      out << "# step";
      for (const InitStudy* s : plotted) out << " " << to_string(s->init);
      out << "\n" << std::setprecision(10);
      for (size_t e = 0; e < plotted.front()->steps.size(); ++e) {
        out << plotted.front()->steps[e];
        for (const InitStudy* s : plotted) out << " " << s->mean_test_distortion[e];
        out << "\n";
      }
    }
    std::ostringstream out;
    out << "set title 'Held-out distortion vs step (mean of " << r.seeds.size() << " seeds, " << r.config.n_test
        << " held-out samples), " << r.config.codebook_size << " codewords, k = " << r.config.k << "'\n";
    out << "set xlabel 'training step'\nset ylabel 'D test = mean ||z - z_q_hard||^2 (log scale)'\n";
    out << "set logscale y\nset grid\nset key top right\n";
    out << std::setprecision(10);
    out << "set yrange [" << 0.8 * r.bound.distortion_rate << ":*]\n";
    out << "plot ";
    for (size_t i = 0; i < plotted.size(); ++i)
      out << gnuplot_quoted(data) << " using 1:" << i + 2 << " with lines lw 2 lc rgb '" << kPlotColours[i % 6]
          << "' title " << gnuplot_quoted(to_string(plotted[i]->init)) << ", ";
    if (!r.kmeans_test_distortion.empty())
      out << mean_std(r.kmeans_test_distortion).mean << " with lines dt 3 lc rgb 'black' title 'k-means (no training)', ";
    out << r.bound.distortion_rate << " with lines dt 2 lw 2 lc rgb 'red' title 'D(R)'\n";
    return out.str();
  });
}

}  // namespace vqvae
