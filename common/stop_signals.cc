#include "common/stop_signals.h"

#include <atomic>
#include <csignal>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace amoeba {
namespace {

std::atomic<bool> g_signalled{false};

void OnSignal(int) { g_signalled = true; }

}  // namespace

StopOnSignals::StopOnSignals(absl::Notification* stop) : stop_(stop) {
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  watcher_ = std::thread([stop] {
    while (!stop->HasBeenNotified()) {
      if (g_signalled) {
        stop->Notify();
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
}

StopOnSignals::~StopOnSignals() {
  if (!stop_->HasBeenNotified()) stop_->Notify();
  watcher_.join();
}

}  // namespace amoeba
