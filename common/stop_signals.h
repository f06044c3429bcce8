// SIGTERM/SIGINT as an absl::Notification, for the daemons' clean shutdown.
//
// The signal handler only sets a lock-free flag (async-signal-safe); a
// watcher thread turns it into `stop->Notify()`.
#ifndef AMOEBA_COMMON_STOP_SIGNALS_H_
#define AMOEBA_COMMON_STOP_SIGNALS_H_

#include <thread>

#include "absl/synchronization/notification.h"

namespace amoeba {

class StopOnSignals {
 public:
  // Installs handlers for SIGTERM and SIGINT that notify `stop`, which must
  // outlive this object. One instance per process.
  explicit StopOnSignals(absl::Notification* stop);
  // Notifies `stop` if nothing did yet, and joins the watcher.
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

 private:
  absl::Notification* const stop_;
  std::thread watcher_;
};

}  // namespace amoeba

#endif  // AMOEBA_COMMON_STOP_SIGNALS_H_
