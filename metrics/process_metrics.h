// The standard process metrics of Prometheus' client libraries
// (process_cpu_seconds_total, process_resident_memory_bytes,
// process_open_fds, process_start_time_seconds), read from /proc at every
// scrape: prometheus-cpp has none of its own. Linux only.
#ifndef AMOEBA_METRICS_PROCESS_METRICS_H_
#define AMOEBA_METRICS_PROCESS_METRICS_H_

#include <memory>

#include "prometheus/collectable.h"

namespace amoeba {

// A collectable of this process's metrics (thread-safe).
std::shared_ptr<prometheus::Collectable> ProcessMetrics();

}  // namespace amoeba

#endif  // AMOEBA_METRICS_PROCESS_METRICS_H_
