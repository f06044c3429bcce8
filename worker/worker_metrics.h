// What a worker exports to Prometheus on its own --metrics_listen
// (docs/operations.md lists every metric). No per-child labels: the
// scrape target (instance) names the worker, and children are not a
// bounded set.
//
// Thread safety: every method may be called from any thread (slots,
// heartbeats, the metrics server's scrapes).
#ifndef AMOEBA_WORKER_WORKER_METRICS_H_
#define AMOEBA_WORKER_WORKER_METRICS_H_

#include <array>
#include <cstdint>

#include "absl/time/time.h"
#include "metrics/metrics_server.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

namespace amoeba {

class WorkerMetrics {
 public:
  // How an evaluation ended.
  enum class Outcome {
    kDone,        // a result
    kFailed,      // a failure result (diverged, out of memory, ...)
    kHandedBack,  // unfinished, back to the controller: the worker is
                  // stopping, or lacks the task's data
    kCancelled,   // by the controller (reassigned, search stopped)
  };

  // Registers the worker's families in `server`, which must outlive this.
  WorkerMetrics(MetricsServer& server, int slots);

  // A slot starts or ends a child (amoeba_worker_slots_busy).
  void SlotStarted();
  void SlotEnded();
  // A child's evaluation ended after `elapsed`.
  void Finished(Outcome outcome, absl::Duration elapsed);
  // An epoch of a child ended, `elapsed` after the previous one (or the
  // start), training at `images_per_second`.
  void EpochDone(absl::Duration elapsed, double images_per_second);
  // A checkpoint of `bytes` went to (save) or came from (load) the fleet's
  // checkpoint storage in `elapsed`.
  void CheckpointSaved(int64_t bytes, absl::Duration elapsed);
  void CheckpointLoaded(int64_t bytes, absl::Duration elapsed);
  // A call to the controller failed and the worker backs off to retry.
  void ControllerUnreachable();

 private:
  prometheus::Gauge* busy_;
  // By Outcome, in its order.
  std::array<prometheus::Counter*, 4> children_;
  prometheus::Histogram* evaluation_seconds_;
  prometheus::Histogram* epoch_seconds_;
  prometheus::Gauge* images_per_second_;
  prometheus::Histogram* checkpoint_save_seconds_;
  prometheus::Histogram* checkpoint_load_seconds_;
  prometheus::Counter* checkpoint_saved_bytes_;
  prometheus::Counter* checkpoint_loaded_bytes_;
  prometheus::Counter* unreachable_;
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_WORKER_METRICS_H_
