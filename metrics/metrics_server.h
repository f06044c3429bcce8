// The HTTP endpoint that exports a process's metrics for Prometheus to
// scrape (GET /metrics, text format), on prometheus-cpp's embedded server.
// A Spec + Start(Spec); port 0 picks a free port.
//
// Thread safety: registry() and Add() may be called from any thread; the
// server calls each collectable's Collect() on its own threads, so those
// must be thread-safe.
#ifndef AMOEBA_METRICS_METRICS_SERVER_H_
#define AMOEBA_METRICS_METRICS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace amoeba {

class MetricsServer {
 public:
  struct Spec {
    // HOST:PORT ([::1]:PORT for IPv6). Loopback unless an operator asks for
    // more: what is exported (counts, fitness, worker ids) is not secret,
    // but it is nobody else's business either.
    std::string listen = "127.0.0.1:0";
  };

  // Serving when OK. InvalidArgument for a malformed address; Unavailable
  // when the address cannot be bound (in use, not this host's), naming it.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const Spec& spec);

  // Stops serving first, so that no scrape runs while what it reads is
  // being destroyed.
  ~MetricsServer();

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The port listened on.
  int port() const { return port_; }

  // Metric families exported at every scrape.
  prometheus::Registry& registry() { return *registry_; }

  // Also exports what `collectable` collects at every scrape; kept alive
  // while this server lives.
  void Add(std::shared_ptr<prometheus::Collectable> collectable);

  // A gauge without labels whose value `read` gives at every scrape (on
  // the server's threads: `read` must be thread-safe and outlive serving).
  void AddGauge(const std::string& name, const std::string& help,
                std::function<double()> read);

 private:
  MetricsServer() = default;

  // Constant after Start.
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;

  absl::Mutex mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> added_
      ABSL_GUARDED_BY(mu_);
};

// HOST and PORT of a --metrics_listen value, checked: a host (a name, an
// IPv4 address or a bracketed IPv6 one) and a port in 0..65535.
// InvalidArgument naming the value otherwise.
absl::Status CheckListenAddress(const std::string& listen);

}  // namespace amoeba

#endif  // AMOEBA_METRICS_METRICS_SERVER_H_
