#include <vqvae/core/interrupt.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace vqvae {
namespace {

constexpr int kSlots = 32;
constexpr size_t kPathBytes = 4096;

volatile std::sig_atomic_t g_signal = 0;
// A slot's path is complete before its flag is set, and the flag is cleared before the path is
// reused: the handler reads only slots whose flag is 1.
volatile std::sig_atomic_t g_used[kSlots] = {};
char g_paths[kSlots][kPathBytes];
std::mutex g_registry;  // between registering threads only; never taken by the handler

extern "C" void on_stop_signal(int signal) {
  if (g_signal != 0) {
    for (int i = 0; i < kSlots; ++i)
      if (g_used[i]) unlink(g_paths[i]);
    _exit(128 + signal);
  }
  g_signal = signal;
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stop_signal() { return g_signal; }

void request_stop(int signal) { g_signal = signal; }

void clear_stop_request() { g_signal = 0; }

const char* signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  static thread_local char name[32];
  std::snprintf(name, sizeof name, "signal %d", signal);
  return name;
}

bool register_temporary(const char* path) {
  if (std::strlen(path) >= kPathBytes) return false;
  std::lock_guard<std::mutex> lock(g_registry);
  for (int i = 0; i < kSlots; ++i) {
    if (g_used[i]) continue;
    std::strcpy(g_paths[i], path);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    g_used[i] = 1;
    return true;
  }
  return false;
}

void unregister_temporary(const char* path) {
  std::lock_guard<std::mutex> lock(g_registry);
  for (int i = 0; i < kSlots; ++i) {
    if (g_used[i] && std::strcmp(g_paths[i], path) == 0) {
      g_used[i] = 0;
      std::atomic_signal_fence(std::memory_order_seq_cst);
      return;
    }
  }
}

}  // namespace vqvae
