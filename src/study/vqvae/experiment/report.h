// The R(D)-initialisation study's report at one rate: the table, the HDF5 layout and the plot of
// an ExperimentResult (result.h). A rate sweep writes one group per rate through
// write_experiment_group (sweep_report.h).
#pragma once

#include <vqvae/experiment/result.h>

#include <string>

namespace vqvae {

class Hdf5Writer;

/// The table: per init, the held-out D (mean ± std over seeds: the headline), its gap to D(R) (dB,
/// of the mean), the training D beside it, dead codes (held-out / training), steps to within 10 %
/// of the final D (and revived codes when revival is on); the reference rows: each untrained
/// initial codebook, k-means, and D(R) itself; the held-out set's sampling error and whether the
/// bound holds; then the paired comparisons of the best init with every other.
std::string format_experiment_table(const ExperimentResult& result);

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

/// The line colours of the plots, one per init in order (colour-blind safe).
inline constexpr const char* kPlotColours[6] = {"#9400d3", "#009e73", "#56b4e9", "#e69f00", "#0072b2", "#d55e00"};

}  // namespace vqvae
