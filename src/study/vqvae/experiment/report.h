// The R(D)-initialisation study's report at one rate: the table, the HDF5 layout and the plot of
// an ExperimentResult (result.h). A rate sweep writes one group per rate through
// write_experiment_group (sweep_report.h).
#pragma once

#include <vqvae/experiment/result.h>

#include <string>
#include <utility>
#include <vector>

namespace vqvae {

class Hdf5Writer;

/// The table: per init, the held-out D (mean ± std over seeds: the headline), its gap to D(R) (dB,
/// of the mean), the training D beside it, dead codes (held-out / training), steps to within 10 %
/// of the final D (and revived codes when revival is on); the reference rows: each untrained
/// initial codebook, k-means, and D(R) itself; the held-out set's sampling error and whether the
/// bound holds; then the paired comparisons of the best init with every other.
std::string format_experiment_table(const ExperimentResult& result);

/// The legend printed under the study's tables: one line per column (D test, gap to D(R),
/// D train, dead te/tr, and, when shown, steps to 10% and revived), each saying what it counts.
std::string format_table_legend(bool steps_column, bool revived_column);

/// An init's columns by the names the HDF5 file and the JSON give them: per seed (initial,
/// final and test distortion, dead codes, ...) or per evaluated step (steps, mean_*).
std::vector<std::pair<const char*, const std::vector<double>*>> init_columns(const InitStudy& study);

/// One HDF5 file: /runs/<init>/seed_<s>/history/<metric>, per-init summaries, /kmeans, the
/// eigenvalues, D(R), and the full configuration, options and versions as attributes, with
/// `status` and `finished_runs` (and `diverged_reason` for a diverged study; no /kmeans for a
/// stopped one). The same seeds and threads give identical numbers. Atomic (Hdf5Writer).
void write_experiment_hdf5(const std::string& path, const ExperimentResult& result,
                           const std::string& command);
/// The parts of write_experiment_hdf5: what belongs to one rate under `group` ("/" or
/// "sizes/256": runs, k-means, eigenvalues, seeds, D(R)), and what belongs to the file's root
/// (configuration, options, status, grid, provenance). A rate sweep writes one group per size.
void write_experiment_group(Hdf5Writer& file, const std::string& group, const ExperimentResult& result);
/// codebook_sizes: a sweep's sizes as text ("16,64,256"), written as the root's codebook_size (each
/// size's group has its own); "" for one rate.
void write_experiment_root(Hdf5Writer& file, const ExperimentResult& result, const std::string& command,
                           const std::string& codebook_sizes = "");

/// Plots mean distortion vs step per init, with the D(R) and k-means lines, by running gnuplot
/// on a data file and script in a temporary folder; PNG (pngcairo) or SVG by `path`'s extension.
/// Returns "" on success, else a one-line reason (gnuplot missing or failed); never throws for
/// a missing gnuplot.
std::string plot_experiment(const std::string& path, const ExperimentResult& result);

/// How the plots draw one init, the same in every plot: a colour of the Okabe-Ito palette
/// (colour-blind safe; kmeans blue and rd_waterfill vermillion, the two the study is about, far
/// apart) and a gnuplot point type, so that curves stay apart in grey too.
struct InitPlotStyle {
  const char* colour;
  int point_type;
};
InitPlotStyle init_plot_style(InitKind init);

/// gnuplot lines for a log-scaled y axis fitted to [low, high] (padded by 10 %): the range, and
/// labelled ticks at 1, 2 and 5 × 10^e inside it (more when the range is narrow), minor ticks
/// between, so that a range of 19 to 31 reads as such and not as one decade of 10 to 100.
std::string gnuplot_log_y_axis(double low, double high);

}  // namespace vqvae
