// The real binaries together: amoeba-controller and amoeba-worker processes
// on loopback, with real training or the simulated evaluator, and faults:
// workers killed, a controller killed and restarted, SIGTERM, a wrong token.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "proto/controller.grpc.pb.h"
#include "testing/test_files.h"
#include "tests/fleet_client.h"
#include "tests/process.h"

namespace amoeba {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

// Runs `cli/amoeba ARGS`, stdout+stderr to `log`; the exit status.
int RunAmoeba(const std::string& args, const std::string& log) {
  return RunLogged(std::string(kAmoeba) + " " + args, log);
}

int WaitForPort(const std::string& port_file) {
  const int port = WaitForPortFile(port_file);
  if (port == 0) FAIL("controller did not write its port");
  return port;
}

std::unique_ptr<v1::Controller::Stub> Connect(int port) {
  return v1::Controller::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

std::optional<v1::SearchStatus> Status(v1::Controller::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(5));
  v1::SearchStatus status;
  if (!stub.GetStatus(&context, v1::GetStatusRequest(), &status).ok()) {
    return std::nullopt;
  }
  return status;
}

// Polls until the search is finished or `timeout` passes.
std::optional<v1::SearchStatus> WaitFinished(v1::Controller::Stub& stub,
                                             seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto status = Status(stub);
    if (status && status->state() == v1::FINISHED) return status;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return Status(stub);
}

std::vector<v1::ModelSummary> History(v1::Controller::Stub& stub) {
  return AllModels(stub, "");  // the only search
}

// Waits until worker `id` holds a child (process start-up under load can
// take seconds, so no fixed sleep would do); the child's id, or 0 when it
// never did within `timeout`.
int64_t WaitWorkerBusy(v1::Controller::Stub& stub, const std::string& id,
                       seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext context;
    v1::ListWorkersResponse workers;
    if (stub.ListWorkers(&context, v1::ListWorkersRequest(), &workers).ok()) {
      for (const auto& w : workers.workers()) {
        if (w.worker_id() == id && w.running_size() > 0) return w.running(0);
      }
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  return 0;
}

std::vector<std::string> ControllerArgs(const std::string& dir, int budget,
                                        const std::string& port = "0") {
  return {"--store=" + dir + "/search.db", "--port=" + port,
          "--port_file=" + dir + "/port", "--population_size=3",
          "--sample_size=2", "--budget=" + std::to_string(budget),
          "--max_train_images=256", "--validation_images=128", "--F=4",
          "--epochs=1", "--lease_timeout_s=2", "--heartbeat_s=1"};
}

std::vector<std::string> SimulatedWorker(const std::string& dir, int port,
                                         const std::string& id,
                                         const std::string& seconds_per_child) {
  return {"--controller=127.0.0.1:" + std::to_string(port),
          "--worker_id=" + id,
          "--evaluator=simulated",
          "--simulated_seconds=" + seconds_per_child,
          "--spool_dir=" + dir + "/spool-" + id,
          "--max_backoff_s=1",
          "--rpc_deadline_s=2"};
}

// Every child, once `budget` are done in the store. ListModels reads the
// store, and a result is counted in the status as it is recorded, before
// its group commit is durable (its ack waits for that): the rows can trail
// a status that already says FINISHED by one commit. Waits (at most
// `timeout`) for that commit instead of for a time.
std::vector<v1::ModelSummary> SettledHistory(v1::Controller::Stub& stub,
                                             int budget, seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<v1::ModelSummary> models;
  while (true) {
    models = History(stub);
    int done = 0;
    int unfinished = 0;
    for (const auto& m : models) {
      if (m.state() == v1::MODEL_DONE) ++done;
      if (m.state() == v1::MODEL_PENDING || m.state() == v1::MODEL_RUNNING) {
        ++unfinished;
      }
    }
    if ((done == budget && unfinished == 0) ||
        std::chrono::steady_clock::now() > deadline) {
      return models;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

void CheckEveryChildOnce(v1::Controller::Stub& stub, int budget) {
  std::set<int64_t> ids;
  int done = 0;
  for (const auto& m : SettledHistory(stub, budget, seconds(30))) {
    CHECK(ids.insert(m.id()).second);
    if (m.state() == v1::MODEL_DONE) ++done;
  }
  CHECK(done == budget);
}

TEST_CASE("Controller and two workers run a real search with LibTorch") {
  const std::string dir = FreshTestDir("real");
  Process controller(kController, ControllerArgs(dir, 6), dir + "/controller.log");
  const int port = WaitForPort(dir + "/port");
  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < 2; ++i) {
    const std::string id = "trainer-" + std::to_string(i);
    workers.push_back(std::make_unique<Process>(
        kWorker,
        std::vector<std::string>{"--controller=127.0.0.1:" + std::to_string(port),
                                 "--worker_id=" + id, "--threads=1",
                                 "--spool_dir=" + dir + "/spool-" + id},
        dir + "/" + id + ".log"));
  }
  auto stub = Connect(port);
  const auto status = WaitFinished(*stub, seconds(240));
  REQUIRE(status.has_value());
  INFO(ReadWholeFile(dir + "/controller.log"));
  CHECK(status->state() == v1::FINISHED);
  CHECK(status->done() == 6);
  CHECK(status->population_members() == 3);
  REQUIRE(status->evaluators_size() == 1);
  CHECK(status->evaluators(0) == "libtorch");
  CheckEveryChildOnce(*stub, 6);
  for (const auto& m : History(*stub)) {
    CHECK(m.parameters() > 0);
    CHECK(m.fitness() >= 0);
  }
  // Workers notice the end and exit by themselves.
  for (auto& w : workers) {
    const auto exit = w->Wait(seconds(30));
    REQUIRE(exit.has_value());
    CHECK(WIFEXITED(*exit));
    CHECK(WEXITSTATUS(*exit) == 0);
  }
  CHECK_THAT(ReadWholeFile(dir + "/trainer-0.log"), Catch::Contains("finished: fitness"));

  // The report renders from the store.
  const std::string report = dir + "/report";
  REQUIRE(RunAmoeba("report " + dir + "/search.db --report_dir=" + report,
                    dir + "/report.log") == 0);
  const std::string chart = ReadWholeFile(report + "/fitness_over_time.svg");
  CHECK(chart.rfind("<svg", 0) == 0);
  CHECK_THAT(chart, Catch::Contains("data-name=\"each child\"") &&
                        Catch::Contains("data-name=\"best so far\""));
  CHECK(Count(chart, "<circle") == 6);
  const std::string histogram = ReadWholeFile(report + "/population_histogram.svg");
  int members = 0;
  for (size_t at = histogram.find("data-count=\""); at != std::string::npos;
       at = histogram.find("data-count=\"", at + 1)) {
    members += std::stoi(histogram.substr(at + 12));
  }
  CHECK(members == 3);
  CHECK_THAT(ReadWholeFile(report + "/best_genotype.svg"), Catch::Contains("<svg"));
  CHECK_THAT(ReadWholeFile(report + "/summary.txt"), Catch::Contains("6 done"));

  // Export the best genotype and retrain it with `amoeba train`.
  REQUIRE(RunAmoeba("export --export_format=text " + dir + "/search.db",
                    dir + "/best.txt") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/best.txt"), Catch::Contains("normal: "));
  REQUIRE(RunAmoeba("export --export_format=json " + dir + "/search.db",
                    dir + "/best.json") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/best.json"), Catch::Contains("\"reduction\":{\"ops\":[\"OP_"));
  CHECK(RunAmoeba("train --epochs=1 --F=4 --max_train_images=256 "
                  "--validation_images=128 --threads=2 " + dir + "/best.txt",
                  dir + "/retrain.log") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/retrain.log"), Catch::Contains("validation accuracy"));
}

TEST_CASE("A worker killed with -9 mid-evaluation: its child is re-run") {
  const std::string dir = FreshTestDir("killed_worker");
  Process controller(kController, ControllerArgs(dir, 8), dir + "/controller.log");
  const int port = WaitForPort(dir + "/port");
  auto victim = std::make_unique<Process>(
      kWorker, SimulatedWorker(dir, port, "victim", "3"), dir + "/victim.log");
  auto stub = Connect(port);
  const int64_t victims_child = WaitWorkerBusy(*stub, "victim", seconds(60));
  REQUIRE(victims_child > 0);
  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < 2; ++i) {
    const std::string id = "survivor-" + std::to_string(i);
    workers.push_back(std::make_unique<Process>(
        kWorker, SimulatedWorker(dir, port, id, "0.3"), dir + "/" + id + ".log"));
  }
  victim->Signal(SIGKILL);
  const auto status = WaitFinished(*stub, seconds(60));
  REQUIRE(status.has_value());
  CHECK(status->state() == v1::FINISHED);
  CHECK(status->done() == 8);
  CheckEveryChildOnce(*stub, 8);
  // The victim's child was handed out again and finished elsewhere. (Other
  // children may have been re-run too: a loaded machine can delay a
  // survivor's heartbeat past its lease, and that is allowed.)
  bool rerun = false;
  for (const auto& m : History(*stub)) {
    if (m.id() != victims_child) continue;
    rerun = true;
    CHECK(m.attempts() >= 2);
    CHECK(m.state() == v1::MODEL_DONE);
    CHECK(m.worker_id() != "victim");
  }
  CHECK(rerun);
  CHECK_THAT(ReadWholeFile(dir + "/controller.log"), Catch::Contains("expired"));
}

TEST_CASE("Controller killed and restarted: workers reconnect, nothing lost") {
  const std::string dir = FreshTestDir("killed_controller");
  auto controller = std::make_unique<Process>(kController, ControllerArgs(dir, 12),
                                              dir + "/controller.log");
  const int port = WaitForPort(dir + "/port");
  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < 3; ++i) {
    const std::string id = "w" + std::to_string(i);
    workers.push_back(std::make_unique<Process>(
        kWorker, SimulatedWorker(dir, port, id, "0.4"), dir + "/" + id + ".log"));
  }
  auto stub = Connect(port);
  int64_t done_before = 0;
  for (int i = 0; i < 100 && done_before < 4; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    if (auto s = Status(*stub)) done_before = s->done();
  }
  REQUIRE(done_before >= 4);
  controller->Signal(SIGKILL);
  REQUIRE(controller->Wait(seconds(30)).has_value());
  // A worker with a finished child spools it and retries: wait for that
  // (a fixed sleep would be too short on a loaded machine).
  bool retried = false;
  for (int i = 0; i < 3 && !retried; ++i) {
    retried = WaitFileContains(dir + "/w" + std::to_string(i) + ".log",
                               "retrying in", seconds(i == 0 ? 60 : 1));
  }
  REQUIRE(retried);
  std::remove((dir + "/port").c_str());
  controller = std::make_unique<Process>(
      kController, ControllerArgs(dir, 12, std::to_string(port)),
      dir + "/controller2.log");
  REQUIRE(WaitForPort(dir + "/port") == port);
  stub = Connect(port);
  const auto status = WaitFinished(*stub, seconds(60));
  REQUIRE(status.has_value());
  CHECK(status->state() == v1::FINISHED);
  CHECK(status->done() == 12);
  CHECK(status->done() >= done_before);
  CheckEveryChildOnce(*stub, 12);
  CHECK_THAT(ReadWholeFile(dir + "/controller2.log"), Catch::Contains("search opened: "));
}

TEST_CASE("Fault drill: random worker kills and a controller restart") {
  const std::string dir = FreshTestDir("drill");
  constexpr int kBudget = 30;
  constexpr int kWorkers = 4;
  auto controller = std::make_unique<Process>(
      kController, ControllerArgs(dir, kBudget), dir + "/controller.log");
  const int port = WaitForPort(dir + "/port");
  std::vector<std::unique_ptr<Process>> workers(kWorkers);
  auto start_worker = [&](int i) {
    const std::string id = "drill-" + std::to_string(i);
    auto args = SimulatedWorker(dir, port, id, "0.3");
    // Half of them with two slots: a restarted multi-slot worker must never
    // get one child in both.
    if (i % 2 == 1) args.push_back("--slots=2");
    workers[i] = std::make_unique<Process>(kWorker, args, dir + "/" + id + ".log");
  };
  for (int i = 0; i < kWorkers; ++i) start_worker(i);
  auto stub = Connect(port);
  std::mt19937 rng(2026);
  bool restarted = false;
  int kills = 0;
  // Each kill waits for progress, not for a time: on a loaded machine the
  // search may crawl or rush, and the drill still does every fault at a
  // point where more than half of the budget is left.
  for (const int64_t progress : {2, 6, 10, 14}) {
    int64_t done = 0;
    for (int i = 0; i < 1200 && done < progress; ++i) {
      const auto status = Status(*stub);
      done = status ? status->done() : 0;
      if (done < progress) std::this_thread::sleep_for(milliseconds(50));
    }
    REQUIRE(done >= progress);
    // A random worker dies hard and comes back with the same id.
    const int victim = static_cast<int>(rng() % kWorkers);
    workers[victim]->Signal(SIGKILL);
    REQUIRE(workers[victim]->Wait(seconds(30)).has_value());
    start_worker(victim);
    ++kills;
    if (kills == 2) {
      controller->Signal(SIGKILL);
      REQUIRE(controller->Wait(seconds(30)).has_value());
      std::remove((dir + "/port").c_str());
      controller = std::make_unique<Process>(
          kController, ControllerArgs(dir, kBudget, std::to_string(port)),
          dir + "/controller2.log");
      REQUIRE(WaitForPort(dir + "/port") == port);
      stub = Connect(port);
      restarted = true;
    }
  }
  REQUIRE(restarted);
  CHECK(kills == 4);
  const auto status = WaitFinished(*stub, seconds(120));
  REQUIRE(status.has_value());
  CHECK(status->state() == v1::FINISHED);
  CHECK(status->done() == kBudget);
  // Every child accounted for: done or failed, none lost, none twice.
  std::set<int64_t> ids;
  int done = 0;
  int unfinished = 0;
  int64_t max_id = 0;
  for (const auto& m : SettledHistory(*stub, kBudget, seconds(30))) {
    CHECK(ids.insert(m.id()).second);
    max_id = std::max<int64_t>(max_id, m.id());
    if (m.state() == v1::MODEL_DONE) ++done;
    if (m.state() == v1::MODEL_PENDING || m.state() == v1::MODEL_RUNNING) ++unfinished;
    CHECK(m.failures() <= 3);  // preemption and kills never exceed max_attempts
  }
  CHECK(done == kBudget);
  CHECK(unfinished == 0);
  CHECK(static_cast<int64_t>(ids.size()) == max_id);  // no gap: none lost
  v1::ListModelsRequest history;
  history.set_filter(v1::ListModelsRequest::HISTORY);
  grpc::ClientContext context;
  v1::ListModelsResponse completed;
  REQUIRE(stub->ListModels(&context, history, &completed).ok());
  CHECK(completed.total() == kBudget);
}

TEST_CASE("One worker with --slots=3 evaluates three children at once") {
  const std::string dir = FreshTestDir("slots");
  Process controller(kController, ControllerArgs(dir, 9), dir + "/controller.log");
  const int port = WaitForPort(dir + "/port");
  auto args = SimulatedWorker(dir, port, "wide", "2");
  args.push_back("--slots=3");
  Process worker(kWorker, args, dir + "/wide.log");
  auto stub = Connect(port);
  int most_running = 0;
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext context;
    v1::ListWorkersResponse workers;
    if (stub->ListWorkers(&context, v1::ListWorkersRequest(), &workers).ok() &&
        workers.workers_size() == 1) {
      CHECK(workers.workers(0).capacity() == 3);
      most_running = std::max(most_running, workers.workers(0).running_size());
    }
    const auto status = Status(*stub);
    if (status && status->state() == v1::FINISHED) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  CHECK(most_running == 3);
  const auto status = Status(*stub);
  REQUIRE(status.has_value());
  CHECK(status->done() == 9);
  CheckEveryChildOnce(*stub, 9);
}

TEST_CASE("SIGTERM stops a worker cleanly within the bound") {
  const std::string dir = FreshTestDir("sigterm");
  Process controller(kController, ControllerArgs(dir, 4), dir + "/controller.log");
  const int port = WaitForPort(dir + "/port");
  Process worker(kWorker, SimulatedWorker(dir, port, "term", "30"),
                 dir + "/term.log");
  auto stub = Connect(port);
  REQUIRE(WaitWorkerBusy(*stub, "term", seconds(60)) > 0);
  worker.Signal(SIGTERM);
  // The child would take 30 s more: an exit before that is the worker
  // stopping its evaluation, not finishing it. (How fast it stops is a
  // figure for a benchmark, not a test on a loaded machine.)
  const auto exit = worker.Wait(seconds(25));
  REQUIRE(exit.has_value());
  CHECK(WIFEXITED(*exit));
  CHECK(WEXITSTATUS(*exit) == 0);
  // The controller was told: the child waits for another worker.
  const auto status = Status(*stub);
  REQUIRE(status.has_value());
  CHECK(status->running() == 0);
  CHECK(status->pending() == 1);
  CHECK_THAT(ReadWholeFile(dir + "/term.log"), Catch::Contains("exited cleanly"));
}

TEST_CASE("A worker with a wrong token is refused and says so") {
  const std::string dir = FreshTestDir("token");
  std::ofstream(dir + "/token") << "right-token\n";
  std::ofstream(dir + "/wrong") << "wrong-token\n";
  auto args = ControllerArgs(dir, 4);
  args.push_back("--token_file=" + dir + "/token");
  Process controller(kController, args, dir + "/controller.log");
  const int port = WaitForPort(dir + "/port");
  auto worker_args = SimulatedWorker(dir, port, "intruder", "0.1");
  worker_args.push_back("--token_file=" + dir + "/wrong");
  Process worker(kWorker, worker_args, dir + "/intruder.log");
  const auto exit = worker.Wait(seconds(20));
  REQUIRE(exit.has_value());
  CHECK(WEXITSTATUS(*exit) == 3);
  CHECK_THAT(ReadWholeFile(dir + "/intruder.log"),
             Catch::Contains("the controller refused this worker: wrong token"));
  CHECK_THAT(ReadWholeFile(dir + "/controller.log"), Catch::Contains("wrong token"));
}

TEST_CASE("A second controller on the same store is refused, naming the first") {
  const std::string dir = FreshTestDir("two_controllers");
  Process first(kController, ControllerArgs(dir, 4), dir + "/first.log");
  WaitForPort(dir + "/port");
  auto args = ControllerArgs(dir, 4);
  args[2] = "--port_file=" + dir + "/port2";
  Process second(kController, args, dir + "/second.log");
  const auto exit = second.Wait(seconds(20));
  REQUIRE(exit.has_value());
  CHECK(WEXITSTATUS(*exit) == 2);
  CHECK_THAT(ReadWholeFile(dir + "/second.log"),
             Catch::Contains("is in use by another controller (pid " +
                             std::to_string(first.pid())));
  CHECK(first.running());
}

TEST_CASE("amoeba store check finds damage a controller would refuse") {
  const std::string dir = FreshTestDir("store_check");
  {
    Process controller(kController, ControllerArgs(dir, 4), dir + "/controller.log");
    const int port = WaitForPort(dir + "/port");
    Process worker(kWorker, SimulatedWorker(dir, port, "w", "0.05"), dir + "/w.log");
    auto stub = Connect(port);
    const auto status = WaitFinished(*stub, seconds(60));
    REQUIRE(status.has_value());
    REQUIRE(status->done() == 4);
    // A check beside the running controller.
    CHECK(RunAmoeba("store check " + dir + "/search.db", dir + "/check-live.log") == 0);
  }
  CHECK(RunAmoeba("store check " + dir + "/search.db", dir + "/check.log") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/check.log"), Catch::Contains(": ok"));
  REQUIRE(std::system(("sqlite3 " + dir + "/search.db \"UPDATE models SET fitness = 1e308 "
                       "WHERE id = 2; DELETE FROM engine_state\"")
                          .c_str()) == 0);
  CHECK(RunAmoeba("store check " + dir + "/search.db", dir + "/damaged.log") == 1);
  const std::string damaged = ReadWholeFile(dir + "/damaged.log");
  CHECK_THAT(damaged, Catch::Contains("row 2 of models: fitness"));
  CHECK_THAT(damaged, Catch::Contains("no engine_state row"));
  // The controller refuses to resume it.
  std::remove((dir + "/port").c_str());
  Process again(kController, ControllerArgs(dir, 4), dir + "/again.log");
  const auto exit = again.Wait(seconds(20));
  REQUIRE(exit.has_value());
  CHECK(WEXITSTATUS(*exit) == 2);
}

TEST_CASE("amoeba status over TLS; pause, resume and stop with a token") {
  const std::string dir = FreshTestDir("admin_cli");
  REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir +
                       "/key.pem -out " + dir + "/cert.pem -days 2 -subj /CN=localhost "
                       "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null")
                          .c_str()) == 0);
  std::ofstream(dir + "/token") << "admin-token\r\n";  // a CRLF token works too
  auto args = ControllerArgs(dir, 4);
  args.push_back("--token_file=" + dir + "/token");
  args.push_back("--tls_cert=" + dir + "/cert.pem");
  args.push_back("--tls_key=" + dir + "/key.pem");
  Process controller(kController, args, dir + "/controller.log");
  const int port = WaitForPort(dir + "/port");
  const std::string tls = " --controller=localhost:" + std::to_string(port) +
                          " --tls_ca=" + dir + "/cert.pem";
  CHECK(RunAmoeba("status" + tls, dir + "/status.log") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/status.log"), Catch::Contains("running"));
  CHECK(RunAmoeba("pause" + tls, dir + "/no-token.log") == 1);
  CHECK_THAT(ReadWholeFile(dir + "/no-token.log"), Catch::Contains("missing token"));
  const std::string token = tls + " --token_file=" + dir + "/token";
  CHECK(RunAmoeba("pause" + token, dir + "/pause.log") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/pause.log"), Catch::Contains("search paused"));
  CHECK(RunAmoeba("resume" + token, dir + "/resume.log") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/resume.log"), Catch::Contains("search running"));
  CHECK(RunAmoeba("stop" + token, dir + "/stop.log") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/stop.log"), Catch::Contains("search stopped"));
  CHECK(RunAmoeba("status --controller=127.0.0.1:" + std::to_string(port),
                  dir + "/plain.log") == 3);  // plaintext to a TLS controller
}

}  // namespace
}  // namespace amoeba
