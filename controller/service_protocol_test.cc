// The worker protocol over a real server on 127.0.0.1:0, a real SQLite store
// and real gRPC clients acting as workers: every child once, reassignment,
// results that carry the next child, failures, a restarted controller.
#include "controller/server.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "controller/service_test_fixture.h"
#include "proto/controller.grpc.pb.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

TEST_CASE("Three workers complete a small search; every child once") {
  const std::string path = FreshSqlitePath("full.db");
  ServedController controller(path, SmallSearch());
  std::atomic<int> results{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&, w] {
      const std::string id = "worker-" + std::to_string(w);
      Register(controller.stub(), id);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      for (int i = 0; i < 1000 && std::chrono::steady_clock::now() < deadline; ++i) {
        const v1::GetTaskResponse r = GetTask(controller.stub(), id);
        if (r.search_finished()) return;
        if (!r.has_task()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(r.retry_after_ms()));
          continue;
        }
        v1::ProgressReport progress;
        progress.set_worker_id(id);
        progress.set_model_id(r.task().model_id());
        progress.set_attempt(r.task().attempt());
        progress.set_epoch(1);
        v1::ProgressAck pack;
        REQUIRE(controller.stub().ReportProgress(Context().get(), progress, &pack).ok());
        CHECK_FALSE(pack.cancel());
        v1::ResultAck ack;
        REQUIRE(Report(controller.stub(), id, r.task(),
                       FitnessOf(r.task().genotype_text()), &ack).ok());
        CHECK(ack.recorded());
        ++results;
      }
    });
  }
  for (auto& t : workers) t.join();
  CHECK(results == 12);

  v1::SearchStatus status;
  REQUIRE(controller.stub().GetStatus(Context("").get(), v1::GetStatusRequest(), &status).ok());
  CHECK(status.state() == v1::FINISHED);
  CHECK(status.done() == 12);
  CHECK(status.budget_left() == 0);
  CHECK(status.population_members() == 4);
  CHECK(status.workers_online() == 3);
  // The best ever may have died of age: it is at least the best alive.
  CHECK(status.best().fitness() >= status.population_max());

  v1::ListModelsRequest history;
  history.set_filter(v1::ListModelsRequest::HISTORY);
  history.set_page_size(5);
  std::set<int64_t> ids;
  std::vector<int64_t> completion_order;
  for (int page = 0; page < 10; ++page) {
    v1::ListModelsResponse models;
    REQUIRE(controller.stub().ListModels(Context("").get(), history, &models).ok());
    CHECK(models.total() == 12);
    for (const auto& m : models.models()) {
      CHECK(ids.insert(m.id()).second);
      completion_order.push_back(m.id());
      CHECK(m.state() == v1::MODEL_DONE);
      CHECK(m.fitness() == Approx(FitnessOf(m.genotype_text())));
    }
    if (models.next_page_token().empty()) break;
    history.set_page_token(models.next_page_token());
  }
  CHECK(ids.size() == 12);

  // The population the store says is the population the engine holds.
  v1::ListModelsRequest population;
  population.set_filter(v1::ListModelsRequest::POPULATION);
  v1::ListModelsResponse alive;
  REQUIRE(controller.stub().ListModels(Context("").get(), population, &alive).ok());
  REQUIRE(alive.models_size() == 4);
  // Aging: the population is the last P children to complete.
  for (int i = 0; i < 4; ++i) {
    CHECK(alive.models(i).id() == completion_order[8 + i]);
  }
  // Lineage of a mutated child reaches a random ancestor.
  v1::ListModelsRequest by_fitness;
  by_fitness.set_order(v1::ListModelsRequest::BY_FITNESS);
  v1::ListModelsResponse best;
  REQUIRE(controller.stub().ListModels(Context("").get(), by_fitness, &best).ok());
  CHECK(best.models(0).fitness() == status.best().fitness());
  v1::GetModelRequest get;
  get.set_id(12);
  v1::GetModelResponse model;
  REQUIRE(controller.stub().GetModel(Context("").get(), get, &model).ok());
  CHECK(model.genotype().normal().ops_size() == 10);
  if (model.model().parent_id() > 0) {
    REQUIRE(model.lineage_size() >= 1);
    CHECK(model.lineage(model.lineage_size() - 1).parent_id() == -1);
  }
}

TEST_CASE("A silent worker's child goes to another worker; first result wins") {
  const std::string path = FreshSqlitePath("lease.db");
  ServedController controller(path, SmallSearch());
  Register(controller.stub(), "slow");
  Register(controller.stub(), "fast");
  const v1::GetTaskResponse first = GetTask(controller.stub(), "slow");
  REQUIRE(first.has_task());
  CHECK(first.task().attempt() == 1);
  // "slow" goes silent for longer than its lease. Expiring by hand makes
  // the requeue happen now rather than at the lease thread's next turn.
  controller.clock().Advance(absl::Milliseconds(500));
  controller.search().ExpireLeases();
  CHECK(controller.search().Status().running() == 0);
  // "fast" gets the requeued child; any other child it gets first is
  // finished at once to keep it free.
  bool reassigned = false;
  v1::Task second;
  for (int i = 0; i < 20 && !reassigned; ++i) {
    const v1::GetTaskResponse r = GetTask(controller.stub(), "fast");
    REQUIRE(r.has_task());
    if (r.task().model_id() == first.task().model_id()) {
      second = r.task();
      reassigned = true;
    } else {
      v1::ResultAck ack;
      REQUIRE(Report(controller.stub(), "fast", r.task(), 0.5, &ack).ok());
    }
  }
  REQUIRE(reassigned);
  CHECK(second.attempt() == 2);

  // The late result of attempt 1 arrives first and wins.
  v1::ResultAck late;
  REQUIRE(Report(controller.stub(), "slow", first.task(), 0.9, &late).ok());
  CHECK(late.recorded());
  // The new holder is told to stop, and its result is a logged duplicate.
  v1::ProgressReport progress;
  progress.set_worker_id("fast");
  progress.set_model_id(second.model_id());
  progress.set_attempt(second.attempt());
  v1::ProgressAck pack;
  REQUIRE(controller.stub().ReportProgress(Context().get(), progress, &pack).ok());
  CHECK(pack.cancel());
  v1::ResultAck duplicate;
  REQUIRE(Report(controller.stub(), "fast", second, 0.1, &duplicate).ok());
  CHECK_FALSE(duplicate.recorded());
  v1::GetModelRequest get;
  get.set_id(first.task().model_id());
  v1::GetModelResponse model;
  REQUIRE(controller.stub().GetModel(Context("").get(), get, &model).ok());
  CHECK(model.model().fitness() == 0.9);
  CHECK(model.model().worker_id() == "slow");
}

TEST_CASE("A result's ack can carry the worker's next child") {
  ServedController controller(FreshSqlitePath("next.db"), SmallSearch());
  Register(controller.stub(), "w");
  const v1::Task first = GetTask(controller.stub(), "w").task();
  v1::ResultReport report;
  report.set_worker_id("w");
  report.set_model_id(first.model_id());
  report.set_attempt(first.attempt());
  report.set_search_id(first.search_id());
  report.set_ok(true);
  report.set_fitness(0.25);
  report.set_next_task(true);
  // The worker says it holds the child it reports (request 2; 1 was the
  // GetTask above, untracked here).
  v1::WorkerView* view = report.mutable_view();
  view->set_incarnation(1);
  view->set_sequence(2);
  view->set_settled(1);
  v1::HeldTask* held = view->add_held();
  held->set_model_id(first.model_id());
  held->set_attempt(first.attempt());
  held->set_search_id(first.search_id());
  v1::ResultAck ack;
  REQUIRE(controller.stub().ReportResult(Context().get(), report, &ack).ok());
  CHECK(ack.recorded());
  REQUIRE(ack.next().has_task());
  const v1::Task second = ack.next().task();
  CHECK(second.model_id() == first.model_id() + 1);
  CHECK(second.attempt() == 1);
  CHECK_FALSE(second.genotype_text().empty());
  v1::SearchStatus status = controller.search().Status();
  CHECK(status.done() == 1);
  CHECK(status.running() == 1);

  // The ack was lost: the worker sends the report again (request 3, with 2
  // settled). The child the lost ack carried is an orphan; it is handed out
  // again, as a new attempt, and never leased twice.
  view->set_sequence(3);
  view->set_settled(2);
  v1::ResultAck duplicate;
  REQUIRE(controller.stub().ReportResult(Context().get(), report, &duplicate).ok());
  CHECK_FALSE(duplicate.recorded());
  CHECK(duplicate.next().task().model_id() == second.model_id());
  CHECK(duplicate.next().task().attempt() == 2);
  CHECK(controller.search().Status().running() == 1);
  report.clear_view();

  // Without next_task the ack has no next and no child is handed out.
  report.set_model_id(second.model_id());
  report.set_attempt(2);
  report.set_next_task(false);
  v1::ResultAck plain;
  REQUIRE(controller.stub().ReportResult(Context().get(), report, &plain).ok());
  CHECK(plain.recorded());
  CHECK_FALSE(plain.has_next());
  status = controller.search().Status();
  CHECK(status.done() == 2);
  CHECK(status.running() == 0);

  // Errors leave no next: an unknown child.
  report.set_model_id(99);
  report.set_next_task(true);
  v1::ResultAck unknown;
  CHECK(controller.stub().ReportResult(Context().get(), report, &unknown).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

v1::RegisterRequest Registration(const std::string& id, int capacity,
                                 uint64_t incarnation) {
  v1::RegisterRequest request;
  request.set_worker_id(id);
  request.set_capacity(capacity);
  request.set_incarnation(incarnation);
  return request;
}

v1::GetTaskResponse GetTaskWithView(v1::Controller::Stub& stub,
                                    const std::string& id, uint64_t incarnation,
                                    uint64_t sequence, uint64_t settled,
                                    const std::vector<v1::Task>& held = {}) {
  v1::GetTaskRequest request;
  request.set_worker_id(id);
  request.mutable_view()->set_incarnation(incarnation);
  request.mutable_view()->set_sequence(sequence);
  request.mutable_view()->set_settled(settled);
  for (const v1::Task& task : held) {
    v1::HeldTask* h = request.mutable_view()->add_held();
    h->set_model_id(task.model_id());
    h->set_attempt(task.attempt());
    h->set_search_id(task.search_id());
  }
  v1::GetTaskResponse response;
  REQUIRE(stub.GetTask(Context().get(), request, &response).ok());
  return response;
}

TEST_CASE("A restarted two-slot worker never gets one child in both slots") {
  ServedController controller(FreshSqlitePath("reconnect.db"), SmallSearch());
  v1::RegisterResponse registered;
  REQUIRE(controller.stub()
              .Register(Context().get(), Registration("w", 2, 100), &registered)
              .ok());
  const v1::Task a = GetTaskWithView(controller.stub(), "w", 100, 1, 0).task();
  const v1::Task b = GetTaskWithView(controller.stub(), "w", 100, 2, 1, {a}).task();
  CHECK(a.model_id() != b.model_id());
  CHECK(a.search_id() == controller.search().search_id());
  // The daemon restarts (a larger incarnation): its old leases are released
  // at once, and its two slots, asking together, get two different children.
  REQUIRE(controller.stub()
              .Register(Context().get(), Registration("w", 2, 200), &registered)
              .ok());
  CHECK(controller.search().Status().running() == 0);
  const v1::Task c = GetTaskWithView(controller.stub(), "w", 200, 1, 0).task();
  const v1::Task d = GetTaskWithView(controller.stub(), "w", 200, 2, 0).task();
  CHECK(c.model_id() != d.model_id());
  CHECK(std::set<int64_t>{c.model_id(), d.model_id()} ==
        std::set<int64_t>{a.model_id(), b.model_id()});
  CHECK(c.attempt() == 2);
  CHECK(d.attempt() == 2);
  CHECK(controller.search().Status().running() == 2);
  CHECK(controller.search().CheckInvariants().ok());
  // A delayed request of the old process changes nothing.
  v1::GetTaskRequest stale;
  stale.set_worker_id("w");
  stale.mutable_view()->set_incarnation(100);
  stale.mutable_view()->set_sequence(3);
  stale.mutable_view()->set_settled(2);
  v1::GetTaskResponse response;
  CHECK(controller.stub().GetTask(Context().get(), stale, &response).error_code() ==
        grpc::StatusCode::ABORTED);
  CHECK(controller.search().Status().running() == 2);
}

TEST_CASE("Failures: retried on worker errors, final on divergence, not counted") {
  SearchOptions options = SmallSearch();
  ServedController controller(FreshSqlitePath("failures.db"), options);
  Register(controller.stub(), "w");
  const v1::Task t1 = GetTask(controller.stub(), "w").task();
  v1::ResultAck ack;
  REQUIRE(Report(controller.stub(), "w", t1, 0, &ack, /*ok=*/false).ok());
  const v1::Task retry = GetTask(controller.stub(), "w").task();
  CHECK(retry.model_id() == t1.model_id());
  CHECK(retry.attempt() == 2);
  REQUIRE(Report(controller.stub(), "w", retry, 0, &ack, false).ok());
  const v1::Task t2 = GetTask(controller.stub(), "w").task();
  CHECK(t2.model_id() != t1.model_id());  // t1 given up after 2 attempts
  REQUIRE(Report(controller.stub(), "w", t2, 0, &ack, false, /*diverged=*/true).ok());
  const v1::SearchStatus status = controller.search().Status();
  CHECK(status.failed() == 2);
  CHECK(status.done() == 0);
  CHECK(status.budget_left() == 12);
  v1::ListModelsRequest failed;
  failed.set_filter(v1::ListModelsRequest::FAILED);
  v1::ListModelsResponse models;
  REQUIRE(controller.stub().ListModels(Context("").get(), failed, &models).ok());
  REQUIRE(models.models_size() == 2);
  CHECK_THAT(models.models(0).failure(), Catch::Contains("given up after 2 failed attempts: boom"));
  CHECK(models.models(1).failure() == "boom");
}

TEST_CASE("A restarted controller resumes the same search") {
  const std::string path = FreshSqlitePath("restart.db");
  int64_t running_id = 0;
  {
    ServedController controller(path, SmallSearch());
    Register(controller.stub(), "w");
    for (int i = 0; i < 6; ++i) {
      const v1::Task t = GetTask(controller.stub(), "w").task();
      v1::ResultAck ack;
      REQUIRE(Report(controller.stub(), "w", t, 0.1 * (i + 1), &ack).ok());
    }
    const v1::Task diverging = GetTask(controller.stub(), "w").task();
    v1::ResultAck ack;
    REQUIRE(Report(controller.stub(), "w", diverging, 0, &ack, /*ok=*/false,
                   /*diverged=*/true)
                .ok());
    running_id = GetTask(controller.stub(), "w").task().model_id();
  }
  {
    ServedController again(path, SmallSearch());
    const v1::SearchStatus status = again.search().Status();
    CHECK(status.done() == 6);
    CHECK(status.population_members() == 4);
    CHECK(status.population_max() == Approx(0.6));
    CHECK(status.population_min() == Approx(0.3));  // 1 and 2 died of age
    // The child that was running keeps its lease: its worker may still
    // train it and say so.
    CHECK(status.running() == 1);
    CHECK(status.pending() == 0);
    CHECK(status.failed() == 1);
    CHECK(status.best().fitness() == Approx(0.6));
    CHECK(status.best().id() == 6);
    REQUIRE(status.evaluators_size() == 1);
    CHECK(status.evaluators(0) == "test");
    // New children continue the numbering.
    Register(again.stub(), "w2");
    const v1::Task fresh = GetTask(again.stub(), "w2").task();
    CHECK(fresh.model_id() == running_id + 1);
    // "w" comes back without the child (nothing else outstanding): its
    // lease is released at once and the child runs again.
    v1::RegisterResponse registered;
    REQUIRE(again.stub().Register(Context().get(), Registration("w", 1, 7), &registered).ok());
    const v1::Task resumed = GetTaskWithView(again.stub(), "w", 7, 1, 0).task();
    CHECK(resumed.model_id() == running_id);
    CHECK(resumed.attempt() == 2);
    v1::ResultAck ack;
    REQUIRE(Report(again.stub(), "w", resumed, 0.5, &ack).ok());
    CHECK(ack.recorded());
  }
  // A contradicting configuration is refused with the setting's name.
  SearchOptions other = SmallSearch();
  other.engine.sample_size = 3;
  const auto refused = OpenSingleSearchController(path, other);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("setting 'sample_size' is 2 in the store but 3 now"));
}

}  // namespace
}  // namespace amoeba
