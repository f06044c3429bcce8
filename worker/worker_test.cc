// The worker daemon's logic (Worker) against a real controller: a Search on
// a real SQLite store behind a real gRPC server on a loopback port. The
// evaluator here is a small stand-in that returns at once (the trainer has
// tests of its own).
#include "worker/worker.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "catch2/catch.hpp"
#include "common/checkpoint_file.h"
#include "controller/search.h"
#include "controller/server.h"
#include "testing/test_files.h"
#include "worker/spool.h"

namespace amoeba {
namespace {

constexpr char kWorkerId[] = "w";

class QuickEvaluator final : public Evaluator {
 public:
  std::string name() const override { return "quick"; }
  EvaluationResult Evaluate(const v1::Task& task,
                            const EvaluationCallbacks& callbacks) override {
    EvaluationProgress progress;
    progress.epoch = progress.epochs = 1;
    callbacks.on_progress(progress);
    EvaluationResult r;
    r.ok = true;
    r.fitness = 0.5 + 0.01 * static_cast<double>(task.model_id() % 10);
    return r;
  }
};

struct Controller {
  explicit Controller(const std::string& name, int64_t budget) {
    SearchOptions o;
    o.engine.population_size = 3;
    o.engine.sample_size = 2;
    o.engine.budget = budget;
    o.settings.set_dataset("fashion_mnist");
    o.settings.set_cells_per_stack(1);
    o.settings.set_filters(8);
    o.settings.set_epochs(1);
    o.settings.set_batch_size(16);
    o.heartbeat_interval = absl::Milliseconds(100);
    o.retry_after = absl::Milliseconds(20);
    auto opened = OpenSingleSearchController(FreshSqlitePath(name), o);
    REQUIRE(opened.ok());
    controller = *std::move(opened);
    search = controller->Searches().front();
    auto started =
        ControllerServer::Start(ControllerServer::Spec(), controller.get());
    REQUIRE(started.ok());
    server = *std::move(started);
  }
  ~Controller() { server->Shutdown(absl::Seconds(1)); }
  WorkerOptions Options(const std::string& spool) const {
    WorkerOptions w;
    w.controller = absl::StrCat("127.0.0.1:", server->port());
    w.worker_id = std::string(kWorkerId);
    w.slots = 2;
    w.spool_dir = spool;
    w.max_backoff = absl::Seconds(1);
    return w;
  }
  std::unique_ptr<amoeba::Controller> controller;
  Search* search = nullptr;
  std::unique_ptr<ControllerServer> server;
};

// Runs a worker until the search is finished (or 60 s pass).
absl::Status RunWorker(const WorkerOptions& options) {
  Worker worker(options, std::make_unique<QuickEvaluator>());
  absl::Notification stop;
  absl::Status status;
  std::thread run([&] { status = worker.Run(&stop); });
  std::thread guard([&] {
    stop.WaitForNotificationWithTimeout(absl::Seconds(60));
    if (!stop.HasBeenNotified()) stop.Notify();
  });
  run.join();
  if (!stop.HasBeenNotified()) stop.Notify();
  guard.join();
  return status;
}

TEST_CASE("a two-slot worker finishes a search; every child handed out once") {
  Controller controller("worker-finish.db", 8);
  const std::string spool = FreshTestDir("worker-finish-spool");
  REQUIRE(RunWorker(controller.Options(spool)).ok());
  CHECK(controller.search->Finished());
  const v1::SearchStatus status = controller.search->Status();
  CHECK(status.done() == 8);
  v1::ListModelsRequest all;
  auto models = controller.search->ListModels(all);
  REQUIRE(models.ok());
  for (const v1::ModelSummary& m : models->models()) {
    CHECK(m.attempts() == 1);
    CHECK(m.evaluator() == "quick");
  }
  CHECK(Spool(spool).List().empty());
}

TEST_CASE("a result whose spool write fails is still delivered") {
  Controller controller("worker-spool-fails.db", 4);
  const std::string spool = FreshTestDir("worker-spool-fails");
  // The spool file of child 1 cannot be written: its name is taken by a
  // folder that is not empty, which no rename replaces.
  std::filesystem::create_directories(absl::StrCat(
      spool, "/", controller.search->search_id(), "-1-1.result/in"));
  REQUIRE(RunWorker(controller.Options(spool)).ok());
  auto child = controller.search->GetModel(1);
  REQUIRE(child.ok());
  CHECK(child->model().state() == v1::MODEL_DONE);
  CHECK(child->model().attempts() == 1);
  CHECK(controller.search->Status().done() == 4);
}

TEST_CASE("a spooled result of another search is refused and dropped") {
  Controller controller("worker-other-search.db", 3);
  const std::string spool = FreshTestDir("worker-other-search");
  v1::ResultReport old;
  old.set_worker_id("w");
  old.set_model_id(1);
  old.set_attempt(1);
  old.set_search_id("s-000000000001");
  old.set_ok(true);
  old.set_fitness(0.99);
  REQUIRE(Spool(spool).Write(old).ok());
  // A damaged spool file is removed, not sent.
  std::ofstream(spool + "/s-000000000001-2-1.result") << "amoeba-result 99 0\n";
  // The refused result's child may still be trained from its shared
  // checkpoint by whoever holds it: the checkpoint stays.
  WorkerOptions options = controller.Options(spool);
  options.checkpoint_dir = FreshTestDir("worker-other-search-checkpoints");
  const std::string checkpoint =
      options.checkpoint_dir + "/s-000000000001/1.e2.ckpt";
  REQUIRE(WriteFileAtomically(checkpoint, EncodeCheckpoint(2, "state")).ok());
  REQUIRE(RunWorker(options).ok());
  auto child = controller.search->GetModel(1);
  REQUIRE(child.ok());
  CHECK(child->model().fitness() != 0.99);
  CHECK(controller.search->Status().done() == 3);
  CHECK(Spool(spool).List().empty());
  CHECK(std::filesystem::exists(checkpoint));
}

}  // namespace
}  // namespace amoeba
