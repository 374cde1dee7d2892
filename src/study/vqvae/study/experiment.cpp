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


std::string format_experiment_table(const ExperimentResult& r) {
  const RunConfig& c = r.config;
  const double bound = r.bound.distortion_rate;
  std::ostringstream out;
  out << "R(D)-initialisation study: d=" << c.d << " k=" << c.k << " n=" << c.n
      << " sigma=" << format_significant(c.sigma_noise) << ", " << c.codebook_size
      << " codewords (R = " << format_fixed(r.bound.rate_bits, 2) << " bits), " << to_string(c.quantizer)
      << ", " << to_string(c.optimizer) << " lr " << format_significant(c.lr) << ", batch " << c.batch_size << ", "
      << r.total_steps << " steps, " << r.seeds.size() << " seeds\n";
  out << "latent variance " << format_fixed(r.bound.latent_variance, 3) << ", D(R) = " << format_fixed(bound, 3)
      << (r.revive_dead_codes ? ", dead-code revival on (window " + std::to_string(r.revival_window) + " steps)"
                              : "")
      << "\n\n";
  const std::vector<size_t> w = {32, 18, 13, 12, 15};
  std::string header = padded("init", w[0]) + padded("D final", w[1]) + padded("gap to D(R)", w[2]) +
                       padded("dead codes", w[3]) + padded("steps to 10%", w[4]) + (r.revive_dead_codes ? "revived" : "");
  header.erase(header.find_last_not_of(' ') + 1);
  out << header << "\n";
  const auto row = [&](const std::string& name, const std::vector<double>& distortion,
                       const std::vector<double>& dead, const std::string& steps, const std::string& revived) {
    const MeanStd d = mean_std(distortion);
    std::string line = padded(name, w[0]) + padded(format_fixed(d.mean, 3) + " ± " + format_fixed(d.std, 3), w[1]) +
                       padded(format_signed_fixed(gap_db(d.mean, bound), 2) + " dB", w[2]) + padded(format_fixed(mean_std(dead).mean, 1), w[3]) +
                       padded(steps, w[4]) + revived;
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  };
  for (const InitStudy& s : r.inits) {
    if (s.runs.empty()) out << padded(to_string(s.init), w[0]) << s.note << "\n";
    else row(to_string(s.init), s.final_distortion, s.dead_codes, format_fixed(mean_std(s.steps_to_within_10_percent).mean, 0),
             r.revive_dead_codes ? format_fixed(mean_std(s.revived).mean, 1) : "");
  }
  out << "reference rows (no gradient training):\n";
  for (const InitStudy& s : r.inits) {
    if (s.runs.empty()) continue;
    std::vector<double> initial_dead;
    for (const auto& run : s.runs) initial_dead.push_back(static_cast<double>(run.history.front().dead_codes));
    row(std::string(to_string(s.init)) + ", initial codebook", s.initial_distortion, initial_dead, "-", "");
  }
  if (r.kmeans_skipped.empty()) row("k-means (Lloyd, k-means++)", r.kmeans_distortion, r.kmeans_dead_codes, "-", "");
  else out << padded("k-means (Lloyd, k-means++)", w[0]) << r.kmeans_skipped << "\n";
  out << padded("D(R) bound", w[0]) << padded(format_fixed(bound, 3), w[1]) << "+0.00 dB\n";
  for (const InitStudy& s : r.inits)
    if (!s.runs.empty() && !s.note.empty()) out << "note: " << s.note << "\n";
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
    file.write_tensor(base + "/final_distortion", at::tensor(s.final_distortion, at::kDouble));
    file.write_tensor(base + "/dead_codes", at::tensor(s.dead_codes, at::kDouble));
    file.write_tensor(base + "/steps_to_within_10_percent", at::tensor(s.steps_to_within_10_percent, at::kDouble));
    file.write_tensor(base + "/revived", at::tensor(s.revived, at::kDouble));
    file.write_tensor(base + "/steps", at::tensor(s.steps, at::kDouble));
    file.write_tensor(base + "/mean_distortion", at::tensor(s.mean_distortion, at::kDouble));
    const MeanStd d = mean_std(s.final_distortion);
    file.write_attribute(base, "final_distortion_mean", d.mean);
    file.write_attribute(base, "final_distortion_std", d.std);
    file.write_attribute(base, "gap_db", gap_db(d.mean, r.bound.distortion_rate));
    for (size_t i = 0; i < s.runs.size(); ++i) {
      const std::string run = base + "/seed_" + std::to_string(s.seeds[i]);
      file.create_group(run + "/history");
      for (const auto& [name, values] : history_columns(s.runs[i].history))
        file.write_tensor(run + "/history/" + name, at::tensor(values, at::kDouble));
      file.write_tensor(run + "/initial_codebook", s.runs[i].initial_codebook);
      file.write_tensor(run + "/codebook", s.runs[i].codebook);
      file.write_attribute(run, "seed", static_cast<int64_t>(s.seeds[i]));
      file.write_attribute(run, "distortion", s.runs[i].summary.distortion);
      file.write_attribute(run, "gap_db", s.runs[i].summary.gap_db);
      file.write_attribute(run, "dead_codes", s.runs[i].summary.dead_codes);
      file.write_attribute(run, "revived", s.runs[i].summary.revived);
    }
  }
  if (!r.kmeans_distortion.empty()) {  // none when the study stopped early
    file.create_group(at("kmeans"));
    file.write_tensor(at("kmeans/distortion"), at::tensor(r.kmeans_distortion, at::kDouble));
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

void write_experiment_root(Hdf5Writer& file, const ExperimentResult& r, const std::string& command) {
  write_config_attributes(file, r.config);
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
        for (const InitStudy* s : plotted) out << " " << s->mean_distortion[e];
        out << "\n";
      }
    }
    std::ostringstream out;
    out << "set title 'Distortion vs step (mean of " << r.seeds.size() << " seeds), " << r.config.codebook_size
        << " codewords, k = " << r.config.k << "'\n";
    out << "set xlabel 'training step'\nset ylabel 'D = mean ||z - z_q_hard||^2 (log scale)'\n";
    out << "set logscale y\nset grid\nset key top right\n";
    out << std::setprecision(10);
    out << "set yrange [" << 0.8 * r.bound.distortion_rate << ":*]\n";
    out << "plot ";
    for (size_t i = 0; i < plotted.size(); ++i)
      out << gnuplot_quoted(data) << " using 1:" << i + 2 << " with lines lw 2 lc rgb '" << kPlotColours[i % 6]
          << "' title " << gnuplot_quoted(to_string(plotted[i]->init)) << ", ";
    if (!r.kmeans_distortion.empty())
      out << mean_std(r.kmeans_distortion).mean << " with lines dt 3 lc rgb 'black' title 'k-means (no training)', ";
    out << r.bound.distortion_rate << " with lines dt 2 lw 2 lc rgb 'red' title 'D(R)'\n";
    return out.str();
  });
}

}  // namespace vqvae
