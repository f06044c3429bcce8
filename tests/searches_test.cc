// Many searches in one controller, with the real binaries on loopback: two
// searches of different algorithms and datasets share three real LibTorch
// workers; pausing one gives every worker to the other; the controller is
// killed with -9 and restarted; both finish their budgets exactly.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "proto/controller.grpc.pb.h"
#include "testing/test_files.h"
#include "tests/process.h"

namespace amoeba {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kBudget = 6;

int WaitForPort(const std::string& port_file) {
  const int port = WaitForPortFile(port_file);
  if (port == 0) FAIL("controller did not write its port");
  return port;
}

// `amoeba ARGS` against the controller; its exit status (output in `log`).
int RunAmoeba(const std::string& args, const std::string& log) {
  return RunLogged(std::string(kAmoeba) + " " + args, log);
}

// A CIFAR-10 folder in the binary format (the real data cannot be fetched
// here): five batches of 60 images with a learnable pattern per class.
std::string MakeCifar(const std::string& dir) {
  std::filesystem::create_directories(dir);
  auto batch = [](int count, int seed) {
    std::string out;
    for (int r = 0; r < count; ++r) {
      const int label = (r + seed) % 10;
      out.push_back(static_cast<char>(label));
      for (int i = 0; i < 3072; ++i) {
        out.push_back(static_cast<char>((label * 25 + (i % 32) * 3 + r) % 256));
      }
    }
    return out;
  };
  for (int i = 1; i <= 5; ++i) {
    std::ofstream(dir + "/data_batch_" + std::to_string(i) + ".bin",
                  std::ios::binary)
        << batch(60, i);
  }
  std::ofstream(dir + "/test_batch.bin", std::ios::binary) << batch(20, 0);
  return dir;
}

std::unique_ptr<v1::Controller::Stub> Connect(int port) {
  return v1::Controller::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

std::map<std::string, v1::SearchStatus> Searches(v1::Controller::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(5));
  v1::ListSearchesResponse all;
  std::map<std::string, v1::SearchStatus> out;
  if (stub.ListSearches(&context, v1::ListSearchesRequest(), &all).ok()) {
    for (const auto& s : all.searches()) out[s.search_id()] = s;
  }
  return out;
}

// The search of every child the workers run now, one entry per worker.
std::map<std::string, std::vector<std::string>> Running(
    v1::Controller::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(5));
  v1::ListWorkersResponse workers;
  std::map<std::string, std::vector<std::string>> out;
  if (stub.ListWorkers(&context, v1::ListWorkersRequest(), &workers).ok()) {
    for (const auto& w : workers.workers()) {
      out[w.worker_id()] = {w.running_search_ids().begin(),
                            w.running_search_ids().end()};
    }
  }
  return out;
}

std::vector<v1::ModelSummary> Models(v1::Controller::Stub& stub,
                                     const std::string& search) {
  v1::ListModelsRequest request;
  request.set_search_id(search);
  request.set_page_size(1000);
  grpc::ClientContext context;
  v1::ListModelsResponse response;
  REQUIRE(stub.ListModels(&context, request, &response).ok());
  return {response.models().begin(), response.models().end()};
}

// The search's children once none is pending or running in the store (at
// most 30 s): ListModels reads the store, which can trail a status that
// says FINISHED by one group commit.
std::vector<v1::ModelSummary> SettledModels(v1::Controller::Stub& stub,
                                            const std::string& search) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (true) {
    std::vector<v1::ModelSummary> models = Models(stub, search);
    const bool settled = std::none_of(
        models.begin(), models.end(), [](const v1::ModelSummary& m) {
          return m.state() == v1::MODEL_PENDING ||
                 m.state() == v1::MODEL_RUNNING;
        });
    if (settled || std::chrono::steady_clock::now() > deadline) return models;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

std::vector<std::string> ControllerArgs(const std::string& dir,
                                        const std::string& port) {
  // No search flags: the searches are created with `amoeba search create`.
  return {"--store=" + dir + "/searches.db", "--port=" + port,
          "--port_file=" + dir + "/port", "--lease_timeout_s=3",
          "--heartbeat_s=1"};
}

TEST_CASE("amoeba-controller takes the search flags of `amoeba search create`") {
  const std::string dir = FreshTestDir("controller_search_flags");
  std::vector<std::string> args = ControllerArgs(dir, "0");
  for (const char* flag :
       {"--search_id=first", "--search_seed=7", "--population_size=4",
        "--sample_size=2", "--budget=9", "--epochs=3", "--checkpoint_every=1",
        "--early_stopping=median", "--stop_epochs=1,2", "--stop_children=4",
        "--max_attempts=5"}) {
    args.push_back(flag);
  }
  Process controller(kController, args, dir + "/controller.log");
  const int port = WaitForPort(dir + "/port");
  auto stub = Connect(port);
  auto searches = Searches(*stub);
  REQUIRE(searches.count("first") == 1);
  const v1::SearchConfig& c = searches["first"].config();
  CHECK(c.seed() == 7);
  CHECK(c.population_size() == 4);
  CHECK(c.budget() == 9);
  CHECK(c.settings().epochs() == 3);
  CHECK(c.settings().checkpoint_every() == 1);
  CHECK(c.early_stopping().rule() == "median");
  CHECK(c.early_stopping().epochs_size() == 2);
  CHECK(c.early_stopping().children() == 4);
  CHECK(c.max_attempts() == 5);
  CHECK(c.lease_timeout_s() == 3);  // the controller's --lease_timeout_s
  controller.Signal(SIGTERM);
  CHECK(controller.Wait(seconds(30)).has_value());

  // Refused by name, as `amoeba search create` is.
  CHECK(RunLogged(std::string(kController) + " --store=" + dir +
                      "/other.db --port=0 --early_stopping=bogus",
                  dir + "/refused.log") == 2);
  CHECK_THAT(ReadWholeFile(dir + "/refused.log"), Catch::Contains("bogus"));
}

TEST_CASE("--help of the daemons shows their own flags, not glog's") {
  const std::string dir = FreshTestDir("daemon_help");
  REQUIRE(RunLogged(std::string(kController) + " --help", dir + "/c.log") == 0);
  const std::string controller = ReadWholeFile(dir + "/c.log");
  CHECK_THAT(controller, Catch::StartsWith("amoeba-controller: runs"));
  CHECK_THAT(controller, Catch::Contains("--store (SQLite file of the searches)"));
  CHECK_THAT(controller, Catch::Contains("--early_stopping"));
  CHECK_THAT(controller, !Catch::Contains("--logtostderr"));
  REQUIRE(RunLogged(std::string(kWorker) + " --help", dir + "/w.log") == 0);
  const std::string worker = ReadWholeFile(dir + "/w.log");
  CHECK_THAT(worker, Catch::StartsWith("amoeba-worker: evaluates"));
  CHECK_THAT(worker, Catch::Contains("--spool_dir"));
  CHECK_THAT(worker, !Catch::Contains("--logtostderr"));
}

TEST_CASE("Two searches share three real workers, survive a kill -9, finish") {
  const std::string dir = FreshTestDir("two_searches");
  const std::string cifar = MakeCifar(dir + "/cifar");
  auto controller = std::make_unique<Process>(
      kController, ControllerArgs(dir, "0"), dir + "/controller.log");
  const int port = WaitForPort(dir + "/port");
  const std::string at = "--controller=127.0.0.1:" + std::to_string(port);
  const std::string small =
      " --population_size=3 --sample_size=2 --budget=" +
      std::to_string(kBudget) + " --F=4 --epochs=1 ";
  REQUIRE(RunAmoeba("search create " + at + " --search=fm --algorithm=aging" +
                        small + "--max_train_images=256 --validation_images=128",
                    dir + "/create-fm.log") == 0);
  REQUIRE(RunAmoeba("search create " + at +
                        " --search=cifar --algorithm=random --weight=2"
                        " --dataset=cifar10" +
                        small + "--max_train_images=200 --validation_images=60",
                    dir + "/create-cifar.log") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/create-cifar.log"),
             Catch::Contains("created search cifar: random"));
  // A taken id is refused, naming it.
  CHECK(RunAmoeba("search create " + at + " --search=fm", dir + "/taken.log") == 1);
  CHECK_THAT(ReadWholeFile(dir + "/taken.log"), Catch::Contains("already exists"));
  // fm waits paused while the workers come: every one of them works for
  // cifar.
  REQUIRE(RunAmoeba("search pause " + at + " --search=fm", dir + "/pause.log") == 0);

  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < 3; ++i) {
    const std::string id = "gpu-" + std::to_string(i);
    workers.push_back(std::make_unique<Process>(
        kWorker,
        std::vector<std::string>{at, "--worker_id=" + id, "--threads=1",
                                 "--data_dir=cifar10=" + cifar,
                                 "--spool_dir=" + dir + "/spool-" + id,
                                 "--max_backoff_s=1", "--rpc_deadline_s=5"},
        dir + "/" + id + ".log"));
  }
  auto stub = Connect(port);
  // Every worker is seen working for cifar, at whatever moment each one
  // starts (start-up under load takes seconds), unless cifar finishes first.
  std::set<std::string> seen_on_cifar;
  bool cifar_finished = false;
  for (int i = 0; i < 1200 && seen_on_cifar.size() < 3 && !cifar_finished; ++i) {
    for (const auto& [worker, searches] : Running(*stub)) {
      for (const std::string& s : searches) {
        CHECK(s == "cifar");  // nothing of the paused search runs
        if (s == "cifar") seen_on_cifar.insert(worker);
      }
    }
    cifar_finished = Searches(*stub)["cifar"].state() == v1::FINISHED;
    std::this_thread::sleep_for(milliseconds(100));
  }
  CHECK((seen_on_cifar.size() == 3 || cifar_finished));
  CHECK_FALSE(seen_on_cifar.empty());
  CHECK(Searches(*stub)["fm"].done() == 0);
  REQUIRE(RunAmoeba("search resume " + at + " --search=fm", dir + "/resume.log") == 0);

  // Once both have results, the controller dies hard and comes back.
  bool both_started = false;
  for (int i = 0; i < 1800 && !both_started; ++i) {
    auto searches = Searches(*stub);
    both_started = searches["fm"].done() >= 1 && searches["cifar"].done() >= 1;
    std::this_thread::sleep_for(milliseconds(100));
  }
  REQUIRE(both_started);
  controller->Signal(SIGKILL);
  controller->Wait(seconds(5));
  std::remove((dir + "/port").c_str());
  controller = std::make_unique<Process>(
      kController, ControllerArgs(dir, std::to_string(port)),
      dir + "/controller2.log");
  REQUIRE(WaitForPort(dir + "/port") == port);
  stub = Connect(port);
  CHECK(Searches(*stub).size() == 2);

  bool finished = false;
  std::map<std::string, v1::SearchStatus> searches;
  for (int i = 0; i < 3000 && !finished; ++i) {
    searches = Searches(*stub);
    finished = searches.size() == 2 &&
               searches["fm"].state() == v1::FINISHED &&
               searches["cifar"].state() == v1::FINISHED;
    std::this_thread::sleep_for(milliseconds(100));
  }
  INFO(ReadWholeFile(dir + "/controller2.log"));
  REQUIRE(finished);
  for (const std::string search : {"fm", "cifar"}) {
    const v1::SearchStatus& s = searches[search];
    CHECK(s.done() == kBudget);
    CHECK(s.population_members() == 3);
    REQUIRE(s.evaluators_size() == 1);
    CHECK(s.evaluators(0) == "libtorch");
    std::set<int64_t> ids;
    int done = 0;
    for (const auto& m : SettledModels(*stub, search)) {
      CHECK(ids.insert(m.id()).second);  // every child once
      if (m.state() == v1::MODEL_DONE) {
        ++done;
        CHECK(m.parameters() > 0);
      }
      CHECK(m.state() != v1::MODEL_PENDING);
      CHECK(m.state() != v1::MODEL_RUNNING);
    }
    CHECK(done == kBudget);
  }
  CHECK(searches["fm"].config().algorithm() == "aging");
  CHECK(searches["cifar"].config().settings().dataset() == "cifar10");
  // The workers exit by themselves once every search is finished.
  std::string logs;
  for (size_t i = 0; i < workers.size(); ++i) {
    const auto exit = workers[i]->Wait(seconds(60));
    REQUIRE(exit.has_value());
    CHECK(WIFEXITED(*exit));
    CHECK(WEXITSTATUS(*exit) == 0);
    logs += ReadWholeFile(dir + "/gpu-" + std::to_string(i) + ".log");
  }
  // Both datasets were loaded by the workers (kept in their caches).
  CHECK_THAT(logs, Catch::Contains("loading cifar10") &&
                       Catch::Contains("loading fashion_mnist"));
  // The report of one search in a store of two needs --search.
  CHECK(RunAmoeba("report " + dir + "/searches.db --report_dir=" + dir + "/r",
                  dir + "/report-any.log") != 0);
  CHECK_THAT(ReadWholeFile(dir + "/report-any.log"),
             Catch::Contains("choose one with --search=ID"));
  // A report folder whose name holds a quote still gets its drawing (dot
  // once ran through a shell with the name in single quotes).
  const std::string report_dir = dir + "/it's r";
  CHECK(RunAmoeba("report " + dir + "/searches.db --search=cifar --report_dir=\"" +
                      report_dir + "\"",
                  dir + "/report.log") == 0);
  CHECK_THAT(ReadWholeFile(report_dir + "/summary.txt"), Catch::Contains("6 done"));
  CHECK_THAT(ReadWholeFile(report_dir + "/best_genotype.svg"),
             Catch::Contains("<svg"));
}

}  // namespace
}  // namespace amoeba
