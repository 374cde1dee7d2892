#include "schedule_flags.h"

namespace vqvae::cli {

ScheduleFlags::ScheduleFlags(CLI::App* command, const std::string& per) {
  auto* epochs = command->add_option("--epochs", epochs_, "Passes over the dataset" + per)->capture_default_str();
  auto* steps = command->add_option("--steps", steps_, "Optimizer steps" + per + " (instead of --epochs)");
  epochs->excludes(steps);
  command->add_option("--eval-every", eval_every_,
                      "Evaluate on the whole dataset every N steps (default: once per epoch)");
  command->add_flag("--revive-dead-codes", revive_,
                    "Re-seed codewords unused over the revival window from latents of the current batch");
  command->add_option("--revival-window", revival_window_,
                      "Steps without use after which a codeword is dead (default: one epoch)");
}

TrainingRunOptions ScheduleFlags::resolve() const {
  TrainingRunOptions options;
  options.epochs(epochs_).steps(steps_).eval_every(eval_every_).revive_dead_codes(revive_).revival_window(
      revival_window_);
  check_schedule(options);
  return options;
}

}  // namespace vqvae::cli
