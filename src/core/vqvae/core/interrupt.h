// Cooperative interruption by SIGINT and SIGTERM, for long runs (`vqvae train`, `experiment`).
//
// The first signal only records itself: a run loop asks stop_requested() after each step, stops
// there and writes what it has. A second signal exits at once: it removes every registered
// temporary file (the atomic writers' unfinished outputs, see io/atomic_file.h) with unlink(2)
// and calls _exit(128 + signal), so the previous version of a file being replaced stays whole
// and no temporary is left. Both handlers are async-signal-safe (a volatile sig_atomic_t flag,
// unlink, _exit). No LibTorch.
//
// Nothing happens until install_interrupt_handlers() is called: a library user keeps the
// default behaviour of the signals. stop_requested() is then always false.
#pragma once

namespace vqvae {

/// Installs the handlers for SIGINT and SIGTERM (sigaction, SA_RESTART), replacing whatever was
/// there, including an inherited SIG_IGN. Idempotent.
void install_interrupt_handlers();

/// The signal that asked the process to stop (SIGINT, SIGTERM), or 0 when none has arrived.
int stop_signal();
inline bool stop_requested() { return stop_signal() != 0; }

/// Records a stop request as if `signal` had arrived (tests, or a front end stopping a run).
void request_stop(int signal);
/// Forgets a stop request (tests).
void clear_stop_request();

/// "SIGINT", "SIGTERM", or "signal N".
const char* signal_name(int signal);

/// Registers `path` as a temporary to remove if a second signal ends the process, until
/// unregister_temporary(path). Up to 32 paths of up to 4095 bytes at once; others are not
/// registered (returns false). Thread-safe with each other; the handler takes no lock.
bool register_temporary(const char* path);
void unregister_temporary(const char* path);

}  // namespace vqvae
