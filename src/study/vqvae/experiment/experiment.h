// The R(D)-initialisation study (`vqvae experiment`, docs/study.md) at one rate: several codebook
// initialisations × several seeds trained on the same data, measured on a held-out set of the same
// source, against each initial codebook alone, k-means and D(R) (result.h), reported by
// report.h. Run as a rate sweep of one size (sweep_grid.h, sweep_shard.h).
#pragma once

#include <vqvae/experiment/report.h>
#include <vqvae/experiment/result.h>
#include <vqvae/study/run_config.h>

namespace vqvae {

/// Runs the study: a rate sweep (sweep_grid.h) of the one size config.codebook_size, in this
/// process. Throws InvalidArgument for an invalid config (check_config), seeds < 1, no init,
/// kmeans_max_iter < 0 or kmeans_n_init < 1. An init that cannot serve the size as configured
/// runs what plan_cell says instead, and InitStudy::note says so (codebook_size > n also skips
/// the k-means row, saying why). Throws
/// ExperimentDiverged when a run diverges. When SIGINT / SIGTERM has arrived
/// (core/interrupt.h's stop_requested()) it stops after the current step of the current run,
/// drops that run, and returns the finished ones (status interrupted; inits without a finished
/// run are left out).
ExperimentResult run_experiment(const RunConfig& config, const ExperimentOptions& options = {});

}  // namespace vqvae
