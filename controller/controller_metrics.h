// What the controller exports to Prometheus (docs/operations.md lists every
// metric and the queries to type). Per search (label `search`; search ids
// are bounded, children never become labels): the counts and figures of
// GetStatus, read from the searches at each scrape, so a graph and
// `amoeba status` never disagree; and the dispatch latency, which the
// service observes.
//
// Thread safety: everything may be called from any thread.
#ifndef AMOEBA_CONTROLLER_CONTROLLER_METRICS_H_
#define AMOEBA_CONTROLLER_CONTROLLER_METRICS_H_

#include <array>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "controller/controller.h"
#include "metrics/metrics_server.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"

namespace amoeba {

class ControllerMetrics {
 public:
  // How a child reached its worker.
  enum class Dispatch { kWithResult, kGetTask };

  // Exports through `server`. `controller` must outlive `server`'s serving
  // (MetricsServer stops serving when destroyed: destroy it first).
  ControllerMetrics(Controller* controller, MetricsServer& server);

  // A child handed out `elapsed` after its request arrived: with the ack of
  // the worker's previous result (ReportResult's next task), or to
  // GetTask.
  void ObserveDispatch(Dispatch via, absl::Duration elapsed);

  // Why a ResultReport was not recorded.
  enum class Refusal {
    kStale,            // answered, not recorded: a duplicate, a stale
                       // attempt, a child finished elsewhere
    kInvalid,          // a malformed report
    kUnauthenticated,  // no or a wrong token
    kRejected,         // an unknown worker or search
  };
  void ResultRefused(Refusal why);

 private:
  prometheus::Histogram* with_result_;
  prometheus::Histogram* get_task_;
  // By Refusal, in its order.
  std::array<prometheus::Counter*, 4> refused_;
};

// The per-search families of `statuses`, as a scrape exports them (for
// tests: names, types and label bounds).
std::vector<prometheus::MetricFamily> SearchFamilies(
    const std::vector<v1::SearchStatus>& statuses);

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_CONTROLLER_METRICS_H_
