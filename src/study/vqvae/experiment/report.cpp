#include <vqvae/experiment/report.h>

#include <vqvae/core/format.h>
#include <vqvae/evaluation/metrics.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/io/provenance.h>
#include <vqvae/experiment/gnuplot.h>
#include <vqvae/experiment/sweep_grid.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <utility>
#include <vector>

namespace vqvae {

std::string format_table_legend(bool steps_column, bool revived_column) {
  std::string legend =
      "columns:\n"
      "  D test        distortion on the held-out set at the end: mean ± standard deviation over the seeds (a "
      "spread between runs, not the error of the mean)\n"
      "  gap to D(R)   10 log10(mean D test / D(R)), D(R) the Gaussian bound at this rate: 0 dB is Shannon's "
      "limit, no code goes below it\n"
      "  D train       the same on the training set\n"
      "  dead te/tr    codewords that no held-out / no training sample chose at the end, mean over the seeds\n";
  if (steps_column)
    legend += "  steps to 10%  the first evaluated step whose training D was within 10 % of that run's own final "
              "D (not of D(R)), mean over the seeds\n";
  if (revived_column) legend += "  revived       dead codewords re-seeded during training, mean over the seeds\n";
  return legend;
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
  out << format_table_legend(true, r.revive_dead_codes);
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

std::vector<std::pair<const char*, const std::vector<double>*>> init_columns(const InitStudy& s) {
  return {{"initial_distortion", &s.initial_distortion},
          {"initial_test_distortion", &s.initial_test_distortion},
          {"final_distortion", &s.final_distortion},
          {"test_distortion", &s.test_distortion},
          {"test_distortion_se", &s.test_distortion_se},
          {"test_dead_codes", &s.test_dead_codes},
          {"test_perplexity", &s.test_perplexity},
          {"dead_codes", &s.dead_codes},
          {"steps_to_within_10_percent", &s.steps_to_within_10_percent},
          {"revived", &s.revived},
          {"steps", &s.steps},
          {"mean_distortion", &s.mean_distortion},
          {"mean_test_distortion", &s.mean_test_distortion}};
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
    const auto columns = init_columns(s);  // one float64 dataset each
    for (const auto& [name, values] : columns)
      file.write_tensor(base + "/" + name, at::tensor(*values, at::kDouble));
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

InitPlotStyle init_plot_style(InitKind init) {
  switch (init) {
    case InitKind::uniform: return {"#999999", 4};        // grey, open square
    case InitKind::random_normal: return {"#009e73", 8};  // green, open triangle
    case InitKind::kmeans: return {"#0072b2", 6};         // blue, open circle
    case InitKind::rd_gaussian: return {"#cc79a7", 12};   // reddish purple, open diamond
    default: return {"#d55e00", 7};                       // rd_waterfill: vermillion, filled circle
  }
}

std::string gnuplot_log_y_axis(double low, double high) {
  if (!(low > 0) || !(high >= low)) return "set logscale y\n";
  const double bottom = low / 1.1, top = high * 1.1;
  // Labelled ticks: the mantissas that give at least 4 labels inside the range.
  const std::vector<std::vector<double>> mantissas = {
      {1, 2, 5}, {1, 1.5, 2, 3, 5, 7}, {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9}};
  std::vector<double> ticks;
  for (const std::vector<double>& set : mantissas) {
    ticks.clear();
    for (int e = static_cast<int>(std::floor(std::log10(bottom))); e <= static_cast<int>(std::ceil(std::log10(top))); ++e)
      for (const double m : set) {
        const double v = m * std::pow(10.0, e);
        if (v >= bottom && v <= top) ticks.push_back(v);
      }
    if (ticks.size() >= 4) break;
  }
  std::ostringstream out;
  out << std::setprecision(10) << "set logscale y\nset yrange [" << bottom << ":" << top << "]\nset ytics (";
  for (size_t i = 0; i < ticks.size(); ++i) out << (i ? ", " : "") << "'" << format_significant(ticks[i], 3) << "' " << ticks[i];
  out << ")\nset mytics 10\nset grid ytics mytics lc rgb '#e0e0e0', lc rgb '#f4f4f4'\n";
  return out.str();
}

std::string plot_experiment(const std::string& path, const ExperimentResult& r) {
  std::vector<const InitStudy*> plotted;  // an init skipped at this size has no curve
  for (const InitStudy& s : r.inits)
    if (!s.runs.empty()) plotted.push_back(&s);
  if (plotted.empty()) return "nothing to plot";
  return draw_with_gnuplot(path, 900, 560, [&](const std::string& folder) {
    // One data file per init: step, mean held-out D over seeds, mean − std, mean + std.
    double low = r.bound.distortion_rate, high = r.bound.distortion_rate;
    std::vector<std::string> files;
    for (const InitStudy* s : plotted) {
      files.push_back(folder + "/" + to_string(s->init) + ".dat");
      std::ofstream out(files.back());
      out << "# step mean_test_distortion minus_std plus_std\n" << std::setprecision(10);
      for (size_t e = 0; e < s->steps.size(); ++e) {
        std::vector<double> at_step;
        for (const TrainingRunResult& run : s->runs)
          if (e < run.history.size()) at_step.push_back(run.history[e].test_distortion);
        const MeanStd spread = mean_std(at_step);
        out << s->steps[e] << " " << s->mean_test_distortion[e] << " " << spread.mean - spread.std << " "
            << spread.mean + spread.std << "\n";
        low = std::min(low, spread.mean - spread.std);
        high = std::max(high, spread.mean + spread.std);
      }
    }
    std::ostringstream out;
    out << "set title 'Held-out D vs step: mean of " << r.seeds.size() << " seeds, band ± 1 std over seeds; "
        << r.config.codebook_size << " codewords, k = " << r.config.k << ", " << r.config.n_test
        << " held-out samples'\n";
    out << "set xlabel 'training step'\nset ylabel 'D test = mean ||z - z_q_hard||^2 (log scale)'\n";
    out << gnuplot_log_y_axis(std::max(low, 1e-12), high) << "set mxtics 5\nset grid xtics lc rgb '#e0e0e0'\n";
    out << "set key inside top right box opaque\nset style fill transparent solid 0.15 noborder\n";
    out << std::setprecision(10) << "plot ";
    for (size_t i = 0; i < plotted.size(); ++i) {
      const InitPlotStyle style = init_plot_style(plotted[i]->init);
      out << gnuplot_quoted(files[i]) << " using 1:3:4 with filledcurves lc rgb '" << style.colour << "' notitle, "
          << gnuplot_quoted(files[i]) << " using 1:2 with linespoints lw 2 pt " << style.point_type
          << " pointinterval " << std::max<size_t>(1, plotted[i]->steps.size() / 8) << " lc rgb '" << style.colour
          << "' title " << gnuplot_quoted(to_string(plotted[i]->init)) << ", ";
    }
    if (!r.kmeans_test_distortion.empty())
      out << mean_std(r.kmeans_test_distortion).mean
          << " with lines dt 3 lw 2 lc rgb '#e69f00' title 'k-means reference (no training)', ";
    out << r.bound.distortion_rate << " with lines dt 2 lw 2 lc rgb 'black' title 'D(R), Shannon'\n";
    return out.str();
  });
}

}  // namespace vqvae
