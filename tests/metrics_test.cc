// The controller's metrics as an operator's Prometheus sees them: the real
// `prometheus` server scrapes a real controller that two real worker
// processes serve on loopback, and its query API answers what the store
// says.
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "proto/controller.grpc.pb.h"
#include "testing/http_get.h"
#include "testing/test_files.h"
#include "tests/process.h"

namespace amoeba {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kPrometheus[] = "/usr/bin/prometheus";
constexpr int kBudget = 12;

// The TCP port `pid` listens on (from /proc: its sockets' inodes, then the
// listening entries of its network namespace), or 0 while it has none.
// Prometheus cannot write the port it picked for --web.listen-address=:0.
int ListeningPort(pid_t pid) {
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  std::set<std::string> inodes;
  if (DIR* dir = opendir(fds.c_str())) {
    while (dirent* entry = readdir(dir)) {
      char target[256] = {0};
      const std::string link = fds + "/" + entry->d_name;
      if (readlink(link.c_str(), target, sizeof(target) - 1) > 0) {
        const std::string t = target;
        if (t.rfind("socket:[", 0) == 0) inodes.insert(t.substr(8, t.size() - 9));
      }
    }
    closedir(dir);
  }
  std::ifstream tcp("/proc/" + std::to_string(pid) + "/net/tcp");
  std::string line;
  std::getline(tcp, line);  // header
  while (std::getline(tcp, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid,
        timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >>
        retransmits >> uid >> timeout >> inode;
    if (state == "0A" && inodes.count(inode) > 0) {
      return static_cast<int>(
          std::strtol(local.substr(local.find(':') + 1).c_str(), nullptr, 16));
    }
  }
  return 0;
}

// The sum of the values of an instant query's answer, or nullopt when it
// has none (yet). The answer is Prometheus' JSON:
// {"status":"success","data":{"resultType":"vector","result":[{"metric":
// {...},"value":[1733500000.1,"12"]}, ...]}}.
std::optional<double> Query(int port, const std::string& promql) {
  auto got = HttpGet(port, "/api/v1/query?query=" + UrlEncode(promql));
  if (!got.ok() || got->status != 200) return std::nullopt;
  const std::string& body = got->body;
  std::optional<double> sum;
  for (size_t at = body.find("\"value\":["); at != std::string::npos;
       at = body.find("\"value\":[", at + 1)) {
    const size_t open = body.find('"', body.find(',', at) + 1);
    const size_t close = body.find('"', open + 1);
    if (open == std::string::npos || close == std::string::npos) break;
    sum = sum.value_or(0) +
          std::strtod(body.substr(open + 1, close - open - 1).c_str(), nullptr);
  }
  return sum;
}

// Polls `promql` until it answers `want` (at most 60 s); the last answer.
std::optional<double> WaitForValue(int port, const std::string& promql,
                                   double want) {
  std::optional<double> last;
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    last = Query(port, promql);
    if (last.has_value() && *last == want) break;
    std::this_thread::sleep_for(milliseconds(250));
  }
  return last;
}

int64_t StoreDone(int controller_port, const std::string& token) {
  auto stub = v1::Controller::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(controller_port),
      grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + seconds(10));
  v1::GetStatusRequest request;
  request.set_search_id("metrics");
  v1::SearchStatus status;
  if (!stub->GetStatus(&context, request, &status).ok()) return -1;
  return status.done();
}

TEST_CASE("Prometheus scrapes the controller: its answers match the store") {
  const std::string dir = FreshTestDir("metrics");
  const std::string token = "metrics-test-token-7f3a";
  std::ofstream(dir + "/token") << token << "\n";
  Process controller(
      kController,
      {"--store=" + dir + "/s.db", "--port=0", "--port_file=" + dir + "/port",
       "--metrics_listen=127.0.0.1:0",
       "--metrics_port_file=" + dir + "/metrics_port",
       "--token_file=" + dir + "/token", "--search_id=metrics",
       "--population_size=4", "--sample_size=2",
       "--budget=" + std::to_string(kBudget)},
      dir + "/controller.log");
  const int port = WaitForPortFile(dir + "/port");
  REQUIRE(port > 0);
  const int metrics_port = WaitForPortFile(dir + "/metrics_port");
  REQUIRE(metrics_port > 0);
  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < 2; ++i) {
    workers.push_back(std::make_unique<Process>(
        kWorker,
        std::vector<std::string>{
            "--controller=127.0.0.1:" + std::to_string(port),
            "--worker_id=w" + std::to_string(i), "--token_file=" + dir + "/token",
            "--evaluator=simulated", "--simulated_seconds=0.05",
            "--spool_dir=" + dir + "/spool" + std::to_string(i),
            "--metrics_listen=127.0.0.1:0",
            "--metrics_port_file=" + dir + "/worker_metrics" +
                std::to_string(i),
            "--exit_when_finished=false"},
        dir + "/worker" + std::to_string(i) + ".log"));
  }

  std::vector<int> worker_ports;
  for (int i = 0; i < 2; ++i) {
    worker_ports.push_back(
        WaitForPortFile(dir + "/worker_metrics" + std::to_string(i)));
    REQUIRE(worker_ports.back() > 0);
  }
  std::ofstream(dir + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\n"
      << "scrape_configs:\n  - job_name: amoeba-controller\n"
      << "    static_configs:\n      - targets: ['127.0.0.1:" << metrics_port
      << "']\n"
      << "  - job_name: amoeba-worker\n"
      << "    static_configs:\n      - targets: ['127.0.0.1:"
      << worker_ports[0] << "', '127.0.0.1:" << worker_ports[1] << "']\n";
  Process prometheus(kPrometheus,
                     {"--config.file=" + dir + "/prometheus.yml",
                      "--storage.tsdb.path=" + dir + "/tsdb",
                      "--web.listen-address=127.0.0.1:0"},
                     dir + "/prometheus.log");
  int prometheus_port = 0;
  for (int i = 0; i < 600 && prometheus_port == 0; ++i) {
    REQUIRE(prometheus.running());
    prometheus_port = ListeningPort(prometheus.pid());
    if (prometheus_port == 0) std::this_thread::sleep_for(milliseconds(100));
  }
  REQUIRE(prometheus_port > 0);

  // The search finishes; Prometheus' last scrape says what the store says.
  const std::string done = "amoeba_children_done_total{search=\"metrics\"}";
  CHECK(WaitForValue(prometheus_port, done, kBudget) == kBudget);
  CHECK(StoreDone(port, token) == kBudget);
  CHECK(WaitForValue(prometheus_port, "amoeba_workers_online", 2) == 2);
  CHECK(WaitForValue(prometheus_port,
                     "amoeba_search_running{search=\"metrics\"}", 0) == 0);
  // Each child was leased at least once; none expired (workers alive).
  CHECK(Query(prometheus_port,
              "amoeba_leases_granted_total{search=\"metrics\"}")
            .value_or(0) >= kBudget);
  CHECK(Query(prometheus_port,
              "amoeba_leases_expired_total{search=\"metrics\"}") == 0);
  CHECK(Query(prometheus_port,
              "process_resident_memory_bytes{job=\"amoeba-controller\"}")
            .value_or(0) > 0);
  // Every child after the first of each worker came with a result's ack.
  const std::optional<double> dispatched =
      Query(prometheus_port, "sum(amoeba_dispatch_seconds_count)");
  REQUIRE(dispatched.has_value());
  CHECK(*dispatched >= kBudget);
  CHECK(Query(prometheus_port, "amoeba_best_fitness{search=\"metrics\"}")
            .value_or(-1) > 0);
  // The workers: both scraped, every child the store holds evaluated by
  // one of them, epochs timed, and nothing left in a spool.
  CHECK(WaitForValue(prometheus_port, "sum(up{job=\"amoeba-worker\"})", 2) ==
        2);
  CHECK(WaitForValue(prometheus_port, "sum(amoeba_worker_slots)", 2) == 2);
  CHECK(WaitForValue(prometheus_port,
                     "sum(amoeba_worker_children_total{outcome=\"done\"})",
                     kBudget) == kBudget);
  CHECK(Query(prometheus_port, "sum(amoeba_worker_epoch_seconds_count)")
            .value_or(0) >= kBudget);
  CHECK(WaitForValue(prometheus_port, "sum(amoeba_worker_spooled_results)",
                     0) == 0);
  CHECK(WaitForValue(prometheus_port, "sum(amoeba_worker_slots_busy)", 0) ==
        0);

  // A report with a wrong token is refused, and counted as such.
  {
    auto stub = v1::Controller::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port),
        grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer wrong-token");
    context.set_deadline(std::chrono::system_clock::now() + seconds(10));
    v1::ResultReport report;
    report.set_worker_id("intruder");
    report.set_search_id("metrics");
    report.set_model_id(1);
    report.set_attempt(1);
    v1::ResultAck ack;
    CHECK(stub->ReportResult(&context, report, &ack).error_code() ==
          grpc::StatusCode::UNAUTHENTICATED);
  }
  CHECK(WaitForValue(prometheus_port,
                     "amoeba_results_refused_total{reason=\"unauthenticated\"}",
                     1) == 1);

  // What the endpoint shows: no token, no genotype, no file path.
  auto scrape = HttpGet(metrics_port, "/metrics");
  REQUIRE(scrape.ok());
  CHECK(scrape->body.find(token) == std::string::npos);
  CHECK(scrape->body.find("normal:") == std::string::npos);
  CHECK(scrape->body.find(dir) == std::string::npos);

  // A controller stopped while scraped stops cleanly.
  controller.Signal(SIGTERM);
  const std::optional<int> exited = controller.Wait(seconds(30));
  REQUIRE(exited.has_value());
  CHECK(WIFEXITED(*exited));
  CHECK(WEXITSTATUS(*exited) == 0);
}

TEST_CASE("A metrics port in use: controller and worker refuse to start, "
          "naming it") {
  const std::string dir = FreshTestDir("metrics_taken");
  Process first(kController,
                {"--store=" + dir + "/a.db", "--port=0",
                 "--port_file=" + dir + "/port", "--metrics_listen=127.0.0.1:0",
                 "--metrics_port_file=" + dir + "/metrics_port"},
                dir + "/first.log");
  const int metrics_port = WaitForPortFile(dir + "/metrics_port");
  REQUIRE(metrics_port > 0);
  const std::string taken = "127.0.0.1:" + std::to_string(metrics_port);
  Process second(kController,
                 {"--store=" + dir + "/b.db", "--port=0",
                  "--metrics_listen=" + taken},
                 dir + "/second.log");
  const std::optional<int> exited = second.Wait(seconds(60));
  REQUIRE(exited.has_value());
  CHECK(WEXITSTATUS(*exited) == 2);
  CHECK_THAT(ReadWholeFile(dir + "/second.log"),
             Catch::Contains("--metrics_listen") && Catch::Contains(taken));
  // Nothing was created.
  CHECK_FALSE(std::ifstream(dir + "/b.db").good());

  // A worker likewise, before it registers anywhere.
  Process worker(kWorker,
                 {"--controller=127.0.0.1:1", "--evaluator=simulated",
                  "--spool_dir=" + dir + "/spool", "--metrics_listen=" + taken},
                 dir + "/worker.log");
  const std::optional<int> worker_exited = worker.Wait(seconds(60));
  REQUIRE(worker_exited.has_value());
  CHECK(WEXITSTATUS(*worker_exited) == 2);
  CHECK_THAT(ReadWholeFile(dir + "/worker.log"),
             Catch::Contains("--metrics_listen") && Catch::Contains(taken));
}

}  // namespace
}  // namespace amoeba
