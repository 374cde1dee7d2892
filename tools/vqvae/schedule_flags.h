// The training-schedule flags shared by `train` and `experiment`: --epochs (or --steps),
// --eval-every, --revive-dead-codes, --revival-window. Checked once, by the library's
// check_schedule (training/fit.h), with its one message.
#pragma once

#include "commands.h"

#include <vqvae/training/fit.h>

#include <cstdint>
#include <string>

namespace vqvae::cli {

class ScheduleFlags {
 public:
  /// Registers the flags on `command`; `per` ends the length flags' help (" per run" for an
  /// experiment's runs, "" for one run).
  ScheduleFlags(CLI::App* command, const std::string& per);
  /// The schedule the flags give. Throws InvalidArgument (check_schedule) naming the flag.
  TrainingRunOptions resolve() const;
  bool revive_dead_codes() const { return revive_; }

 private:
  int64_t epochs_ = TrainingRunOptions().epochs(), steps_ = 0, eval_every_ = 0, revival_window_ = 0;
  bool revive_ = false;
};

}  // namespace vqvae::cli
