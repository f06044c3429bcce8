// controller_loadgen: many simulated workers over real gRPC channels from one
// process, against a real amoeba-controller process with its SQLite store.
// Prints completed evaluations/s, dispatch latency (result sent -> next task
// received) p50/p99, and the controller's CPU time and peak RSS. With
// --searches=N the same fleet serves N running searches of one controller
// (weights from --weights), measured after a single-search run of the same
// length, and the share of results each search got is printed against its
// weight.
//
//   bazel run //controller:controller_loadgen -- --workers=1000 --seconds=30
//   bazel run //controller:controller_loadgen -- --searches=10
//       --weights=1,1,1,1,1,1,2,2,3,3
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

#include "absl/strings/str_format.h"
#include "common/daemon_setup.h"
#include "evolution/landscape.h"
#include "genotype/text.h"
#include "gflags/gflags.h"
#include "proto/controller.grpc.pb.h"
#include "testing/http_get.h"

DEFINE_string(controller_binary, "controller/amoeba-controller",
              "path of amoeba-controller");
DEFINE_int32(workers, 1000, "simulated workers (each registered, each holding a task)");
DEFINE_int32(threads, 8, "client threads driving the workers");
DEFINE_int32(channels, 8, "gRPC channels the workers share");
DEFINE_int32(seconds, 30, "measurement time (after registration)");
DEFINE_int64(max_results, 0, "stop after this many results (0 = time only)");
DEFINE_int32(eval_ms, 0, "simulated evaluation time per child (0 = at once)");
DEFINE_int32(population_size, 100, "P");
DEFINE_int32(sample_size, 25, "S");
DEFINE_string(store, "/tmp/amoeba_loadgen.db", "store file (replaced)");
DEFINE_int32(searches, 1, "running searches sharing the workers");
DEFINE_string(weights, "",
              "comma-separated weight of each search (default: all 1)");
DEFINE_int32(scrape_ms, 0,
             "> 0: the controller exports metrics (--metrics_listen) and a "
             "scraper GETs /metrics every this many ms while it runs");
DEFINE_bool(next_in_ack, true,
            "ask for the next child in the result's ack, as amoeba-worker "
            "does (false: a separate GetTask after each result)");

namespace {

using Clock = std::chrono::steady_clock;

struct ProcStats {
  double cpu_seconds = 0;
  long peak_rss_kb = 0;
};

ProcStats ReadProc(pid_t pid) {
  ProcStats s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), {});
  const size_t close = content.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(content.substr(close + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoul(field);
      if (i == 15) stime = std::stoul(field);
    }
    s.cpu_seconds = static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) s.peak_rss_kb = std::stol(line.substr(6));
  }
  return s;
}

struct SimWorker {
  std::string id;
  amoeba::v1::Controller::Stub* stub = nullptr;
  bool has_task = false;
  amoeba::v1::Task task;
  Clock::time_point ready;  // when its evaluation is done
  uint64_t sequence = 0;    // requests sent (one at a time per worker)
  // What amoeba-worker says with every request: one incarnation, requests
  // numbered, all earlier ones settled, the task it holds.
  amoeba::v1::WorkerView View() {
    amoeba::v1::WorkerView view;
    view.set_incarnation(1);
    view.set_sequence(++sequence);
    view.set_settled(sequence - 1);
    if (has_task) {
      amoeba::v1::HeldTask* held = view.add_held();
      held->set_model_id(task.model_id());
      held->set_attempt(task.attempt());
      held->set_search_id(task.search_id());
    }
    return view;
  }
};

}  // namespace

using amoeba::v1::Controller;

namespace {

struct Phase {
  int64_t results = 0;
  double elapsed = 0;
  double p50 = 0;
  double p99 = 0;
  double cpu_seconds = 0;
  double peak_rss_mb = 0;
  std::map<std::string, int64_t> by_search;
  std::atomic<int64_t> scrapes{0};  // --scrape_ms
  std::atomic<int64_t> scrapes_failed{0};
  std::atomic<int64_t> scraped_bytes{0};
};

// A fresh controller on a fresh store; its port in `port`. -1 when it did
// not start (its log says why).
pid_t StartController(bool flags_search, std::string* port) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::remove((FLAGS_store + suffix).c_str());
  }
  const std::string port_file = FLAGS_store + ".port";
  std::remove(port_file.c_str());
  const pid_t controller = fork();
  if (controller == 0) {
    const std::string log = FLAGS_store + ".log";
    FILE* f = freopen(log.c_str(), "w", stderr);
    (void)f;
    std::vector<std::string> args = {
        FLAGS_controller_binary, "--store=" + FLAGS_store, "--port=0",
        "--port_file=" + port_file, "--lease_timeout_s=600",
        "--minloglevel=1"};
    if (FLAGS_scrape_ms > 0) {
      args.push_back("--metrics_listen=127.0.0.1:0");
      args.push_back("--metrics_port_file=" + FLAGS_store + ".metrics_port");
    }
    if (flags_search) {
      args.push_back("--population_size=" +
                     std::to_string(FLAGS_population_size));
      args.push_back("--sample_size=" + std::to_string(FLAGS_sample_size));
      args.push_back("--budget=100000000");
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(FLAGS_controller_binary.c_str(), argv.data());
    _exit(127);
  }
  port->clear();
  for (int i = 0; i < 200 && port->empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(port_file);
    std::getline(in, *port);
  }
  if (port->empty()) {
    std::cerr << "controller did not start; see " << FLAGS_store << ".log\n";
    kill(controller, SIGKILL);
    return -1;
  }
  return controller;
}

// One search per weight, "load-0", "load-1", ...
bool CreateSearches(Controller::Stub& stub, const std::vector<double>& weights) {
  for (size_t i = 0; i < weights.size(); ++i) {
    amoeba::v1::CreateSearchRequest request;
    request.set_search_id("load-" + std::to_string(i));
    request.mutable_config()->set_population_size(FLAGS_population_size);
    request.mutable_config()->set_sample_size(FLAGS_sample_size);
    request.mutable_config()->set_budget(100000000);
    request.mutable_config()->set_seed(i + 1);
    request.mutable_config()->set_weight(weights[i]);
    amoeba::v1::CreateSearchResponse response;
    grpc::ClientContext context;
    const grpc::Status s = stub.CreateSearch(&context, request, &response);
    if (!s.ok()) {
      std::cerr << "CreateSearch failed: " << s.error_message() << "\n";
      return false;
    }
  }
  return true;
}

bool RegisterWorkers(
    const std::vector<std::unique_ptr<Controller::Stub>>& stubs,
    std::vector<SimWorker>* workers) {
  for (size_t i = 0; i < workers->size(); ++i) {
    SimWorker& w = (*workers)[i];
    w.id = "loadgen-" + std::to_string(i);
    w.stub = stubs[i % stubs.size()].get();
    amoeba::v1::RegisterRequest request;
    request.set_worker_id(w.id);
    request.set_capacity(1);
    request.set_evaluator("simulated");
    request.set_incarnation(1);
    amoeba::v1::RegisterResponse response;
    grpc::ClientContext context;
    if (!w.stub->Register(&context, request, &response).ok()) {
      std::cerr << "register failed\n";
      return false;
    }
  }
  return true;
}

void Hold(SimWorker& w, const amoeba::v1::Task& task) {
  w.task = task;
  w.has_task = true;
  w.ready = Clock::now() + std::chrono::milliseconds(FLAGS_eval_ms);
}

void AskForTask(SimWorker& w) {
  amoeba::v1::GetTaskRequest request;
  request.set_worker_id(w.id);
  *request.mutable_view() = w.View();
  amoeba::v1::GetTaskResponse response;
  grpc::ClientContext context;
  if (w.stub->GetTask(&context, request, &response).ok() &&
      response.has_task()) {
    Hold(w, response.task());
  }
}

// What one load thread counted.
struct ThreadTally {
  std::vector<double> latencies_ms;  // of ReportResult
  std::map<std::string, int64_t> by_search;
};

// Reports `w`'s finished child and takes its next one. False when the
// report failed.
bool ReportResult(SimWorker& w, ThreadTally* tally) {
  amoeba::v1::ResultReport report;
  report.set_worker_id(w.id);
  report.set_model_id(w.task.model_id());
  report.set_attempt(w.task.attempt());
  report.set_search_id(w.task.search_id());
  report.set_ok(true);
  // SIMULATED fitness on the structured landscape, so the algorithms
  // behave as they would on a real one.
  auto genotype = amoeba::ParseGenotype(w.task.genotype_text());
  report.set_fitness(genotype.ok() ? amoeba::StructuredFitness(*genotype, 1)
                                   : 0.5);
  report.set_evaluator("simulated");
  report.set_next_task(FLAGS_next_in_ack);
  *report.mutable_view() = w.View();
  amoeba::v1::ResultAck ack;
  const auto sent = Clock::now();
  grpc::ClientContext context;
  w.has_task = false;
  if (!w.stub->ReportResult(&context, report, &ack).ok()) return false;
  ++tally->by_search[report.search_id()];
  if (ack.next().has_task()) {
    Hold(w, ack.next().task());
  } else {
    AskForTask(w);
  }
  tally->latencies_ms.push_back(
      std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
  return true;
}

// Load thread `t` of FLAGS_threads: drives workers t, t + threads, ...
// until `stop`.
void DriveWorkers(int t, std::vector<SimWorker>& workers,
                  std::atomic<bool>& stop, std::atomic<int64_t>& results,
                  ThreadTally* tally) {
  while (!stop) {
    bool idle = true;
    for (int i = t; i < FLAGS_workers && !stop; i += FLAGS_threads) {
      SimWorker& w = workers[i];
      if (!w.has_task) {
        AskForTask(w);
        idle = false;
        continue;
      }
      if (Clock::now() < w.ready) continue;
      idle = false;
      if (!ReportResult(w, tally)) continue;
      ++results;
      if (FLAGS_max_results > 0 && results >= FLAGS_max_results) stop = true;
    }
    if (idle) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// One measurement: a fresh controller and store, `weights.size()` running
// searches (one: the search the controller's flags create), every worker
// registered, then FLAGS_seconds of results.
bool RunPhase(const std::vector<double>& weights, Phase* phase) {
  const bool flags_search = weights.size() == 1;
  std::string port;
  const pid_t controller = StartController(flags_search, &port);
  if (controller < 0) return false;
  std::vector<std::unique_ptr<Controller::Stub>> stubs;
  for (int c = 0; c < FLAGS_channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", c);  // distinct channels, not one shared
    stubs.push_back(Controller::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + port, grpc::InsecureChannelCredentials(), args)));
  }
  std::vector<SimWorker> workers(FLAGS_workers);
  if ((!flags_search && !CreateSearches(*stubs[0], weights)) ||
      !RegisterWorkers(stubs, &workers)) {
    kill(controller, SIGKILL);
    return false;
  }
  const ProcStats before = ReadProc(controller);
  std::atomic<int64_t> results{0};
  std::atomic<bool> stop{false};
  std::vector<ThreadTally> tallies(FLAGS_threads);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < FLAGS_threads; ++t) {
    threads.emplace_back([&, t] {
      DriveWorkers(t, workers, stop, results, &tallies[t]);
    });
  }
  if (FLAGS_scrape_ms > 0) {
    int metrics_port = 0;
    std::ifstream(FLAGS_store + ".metrics_port") >> metrics_port;
    threads.emplace_back([&, metrics_port] {
      while (!stop) {
        absl::StatusOr<amoeba::HttpResponse> got =
            amoeba::HttpGet(metrics_port, "/metrics");
        if (got.ok() && got->status == 200) {
          ++phase->scrapes;
          phase->scraped_bytes += static_cast<int64_t>(got->body.size());
        } else {
          ++phase->scrapes_failed;
        }
        // In short naps: the phase's clock stops when every thread ended.
        const auto next =
            Clock::now() + std::chrono::milliseconds(FLAGS_scrape_ms);
        while (!stop && Clock::now() < next) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
    });
  }
  while (!stop && Clock::now() - start < std::chrono::seconds(FLAGS_seconds)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const ProcStats after = ReadProc(controller);
  std::vector<double> all;
  for (const ThreadTally& tally : tallies) {
    all.insert(all.end(), tally.latencies_ms.begin(), tally.latencies_ms.end());
    for (const auto& [search, n] : tally.by_search) phase->by_search[search] += n;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  phase->results = results.load();
  phase->elapsed = elapsed;
  phase->p50 = pct(0.5);
  phase->p99 = pct(0.99);
  phase->cpu_seconds = after.cpu_seconds - before.cpu_seconds;
  phase->peak_rss_mb = after.peak_rss_kb / 1024.0;
  kill(controller, SIGTERM);
  int status = 0;
  waitpid(controller, &status, 0);
  return true;
}

void Print(const char* title, const Phase& p) {
  std::cout << absl::StrFormat(
      "%s: results %d in %.1f s: %.0f evaluations/s (durable: acknowledged "
      "after commit)\n"
      "  dispatch latency (result sent -> next task received): p50 %.2f ms, "
      "p99 %.2f ms\n"
      "  controller: %.1f CPU-s (%.2f cores), peak RSS %.1f MB\n",
      title, p.results, p.elapsed, p.results / p.elapsed, p.p50, p.p99,
      p.cpu_seconds, p.cpu_seconds / p.elapsed, p.peak_rss_mb);
  if (FLAGS_scrape_ms > 0) {
    std::cout << absl::StrFormat(
        "  metrics: %d scrapes of /metrics (%d failed), %.1f KB each\n",
        p.scrapes, p.scrapes_failed,
        p.scrapes > 0 ? p.scraped_bytes / 1024.0 / p.scrapes : 0.0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  amoeba::DisableMutexDeadlockDetection();
  if (FLAGS_searches < 1) {
    std::cerr << "--searches must be >= 1\n";
    return 2;
  }
  std::vector<double> weights(FLAGS_searches, 1.0);
  if (!FLAGS_weights.empty()) {
    std::vector<std::string> parts = absl::StrSplit(FLAGS_weights, ',');
    if (static_cast<int>(parts.size()) != FLAGS_searches) {
      std::cerr << "--weights needs one weight per search (" << FLAGS_searches
                << ")\n";
      return 2;
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!absl::SimpleAtod(parts[i], &weights[i]) || !(weights[i] > 0)) {
        std::cerr << "--weights: '" << parts[i] << "' is not a weight > 0\n";
        return 2;
      }
    }
  }
  std::cout << absl::StrFormat(
      "workers %d (over %d channels, %d client threads), eval %d ms, P=%d "
      "S=%d, next child %s\n",
      FLAGS_workers, FLAGS_channels, FLAGS_threads, FLAGS_eval_ms,
      FLAGS_population_size, FLAGS_sample_size,
      FLAGS_next_in_ack ? "in the result's ack" : "by a separate GetTask");
  Phase single;
  if (!RunPhase({1.0}, &single)) return 1;
  Print("1 search", single);
  if (FLAGS_searches == 1) return 0;
  Phase many;
  if (!RunPhase(weights, &many)) return 1;
  Print(absl::StrFormat("%d searches", FLAGS_searches).c_str(), many);
  double total_weight = 0;
  for (double w : weights) total_weight += w;
  double worst = 0;
  std::cout << "  share of results by search (target: weight / total "
               "weight):\n";
  for (int i = 0; i < FLAGS_searches; ++i) {
    const std::string id = "load-" + std::to_string(i);
    const double share =
        static_cast<double>(many.by_search[id]) / std::max<int64_t>(1, many.results);
    const double target = weights[i] / total_weight;
    const double off = (share - target) / target;
    worst = std::max(worst, std::abs(off));
    std::cout << absl::StrFormat(
        "    %-8s weight %-4g %7d results  share %.4f  target %.4f  (%+.1f%%)\n",
        id, weights[i], many.by_search[id], share, target, 100 * off);
  }
  std::cout << absl::StrFormat(
      "  largest deviation from the weight's share: %.1f%%\n", 100 * worst);
  return 0;
}
