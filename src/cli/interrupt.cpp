#include "interrupt.h"

#include <atomic>
#include <csignal>

#include "run.h"

namespace ram::cli {

namespace {

std::atomic<bool> requested{false};

extern "C" void request_interrupt(int) {
  requested.store(true);
}

}  // namespace

void stop_on_first_interrupt() {
  struct sigaction action {};
  action.sa_handler = request_interrupt;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  if (processes().distributed()) sigaction(SIGTERM, &action, nullptr);
}

bool interrupt_requested() {
  return requested.load();
}

}  // namespace ram::cli
