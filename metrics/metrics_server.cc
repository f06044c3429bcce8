#include "metrics/metrics_server.h"

#include <exception>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "metrics/process_metrics.h"

namespace amoeba {

absl::Status CheckListenAddress(const std::string& listen) {
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address '", listen.substr(0, 128), "': ", why,
        " (HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:0)"));
  };
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("no HOST:PORT");
  const std::string host = listen.substr(0, colon);
  int port = -1;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return bad("the port must be a number in 0..65535");
  }
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return bad("unclosed [");
  } else if (host.find(':') != std::string::npos) {
    return bad("an IPv6 address goes in brackets");
  }
  for (char c : host) {
    if (c == ',' || c == ' ' || c == '\0') return bad("a single address");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const Spec& spec) {
  if (absl::Status s = CheckListenAddress(spec.listen); !s.ok()) return s;
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->registry_ = std::make_shared<prometheus::Registry>();
  try {
    // Two threads: Prometheus scrapes one at a time; a second keeps a slow
    // or stuck client from holding the endpoint.
    server->exposer_ =
        std::make_unique<prometheus::Exposer>(spec.listen, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve metrics on ", spec.listen, ": ", e.what(),
        " (in use, or not an address of this host?)"));
  }
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", spec.listen));
  }
  server->port_ = ports.front();
  server->exposer_->RegisterCollectable(server->registry_);
  server->Add(ProcessMetrics());
  return server;
}

MetricsServer::~MetricsServer() { exposer_.reset(); }

namespace {

class ReadGauge : public prometheus::Collectable {
 public:
  ReadGauge(std::string name, std::string help, std::function<double()> read)
      : name_(std::move(name)), help_(std::move(help)), read_(std::move(read)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family;
    family.name = name_;
    family.help = help_;
    family.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric metric;
    metric.gauge.value = read_();
    family.metric.push_back(metric);
    return {family};
  }

 private:
  const std::string name_;
  const std::string help_;
  const std::function<double()> read_;
};

}  // namespace

void MetricsServer::AddGauge(const std::string& name, const std::string& help,
                             std::function<double()> read) {
  Add(std::make_shared<ReadGauge>(name, help, std::move(read)));
}

void MetricsServer::Add(std::shared_ptr<prometheus::Collectable> collectable) {
  absl::MutexLock lock(&mu_);
  exposer_->RegisterCollectable(collectable);
  added_.push_back(std::move(collectable));
}

}  // namespace amoeba
