// A training run as the study runs it (`vqvae train`, every run of `vqvae experiment`): the
// configuration's model and held-out set, the loop of training/fit.h, and the run's outputs (the
// HDF5 group every file of the study shares, the CSV history, the JSON summary).
//
// Symbols: N samples, d ambient, k latent, n codebook size, B batch.
#pragma once

#include <vqvae/data/gaussian_dataset.h>
#include <vqvae/models/vqvae.h>
#include <vqvae/study/run_config.h>
#include <vqvae/training/fit.h>

#include <ATen/core/Tensor.h>

#include <string>

namespace vqvae {

class Hdf5Writer;
class Hdf5Reader;

/// What fit takes from the configuration: its optimizer, lr, batch_size, beta and seed.
FitSettings fit_settings(const RunConfig& config);

/// fit(model, x, fit_settings(config), options).
TrainingRunResult run_training(VQVAE model, const at::Tensor& x, const RunConfig& config,
                               const TrainingRunOptions& options = {});

/// build_model(config, dataset), then fit on dataset.X with, unless options give one, a held-out
/// set of config.n_test samples drawn from the same source (GaussianDataset::draw_test_set).
TrainingRunResult run_training(const RunConfig& config, const GaussianDataset& dataset,
                               const TrainingRunOptions& options = {});

/// Writes a run under `group` of `file` ("/" or "runs/kmeans/seed_43"): history/<field> (every
/// for_each_history_field column), summary (every for_each_summary_field as an attribute, and the
/// eigenvalues), initial_codebook, codebook, and the attributes status and last_step. The one
/// layout of a run in every file the study writes; read_run_group reads it back bit for bit.
void write_run_group(Hdf5Writer& file, const std::string& group, const TrainingRunResult& run);
TrainingRunResult read_run_group(const Hdf5Reader& file, const std::string& group);

/// The summary as one JSON object (keys distortion, latent_variance, distortion_rate_bound,
/// gap_db, perplexity, dead_codes, codes_used, and the others of RunSummary).
std::string summary_to_json(const RunSummary& summary);

/// Writes /history/<column> (float64, one entry per evaluation), /summary attributes,
/// /eigenvalues, /initial_codebook, /codebook and the configuration (JSON and one attribute per
/// key), versions and `command` as attributes of "/", with `status` ("completed", "diverged",
/// "interrupted") and `last_step`, and for a diverged run `diverged_at_step` and
/// `diverged_reason`. Atomic (Hdf5Writer).
void write_training_hdf5(const std::string& path, const TrainingRunResult& result,
                         const RunConfig& config, const TrainingRunOptions& options,
                         const std::string& command);

/// The history as CSV (header = history_columns names), written atomically.
void write_history_csv(const std::string& path, const std::vector<EvalRecord>& history);

}  // namespace vqvae
