#include <vqvae/experiment/sweep_report.h>

#include <vqvae/core/format.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/io/provenance.h>
#include <vqvae/math/rate_distortion.h>
#include <vqvae/experiment/gnuplot.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

namespace vqvae {
namespace {

ExperimentResult assemble_size(const SweepGrid& grid, int64_t size, const std::map<int64_t, const CellResult*>& found,
                               const std::vector<SweepCell>& cells, const at::Tensor& latents,
                               const std::string& grid_json) {
  ExperimentResult r;
  r.config = sweep_config(grid);
  r.config.codebook_size = size;
  const ExperimentOptions& o = grid.options;
  for (int64_t i = 0; i < o.seeds; ++i) r.seeds.push_back(grid.config.seed + static_cast<uint64_t>(i));
  const RunSchedule schedule = run_schedule(grid.config.n, grid.config.batch_size, o.training);
  r.total_steps = schedule.total_steps;
  r.eval_every = schedule.eval_every;
  r.revive_dead_codes = o.training.revive_dead_codes();
  r.revival_window = schedule.revival_window;
  r.kmeans_max_iter = o.kmeans_max_iter;
  r.kmeans_n_init = o.kmeans_n_init;
  r.bound = latent_distortion_rate(latents, size);
  r.grid_json = grid_json;

  // The finished cells of this size and kind, in grid order (seed order within an init).
  const auto finished = [&](CellKind kind, std::optional<InitKind> init) {
    std::vector<const CellResult*> out;
    for (const SweepCell& cell : cells) {
      if (cell.codebook_size != size || cell.kind != kind || (init && cell.init != *init)) continue;
      if (const auto it = found.find(cell.index); it != found.end()) out.push_back(it->second);
    }
    return out;
  };
  for (const InitKind init : o.inits) {
    InitStudy study;
    study.init = init;
    for (const CellResult* cell : finished(CellKind::training, init)) {
      if (!cell->skipped.empty()) {
        study.note = cell->skipped;
        continue;
      }
      study.note = cell->substitute;
      const TrainingRunResult& run = cell->run;
      study.seeds.push_back(cell->cell.seed);
      study.initial_distortion.push_back(run.history.front().distortion);
      study.initial_test_distortion.push_back(run.history.front().test_distortion);
      study.final_distortion.push_back(run.summary.distortion);
      study.test_distortion.push_back(run.summary.test_distortion);
      study.test_distortion_se.push_back(run.summary.test_distortion_se);
      study.test_dead_codes.push_back(static_cast<double>(run.summary.test_dead_codes));
      study.test_perplexity.push_back(run.summary.test_perplexity);
      study.dead_codes.push_back(static_cast<double>(run.summary.dead_codes));
      study.steps_to_within_10_percent.push_back(static_cast<double>(run.summary.steps_to_within_10_percent));
      study.revived.push_back(static_cast<double>(run.summary.revived));
      study.runs.push_back(run);
      ++r.finished_runs;
    }
    if (study.runs.empty() && study.note.empty()) continue;  // none finished (a stopped run)
    if (!study.runs.empty()) {
      const auto& first = study.runs.front().history;
      for (size_t e = 0; e < first.size(); ++e) {
        double sum = 0, test_sum = 0;
        for (const auto& run : study.runs) {
          sum += run.history[e].distortion;
          test_sum += run.history[e].test_distortion;
        }
        study.steps.push_back(static_cast<double>(first[e].step));
        study.mean_distortion.push_back(sum / static_cast<double>(study.runs.size()));
        study.mean_test_distortion.push_back(test_sum / static_cast<double>(study.runs.size()));
      }
    }
    r.inits.push_back(std::move(study));
  }
  // The k-means reference only when complete, a cell per seed (it comes after the training runs
  // of its size).
  const std::vector<const CellResult*> kmeans = finished(CellKind::kmeans_reference, std::nullopt);
  if (static_cast<int64_t>(kmeans.size()) == o.seeds) {
    if (!kmeans.front()->skipped.empty()) {
      r.kmeans_skipped = kmeans.front()->skipped;
    } else {
      for (const CellResult* cell : kmeans) {
        r.kmeans_distortion.push_back(cell->kmeans_distortion);
        r.kmeans_test_distortion.push_back(cell->kmeans_test_distortion);
        r.kmeans_dead_codes.push_back(static_cast<double>(cell->kmeans_dead_codes));
      }
    }
  }
  return r;
}

std::string trimmed(std::string line) {
  line.erase(line.find_last_not_of(' ') + 1);
  return line + "\n";
}

double bits_per_dimension(const ExperimentResult& r) {
  return r.bound.rate_bits / static_cast<double>(r.config.k);
}

const InitStudy* find_init(const ExperimentResult& r, InitKind init) {
  for (const InitStudy& s : r.inits)
    if (s.init == init && !s.runs.empty()) return &s;
  return nullptr;
}

}  // namespace

SweepResult assemble_sweep(const SweepGrid& grid, const std::vector<CellResult>& cells, const GaussianDataset& dataset,
                           RunStatus status, const std::string& stop_reason) {
  SweepResult out;
  out.grid = grid;
  out.status = status;
  out.stop_reason = stop_reason;
  const std::vector<SweepCell> all = grid_cells(grid);
  std::map<int64_t, const CellResult*> found;
  for (const CellResult& cell : cells) found[cell.cell.index] = &cell;
  const at::Tensor latents = sweep_latents(grid, dataset);  // (N, k), the same at every size
  const std::string json = grid_to_json(grid);
  for (const int64_t size : grid.codebook_sizes) {
    ExperimentResult r = assemble_size(grid, size, found, all, latents, json);
    r.status = status;
    r.stop_reason = stop_reason;
    out.finished_runs += r.finished_runs;
    out.sizes.push_back(std::move(r));
  }
  return out;
}

std::string format_sweep_table(const SweepResult& result) {
  if (result.sizes.size() == 1) return format_experiment_table(result.sizes.front());
  const ExperimentResult& first = result.sizes.front();
  const RunConfig& c = first.config;
  std::ostringstream out;
  out << "Rate sweep: d=" << c.d << " k=" << c.k << " n=" << c.n << " sigma=" << format_significant(c.sigma_noise)
      << ", " << to_string(c.quantizer) << ", " << to_string(c.optimizer) << " lr " << format_significant(c.lr)
      << ", batch " << c.batch_size << ", " << first.total_steps << " steps, " << first.seeds.size()
      << " seeds per cell; latent variance " << format_fixed(first.bound.latent_variance, 3)
      << (first.revive_dead_codes ? "; dead-code revival on" : "") << "\n";
  const std::vector<size_t> w = {30, 18, 13, 18, 11};
  std::vector<std::string> notes;
  for (const ExperimentResult& r : result.sizes) {
    const double bound = r.bound.distortion_rate;
    out << "\n" << r.config.codebook_size << " codewords: R = " << format_fixed(r.bound.rate_bits, 2) << " bits, "
        << format_fixed(bits_per_dimension(r), 3) << " bits per latent dimension, D(R) = " << format_fixed(bound, 3)
        << "\n";
    out << trimmed("  " + padded("init", w[0]) + padded("D test", w[1]) + padded("gap to D(R)", w[2]) +
                   padded("D train", w[3]) + padded("dead te/tr", w[4]));
    const auto row = [&](const std::string& name, const std::vector<double>& test, const std::vector<double>& train,
                         const std::string& dead) {
      out << trimmed("  " + padded(name, w[0]) + padded(format_mean_std(test), w[1]) +
                     padded(format_signed_fixed(gap_db(mean_std(test).mean, bound), 2) + " dB", w[2]) + padded(format_mean_std(train), w[3]) +
                     padded(dead, w[4]));
    };
    const InitStudy* best = best_init(r);
    for (const InitStudy& s : r.inits) {
      if (s.runs.empty()) out << trimmed("  " + padded(to_string(s.init), w[0]) + s.note);
      else
        row(std::string(to_string(s.init)) + (s.note.empty() ? "" : " (*)") + (&s == best ? " (best)" : ""), s.test_distortion,
            s.final_distortion,
            format_fixed(mean_std(s.test_dead_codes).mean, 1) + "/" + format_fixed(mean_std(s.dead_codes).mean, 1));
      // One line per size and note: like-for-like cells give every init of a size the same note.
      const std::string note = "(*) " + std::to_string(r.config.codebook_size) + " codewords: " + s.note;
      if (!s.note.empty() && !s.runs.empty() && std::find(notes.begin(), notes.end(), note) == notes.end())
        notes.push_back(note);
    }
    if (r.kmeans_skipped.empty()) {
      if (!r.kmeans_distortion.empty())
        row("k-means (Lloyd, no training)", r.kmeans_test_distortion, r.kmeans_distortion,
            "-/" + format_fixed(mean_std(r.kmeans_dead_codes).mean, 1));
    } else {
      out << trimmed("  " + padded("k-means (Lloyd, no training)", w[0]) + r.kmeans_skipped);
    }
    const std::string below = below_bound(r);
    out << "  held-out SE of one run's D ≈ " << format_significant(mean_test_standard_error(r), 2) << "; "
        << (below.empty() ? "every run at or above D(R) within 2 SE" : "BELOW D(R) by more than 2 SE (something is wrong): " + below)
        << "\n";
    out << format_comparisons(r, "  ");
  }
  out << "\n" << format_table_legend(false, false);
  // The curve in one view: gap to D(R) per init and size (does the ranking hold at every rate?).
  out << "\ngap of the held-out D to D(R) in dB (mean over seeds) by codewords:\n";
  std::string header = "  " + padded("init", w[0]);
  for (const ExperimentResult& r : result.sizes) header += padded(std::to_string(r.config.codebook_size), 9);
  out << trimmed(header);
  for (const InitKind init : result.grid.options.inits) {
    std::string line = "  " + padded(to_string(init), w[0]);
    for (const ExperimentResult& r : result.sizes) {
      const InitStudy* s = find_init(r, init);
      line += padded(s ? format_signed_fixed(gap_db(mean_std(s->test_distortion).mean, r.bound.distortion_rate), 2) : "-", 9);
    }
    out << trimmed(line);
  }
  std::string line = "  " + padded("k-means (Lloyd, no training)", w[0]);
  for (const ExperimentResult& r : result.sizes)
    line += padded(r.kmeans_test_distortion.empty() ? "-" : format_signed_fixed(gap_db(mean_std(r.kmeans_test_distortion).mean, r.bound.distortion_rate), 2), 9);
  out << trimmed(line);
  for (const std::string& note : notes) out << note << "\n";
  return out.str();
}

void write_sweep_hdf5(const std::string& path, const SweepResult& result, const std::string& command) {
  if (result.sizes.size() == 1) return write_experiment_hdf5(path, result.sizes.front(), command);
  Hdf5Writer file(path);
  file.create_group("sizes");
  for (const ExperimentResult& r : result.sizes)
    write_experiment_group(file, "sizes/" + std::to_string(r.config.codebook_size), r);
  // The curve: one entry per size; NaN where an init has no run at that size.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<int64_t> sizes;
  std::vector<double> rate, per_dimension, bound, kmeans_mean, kmeans_std, kmeans_test_mean;
  for (const ExperimentResult& r : result.sizes) {
    sizes.push_back(r.config.codebook_size);
    rate.push_back(r.bound.rate_bits);
    per_dimension.push_back(bits_per_dimension(r));
    bound.push_back(r.bound.distortion_rate);
    const MeanStd k = mean_std(r.kmeans_distortion);
    kmeans_mean.push_back(r.kmeans_distortion.empty() ? nan : k.mean);
    kmeans_std.push_back(r.kmeans_distortion.empty() ? nan : k.std);
    kmeans_test_mean.push_back(r.kmeans_test_distortion.empty() ? nan : mean_std(r.kmeans_test_distortion).mean);
  }
  file.create_group("rate_distortion");
  file.write_tensor("rate_distortion/codebook_sizes", at::tensor(sizes, at::kLong));
  file.write_tensor("rate_distortion/rate_bits", at::tensor(rate, at::kDouble));
  file.write_tensor("rate_distortion/bits_per_dimension", at::tensor(per_dimension, at::kDouble));
  file.write_tensor("rate_distortion/distortion_rate_bound", at::tensor(bound, at::kDouble));
  file.write_tensor("rate_distortion/kmeans_reference_mean", at::tensor(kmeans_mean, at::kDouble));
  file.write_tensor("rate_distortion/kmeans_reference_std", at::tensor(kmeans_std, at::kDouble));
  file.write_tensor("rate_distortion/kmeans_reference_test_mean", at::tensor(kmeans_test_mean, at::kDouble));
  for (const InitKind init : result.grid.options.inits) {
    std::vector<double> mean, std, gap, test_mean, test_std, test_gap;
    for (const ExperimentResult& r : result.sizes) {
      const InitStudy* s = find_init(r, init);
      const MeanStd d = s ? mean_std(s->final_distortion) : MeanStd{nan, nan};
      const MeanStd t = s ? mean_std(s->test_distortion) : MeanStd{nan, nan};
      mean.push_back(d.mean);
      std.push_back(d.std);
      gap.push_back(s ? gap_db(d.mean, r.bound.distortion_rate) : nan);
      test_mean.push_back(t.mean);
      test_std.push_back(t.std);
      test_gap.push_back(s ? gap_db(t.mean, r.bound.distortion_rate) : nan);
    }
    const std::string name = std::string("rate_distortion/") + to_string(init);
    file.write_tensor(name + "_mean", at::tensor(mean, at::kDouble));
    file.write_tensor(name + "_std", at::tensor(std, at::kDouble));
    file.write_tensor(name + "_gap_db", at::tensor(gap, at::kDouble));
    file.write_tensor(name + "_test_mean", at::tensor(test_mean, at::kDouble));
    file.write_tensor(name + "_test_std", at::tensor(test_std, at::kDouble));
    file.write_tensor(name + "_test_gap_db", at::tensor(test_gap, at::kDouble));
  }
  ExperimentResult root = result.sizes.front();
  root.status = result.status;
  root.finished_runs = result.finished_runs;
  root.stop_reason = result.stop_reason;
  // The root's codebook_size: the list of sizes, as text (each size's group holds its own number).
  std::string listed;
  for (const int64_t size : sizes) listed += (listed.empty() ? "" : ",") + std::to_string(size);
  write_experiment_root(file, root, command, listed);
  file.write_tensor("codebook_sizes", at::tensor(sizes, at::kLong));
  file.commit();
}

std::string plot_sweep(const std::string& path, const SweepResult& result) {
  if (result.sizes.size() == 1) return plot_experiment(path, result.sizes.front());
  const std::vector<InitKind>& inits = result.grid.options.inits;
  const int64_t k = result.sizes.front().config.k;
  return draw_with_gnuplot(path, 900, 600, [&](const std::string& folder) {
    double low = std::numeric_limits<double>::infinity(), high = 0;
    const auto seen = [&](double v) {
      if (v > 0 && std::isfinite(v)) low = std::min(low, v), high = std::max(high, v);
    };
    // One file per init: bits per dimension, mean held-out D over seeds, its standard deviation
    // (sizes where the init did not run are left out).
    std::vector<std::string> files;
    for (const InitKind init : inits) {
      files.push_back(folder + "/" + to_string(init) + ".dat");
      std::ofstream out(files.back());
      out << "# bits_per_dimension mean_test_distortion std_over_seeds\n" << std::setprecision(10);
      for (const ExperimentResult& r : result.sizes)
        if (const InitStudy* s = find_init(r, init); s && !s->test_distortion.empty()) {
          const MeanStd d = mean_std(s->test_distortion);
          out << bits_per_dimension(r) << " " << d.mean << " " << d.std << "\n";
          seen(d.mean - d.std);
          seen(d.mean + d.std);
        }
    }
    const std::string reference = folder + "/kmeans_reference.dat", curve = folder + "/bound.dat";
    {
      std::ofstream out(reference);
      out << std::setprecision(10);
      for (const ExperimentResult& r : result.sizes)
        if (!r.kmeans_test_distortion.empty()) {
          out << bits_per_dimension(r) << " " << mean_std(r.kmeans_test_distortion).mean << "\n";
          seen(mean_std(r.kmeans_test_distortion).mean);
        }
    }
    {
      // Shannon's D(R) of the latents' Gaussian, from half a bit below the lowest rate to half a
      // bit above the highest, 200 points.
      std::ofstream out(curve);
      out << std::setprecision(10);
      const std::vector<double>& eigenvalues = result.sizes.front().bound.eigenvalues;
      const double lowest = std::max(0.0, result.sizes.front().bound.rate_bits - 0.5);
      const double highest = result.sizes.back().bound.rate_bits + 0.5;
      for (int i = 0; i <= 200; ++i) {
        const double rate = lowest + (highest - lowest) * i / 200.0;
        const double bound = gaussian_distortion_rate(eigenvalues, rate);
        out << rate / static_cast<double>(k) << " " << bound << "\n";
        if (i == 0 || i == 200) seen(bound);
      }
    }
    std::ostringstream out;
    out << "set title 'Operational D(R): held-out D vs rate, mean of " << result.sizes.front().seeds.size()
        << " seeds, bars ± 1 std over seeds; k = " << k << ", n = " << result.sizes.front().config.n << ", "
        << result.sizes.front().config.n_test << " held out'\n";
    out << "set xlabel 'rate: bits per latent dimension, log2(codewords) / k'\n";
    out << "set ylabel 'D test = mean ||z - z_q_hard||^2 (log scale)'\n";
    out << gnuplot_log_y_axis(std::isfinite(low) ? low : 1, high > 0 ? high : 10)
        << "set mxtics 4\nset grid xtics lc rgb '#e0e0e0'\nset key inside bottom left box opaque\nset bars small\n";
    out << "plot ";
    for (size_t i = 0; i < inits.size(); ++i) {
      const InitPlotStyle style = init_plot_style(inits[i]);
      out << gnuplot_quoted(files[i]) << " using 1:2:3 with yerrorlines lw 2 pt " << style.point_type
          << " ps 1.3 lc rgb '" << style.colour << "' title " << gnuplot_quoted(to_string(inits[i])) << ", ";
    }
    out << gnuplot_quoted(reference)
        << " using 1:2 with points pt 1 ps 2 lw 2 lc rgb '#e69f00' title 'k-means reference (no training)', ";
    out << gnuplot_quoted(curve) << " using 1:2 with lines dt 2 lw 2 lc rgb 'black' title 'Shannon D(R)'\n";
    return out.str();
  });
}

}  // namespace vqvae
