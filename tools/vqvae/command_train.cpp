// `vqvae train`: trains the configuration (the same flags as `validate`) for --epochs or
// --steps, shows progress (a bar on a terminal, periodic lines otherwise), writes the metric
// history (--out HDF5, --csv) and prints the final summary against D(R) (--json: one object).
#include "commands.h"
#include "config_flags.h"
#include "schedule_flags.h"

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/core/interrupt.h>
#include <vqvae/tensor/runtime.h>
#include <vqvae/study/factory.h>
#include <vqvae/preflight/memory_estimate.h>
#include <vqvae/study/run.h>

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace vqvae::cli {
namespace {

std::string number(double value, int significant = 4) { return format_significant(value, significant); }

}  // namespace

CommandRunner add_train_command(CLI::App& app) {
  struct Flags {
    std::unique_ptr<ConfigFlags> config;
    std::unique_ptr<ScheduleFlags> schedule;
    bool json = false, print_config = false;
    std::string out, csv;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "train", "Train the configuration, record every metric per evaluation, and compare the "
               "final distortion with the Gaussian bound D(R), R = log2(codebook size)");
  flags->config = std::make_unique<ConfigFlags>(sub);
  flags->schedule = std::make_unique<ScheduleFlags>(sub, "");
  sub->add_option("--out", flags->out, "HDF5 file for the history, summary and configuration");
  sub->add_option("--csv", flags->csv, "CSV file for the history");
  sub->add_flag("--json", flags->json, "Print the final summary as one JSON object");
  sub->add_flag("--print-config", flags->print_config,
                "Print the resolved configuration (JSON) and, on stderr, the memory estimate, and exit");
  return [flags](const GlobalOptions& global) {
    const RunConfig config = flags->config->resolve(global);  // exit 2 on an invalid one
    TrainingRunOptions options = flags->schedule->resolve();  // exit 2 on an invalid one
    const MemoryEstimate estimate = estimate_train_memory(config, options);
    if (flags->print_config) return print_config(config, estimate);
    prepare_run(config, estimate, global, {{"--out", flags->out}, {"--csv", flags->csv}});  // before any work

    const bool tty = isatty(STDOUT_FILENO) == 1 && !flags->json;
    auto last = std::make_shared<EvalRecord>();
    const int64_t n = config.codebook_size;
    options.on_eval([&, last](const EvalRecord& r, int64_t total) {
      *last = r;
      if (flags->json || tty) return;
      std::cout << "step " << r.step << "/" << total << "  loss " << number(r.loss_total) << " (recon "
                << number(r.loss_recon) << ", codebook " << number(r.loss_codebook) << ", commitment "
                << number(r.loss_commitment) << ")  D " << number(r.distortion) << "  D test " << number(r.test_distortion)
                << "  codes "
                << r.codes_used << "/" << n << "  entropy " << number(r.rate_bits, 3) << " bits"
                << (flags->schedule->revive_dead_codes() ? "  revived " + std::to_string(r.revived) : "") << std::endl;
    });
    if (tty) {
      options.on_step([&, last](int64_t step, int64_t total, double loss, double recon, double codebook,
                                double commitment) {
        if (step % std::max<int64_t>(1, total / 200) != 0 && step != total) return;
        const int width = 24;
        const int filled = static_cast<int>(width * step / total);
        std::cout << "\r[" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << step
                  << "/" << total << "  loss " << number(loss) << " (" << number(recon) << " + "
                  << number(codebook) << " + β·" << number(commitment) << ")  D " << number(last->distortion)
                  << "  codes " << last->codes_used << "/" << n << "  entropy " << number(last->rate_bits, 3)
                  << " bits   " << std::flush;
        if (step == total) std::cout << "\n";
      });
    }

    // SIGINT / SIGTERM: finish the step, write what is done, exit 128 + signal; a second one
    // exits at once (core/interrupt.h).
    install_interrupt_handlers();
    const GaussianDataset dataset = make_dataset(config);
    std::vector<std::string> written;
    const auto write = [&](const TrainingRunResult& run) {
      if (!flags->out.empty()) {
        write_training_hdf5(flags->out, run, config, options, global.command_line);
        written.push_back(flags->out);
      }
      if (!flags->csv.empty()) {
        write_history_csv(flags->csv, run.history);
        written.push_back(flags->csv);
      }
    };
    TrainingRunResult result;
    try {
      result = run_training(config, dataset, options);
    } catch (const TrainingDiverged& e) {
      if (tty) std::cout << std::endl;  // end the progress bar's line
      write(e.partial());
      std::cerr << "vqvae: " << e.what() << "; "
                << (written.empty() ? "nothing written (no --out or --csv)"
                                    : "history up to step " + std::to_string(e.partial().history.back().step) +
                                          " is in " + listed(written) + " (status diverged)")
                << std::endl;
      return 1;
    }
    write(result);
    if (result.status == RunStatus::interrupted) {
      if (tty) std::cout << std::endl;
      std::cerr << "vqvae: interrupted by " << signal_name(stop_signal()) << " after step " << result.last_step
                << " of " << run_schedule(config.n, config.batch_size, options).total_steps << "; "
                << (written.empty() ? "nothing written (no --out or --csv)"
                                    : "wrote " + listed(written) + " (status interrupted)")
                << std::endl;
      return 128 + stop_signal();
    }

    const RunSummary& s = result.summary;
    if (flags->json) {
      std::cout << summary_to_json(s) << std::endl;
      return 0;
    }
    std::cout << "D test               " << number(s.test_distortion, 5) << " ± " << number(s.test_distortion_se, 2)
              << "   (mean ‖z − z_q_hard‖² on " << config.n_test
              << " held-out samples of the same source, ± one standard error)\n"
              << "gap to D(R), test    " << (s.test_gap_db >= 0 ? "+" : "") << number(s.test_gap_db, 3) << " dB"
              << (s.test_distortion < s.distortion_rate_bound - 2 * s.test_distortion_se
                      ? "   BELOW the bound by more than 2 standard errors: something is wrong"
                      : "")
              << "\n"
              << "distortion D (train) " << number(s.distortion, 5) << "   (mean ‖z − z_q_hard‖², summed over k = "
              << config.k << ", the whole training set)\n"
              << "latent variance      " << number(s.latent_variance, 5) << "   D / variance "
              << number(s.distortion_over_variance, 4) << "\n"
              << std::left << std::setw(21) << "D(R), R = " + number(s.rate_bits, 4) + " bits" << number(s.distortion_rate_bound, 5)
              << "   (R = log2 " << n << " codewords, the rate the codebook allows; reverse water-filling on the "
                 "latent covariance's eigenvalues)\n"
              << "gap to D(R), train   " << (s.gap_db >= 0 ? "+" : "") << number(s.gap_db, 3) << " dB\n"
              << "perplexity           " << number(s.perplexity, 5) << " (train), " << number(s.test_perplexity, 5)
              << " (test)   (2^entropy: entropy = log2 perplexity is the rate the code uses, at most R; the step lines' "
                 "entropy)\n"
              << "dead codes           " << s.dead_codes << " of " << n << " (train), " << s.test_dead_codes
              << " (test)   (codes used " << s.codes_used << ")\n";
    if (flags->schedule->revive_dead_codes()) std::cout << "revived codes        " << s.revived << "\n";
    if (!flags->out.empty()) std::cout << "wrote " << flags->out << "\n";
    if (!flags->csv.empty()) std::cout << "wrote " << flags->csv << "\n";
    std::cout << std::flush;
    return 0;
  };
}

}  // namespace vqvae::cli
