// The controller service with a real server on 127.0.0.1:0, a real SQLite
// store and real gRPC clients acting as workers and operators.
#include "controller/service.h"

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
#include "proto/controller.grpc.pb.h"
#include "testing/test_files.h"
#include <grpcpp/generic/generic_stub.h>

namespace amoeba {
namespace {

constexpr char kToken[] = "s3cret";

SearchOptions SmallSearch() {
  SearchOptions o;
  o.engine.population_size = 4;
  o.engine.sample_size = 2;
  o.engine.budget = 12;
  o.engine.seed = 7;
  o.settings.set_dataset("fashion_mnist");
  o.settings.set_cells_per_stack(1);
  o.settings.set_filters(8);
  o.settings.set_epochs(1);
  o.settings.set_batch_size(64);
  o.lease_timeout = absl::Milliseconds(400);
  o.heartbeat_interval = absl::Milliseconds(100);
  o.retry_after = absl::Milliseconds(20);
  o.max_attempts = 2;
  return o;
}

// A controller (store + search + server) on a loopback port. Its clock is a
// FakeClock that moves only when a test says so: with the wall clock, a
// loaded machine could let a 400 ms lease expire between a test's GetTask
// and its report, and a test would see a reassignment it did not ask for.
class Controller {
 public:
  Controller(const std::string& path, const SearchOptions& options,
             const std::string& token = kToken) {
    auto opened = OpenSingleSearchController(path, options, &clock_);
    REQUIRE(opened.ok());
    controller_ = std::move(*opened);
    search_ = controller_->Searches().front();
    ControllerServer::Spec spec;
    spec.token = token;
    auto server = ControllerServer::Start(spec, controller_.get());
    REQUIRE(server.ok());
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Controller::NewStub(channel_);
  }
  ~Controller() {
    server_->Shutdown(absl::Seconds(1));
  }

  v1::Controller::Stub& stub() { return *stub_; }
  Search& search() { return *search_; }
  FakeClock& clock() { return clock_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  FakeClock clock_;  // outlives the controller and its lease thread
  std::unique_ptr<amoeba::Controller> controller_;
  Search* search_ = nullptr;
  std::unique_ptr<ControllerServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Controller::Stub> stub_;
};

std::unique_ptr<grpc::ClientContext> Context(const std::string& token = kToken) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

void Register(v1::Controller::Stub& stub, const std::string& id, int capacity = 1) {
  v1::RegisterRequest request;
  request.set_worker_id(id);
  request.set_host("localhost");
  request.set_device("cpu");
  request.set_capacity(capacity);
  request.set_evaluator("test");
  v1::RegisterResponse response;
  REQUIRE(stub.Register(Context().get(), request, &response).ok());
}

v1::GetTaskResponse GetTask(v1::Controller::Stub& stub, const std::string& id) {
  v1::GetTaskRequest request;
  request.set_worker_id(id);
  v1::GetTaskResponse response;
  const grpc::Status s = stub.GetTask(Context().get(), request, &response);
  REQUIRE(s.ok());
  return response;
}

grpc::Status Report(v1::Controller::Stub& stub, const std::string& worker,
                    const v1::Task& task, double fitness, v1::ResultAck* ack,
                    bool ok = true, bool diverged = false) {
  v1::ResultReport report;
  report.set_worker_id(worker);
  report.set_model_id(task.model_id());
  report.set_attempt(task.attempt());
  report.set_ok(ok);
  report.set_fitness(fitness);
  report.set_diverged(diverged);
  report.set_failure(ok ? "" : "boom");
  report.set_evaluator("test");
  report.set_search_id(task.search_id());
  return stub.ReportResult(Context().get(), report, ack);
}

// The raw ServerReflectionResponse to a list_services request.
std::string ListServicesByReflection(std::shared_ptr<grpc::Channel> channel) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto next = [&] {
    REQUIRE(cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() +
                                        std::chrono::seconds(10)) ==
            grpc::CompletionQueue::GOT_EVENT);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  REQUIRE(next());
  const char request_bytes[] = {0x3a, 0x00};  // field 7, length 0
  grpc::Slice slice(request_bytes, sizeof(request_bytes));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  REQUIRE(next());
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  REQUIRE(next());
  std::vector<grpc::Slice> slices;
  REQUIRE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  context.TryCancel();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return bytes;
}

// Fitness as a fixed function of the genotype text.
double FitnessOf(const std::string& text) {
  return static_cast<double>(std::hash<std::string>()(text) % 1000) / 1000.0;
}

TEST_CASE("Three workers complete a small search; every child once") {
  const std::string path = FreshSqlitePath("full.db");
  Controller controller(path, SmallSearch());
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
  Controller controller(path, SmallSearch());
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
  Controller controller(FreshSqlitePath("next.db"), SmallSearch());
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
  Controller controller(FreshSqlitePath("reconnect.db"), SmallSearch());
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
  Controller controller(FreshSqlitePath("failures.db"), options);
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

TEST_CASE("Tokens, malformed requests and reflection") {
  Controller controller(FreshSqlitePath("bad.db"), SmallSearch());
  v1::GetTaskRequest request;
  request.set_worker_id("w");
  v1::GetTaskResponse response;
  CHECK(controller.stub().GetTask(Context("wrong").get(), request, &response).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status missing = controller.stub().GetTask(Context("").get(), request, &response);
  CHECK(missing.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(missing.error_message(), Catch::Contains("authorization: Bearer"));
  v1::AdminResponse admin;
  CHECK(controller.stub().Pause(Context("").get(), v1::AdminRequest(), &admin).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  v1::SearchStatus status;
  CHECK(controller.stub().GetStatus(Context("").get(), v1::GetStatusRequest(), &status).ok());

  // Unregistered worker.
  const grpc::Status unknown = controller.stub().GetTask(Context().get(), request, &response);
  CHECK(unknown.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(unknown.error_message(), Catch::Contains("call Register first"));
  request.set_worker_id("");
  CHECK(controller.stub().GetTask(Context().get(), request, &response).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  Register(controller.stub(), "w");
  const v1::Task task = GetTask(controller.stub(), "w").task();
  v1::ResultAck ack;
  const grpc::Status bad_fitness = Report(controller.stub(), "w", task, 1.5, &ack);
  CHECK(bad_fitness.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(bad_fitness.error_message(), Catch::Contains("fitness must be"));
  v1::Task wrong_attempt = task;
  wrong_attempt.set_attempt(5);
  const grpc::Status attempt = Report(controller.stub(), "w", wrong_attempt, 0.5, &ack);
  CHECK(attempt.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(attempt.error_message(), Catch::Contains("attempt 5 does not exist"));
  v1::Task unknown_task = task;
  unknown_task.set_model_id(999);
  CHECK(Report(controller.stub(), "w", unknown_task, 0.5, &ack).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  v1::GetModelRequest get;
  v1::GetModelResponse model;
  CHECK(controller.stub().GetModel(Context("").get(), get, &model).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListModelsRequest list;
  list.set_page_token("abc");
  v1::ListModelsResponse models;
  CHECK(controller.stub().ListModels(Context("").get(), list, &models).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  // An oversized message is refused by the server.
  v1::ResultReport huge;
  huge.set_worker_id("w");
  huge.set_model_id(task.model_id());
  huge.set_attempt(1);
  huge.set_failure(std::string(5 << 20, 'x'));
  CHECK(controller.stub().ReportResult(Context().get(), huge, &ack).error_code() ==
        grpc::StatusCode::RESOURCE_EXHAUSTED);

  // What grpcurl sees: the services listed through server reflection. The
  // reflection messages' classes live in libgrpc++_reflection, so the call
  // is made generically with the request encoded by hand: field 7
  // (list_services) = "".
  CHECK_THAT(ListServicesByReflection(controller.channel()),
             Catch::Contains("amoeba.v1.Controller"));
}

TEST_CASE("Searches over gRPC: create, list, and every RPC names its search") {
  Controller controller(FreshSqlitePath("rpc-searches.db"), SmallSearch());
  const std::string first = controller.search().search_id();
  v1::CreateSearchRequest create;
  create.set_search_id("second");
  create.mutable_config()->set_algorithm("random");
  create.mutable_config()->set_population_size(4);
  create.mutable_config()->set_sample_size(2);
  create.mutable_config()->set_budget(3);
  create.mutable_config()->set_weight(3);
  v1::CreateSearchResponse created;
  // Creating a search is an admin act: it needs the token.
  CHECK(controller.stub().CreateSearch(Context("").get(), create, &created).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  REQUIRE(controller.stub().CreateSearch(Context().get(), create, &created).ok());
  CHECK(created.search_id() == "second");
  CHECK(created.status().state() == v1::RUNNING);
  CHECK(created.status().config().weight() == 3);
  CHECK(created.status().config().settings().learning_rate() == 0.05);
  CHECK(controller.stub().CreateSearch(Context().get(), create, &created).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
  v1::CreateSearchRequest bad = create;
  bad.set_search_id("third");
  bad.mutable_config()->set_sample_size(9);
  const grpc::Status refused =
      controller.stub().CreateSearch(Context().get(), bad, &created);
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused.error_message(), Catch::StartsWith("config: sample size S"));
  bad.set_search_id(std::string(300, 'x'));
  CHECK(controller.stub().CreateSearch(Context().get(), bad, &created).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListSearchesResponse all;
  REQUIRE(controller.stub().ListSearches(Context("").get(), v1::ListSearchesRequest(), &all).ok());
  REQUIRE(all.searches_size() == 2);
  CHECK(all.searches(0).search_id() == first);
  CHECK(all.searches(1).search_id() == "second");

  // With two searches an id is needed; an unknown one is NOT_FOUND.
  v1::SearchStatus status;
  const grpc::Status ambiguous =
      controller.stub().GetStatus(Context("").get(), v1::GetStatusRequest(), &status);
  CHECK(ambiguous.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(ambiguous.error_message(), Catch::Contains("search_id is required"));
  v1::GetStatusRequest named;
  named.set_search_id("second");
  REQUIRE(controller.stub().GetStatus(Context("").get(), named, &status).ok());
  CHECK(status.config().algorithm() == "random");
  named.set_search_id("nope");
  CHECK(controller.stub().GetStatus(Context("").get(), named, &status).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  v1::AdminRequest pause;
  pause.set_search_id("second");
  v1::AdminResponse admin;
  REQUIRE(controller.stub().Pause(Context().get(), pause, &admin).ok());
  CHECK(admin.state() == v1::PAUSED);
  named.set_search_id(first);
  REQUIRE(controller.stub().GetStatus(Context("").get(), named, &status).ok());
  CHECK(status.state() == v1::RUNNING);  // only the named one paused

  // Workers serve both; a result names its search, and held tasks too.
  Register(controller.stub(), "w");
  REQUIRE(controller.stub().Resume(Context().get(), pause, &admin).ok());
  std::map<std::string, int> tasks;
  for (int i = 0; i < 4; ++i) {
    const v1::Task task = GetTask(controller.stub(), "w").task();
    ++tasks[task.search_id()];
    v1::ResultAck ack;
    REQUIRE(Report(controller.stub(), "w", task, 0.5, &ack).ok());
  }
  CHECK(tasks["second"] == 3);  // weight 3 against 1: it goes first
  CHECK(tasks[first] == 1);
  v1::ListModelsRequest list;
  list.set_search_id("second");
  v1::ListModelsResponse models;
  REQUIRE(controller.stub().ListModels(Context("").get(), list, &models).ok());
  CHECK(models.total() == 3);
  v1::GetModelRequest get;
  get.set_id(1);
  v1::GetModelResponse unnamed;
  CHECK(controller.stub().GetModel(Context("").get(), get, &unnamed).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  get.set_search_id("second");
  v1::GetModelResponse model;
  REQUIRE(controller.stub().GetModel(Context("").get(), get, &model).ok());
  CHECK(model.model().id() == 1);
  v1::WatchEventsRequest watch;
  watch.set_search_id("nope");
  grpc::ClientContext watch_context;
  auto stream = controller.stub().WatchEvents(&watch_context, watch);
  v1::SearchEvent event;
  CHECK_FALSE(stream->Read(&event));
  CHECK(stream->Finish().error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("Hostile values: enums, non-finite numbers, long strings, long page tokens") {
  Controller controller(FreshSqlitePath("hostile.db"), SmallSearch());
  // Unknown enum values.
  v1::ListModelsRequest list;
  v1::ListModelsResponse models;
  list.set_filter(static_cast<v1::ListModelsRequest::Filter>(99));
  CHECK(controller.stub().ListModels(Context("").get(), list, &models).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  list.set_filter(v1::ListModelsRequest::ALL);
  list.set_order(static_cast<v1::ListModelsRequest::Order>(-1));
  CHECK(controller.stub().ListModels(Context("").get(), list, &models).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  // A 200 KB page token: refused at once, echoed only in part.
  list.set_order(v1::ListModelsRequest::BY_ID);
  list.set_page_token(std::string(200 << 10, '7') + "x");
  const grpc::Status token = controller.stub().ListModels(Context("").get(), list, &models);
  CHECK(token.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(token.error_message().size() < 200);
  // The channel still works.
  v1::SearchStatus status;
  CHECK(controller.stub().GetStatus(Context("").get(), v1::GetStatusRequest(), &status).ok());

  // Long free text on the way in.
  v1::RegisterRequest fat;
  fat.set_worker_id("w");
  fat.set_host(std::string(1500 << 10, 'h'));
  v1::RegisterResponse registered;
  CHECK(controller.stub().Register(Context().get(), fat, &registered).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  fat.set_host("h");
  fat.set_evaluator(std::string(300, 'e'));
  CHECK(controller.stub().Register(Context().get(), fat, &registered).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  Register(controller.stub(), "w");
  const v1::Task task = GetTask(controller.stub(), "w").task();
  v1::ResultReport report;
  report.set_worker_id("w");
  report.set_model_id(task.model_id());
  report.set_attempt(task.attempt());
  report.set_search_id(task.search_id());
  report.set_ok(true);
  report.set_fitness(0.5);
  report.set_evaluator(std::string(2500 << 10, 'e'));
  v1::ResultAck ack;
  CHECK(controller.stub().ReportResult(Context().get(), report, &ack).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  report.set_evaluator("test");
  report.set_train_seconds(std::numeric_limits<double>::infinity());
  CHECK(controller.stub().ReportResult(Context().get(), report, &ack).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  report.set_train_seconds(1);
  report.set_images_per_second(std::nan(""));
  CHECK(controller.stub().ReportResult(Context().get(), report, &ack).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  // NaN in progress; progress of a child that never existed.
  v1::ProgressReport progress;
  progress.set_worker_id("w");
  progress.set_model_id(task.model_id());
  progress.set_attempt(task.attempt());
  progress.set_train_loss(std::nan(""));
  v1::ProgressAck pack;
  CHECK(controller.stub().ReportProgress(Context().get(), progress, &pack).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  progress.set_train_loss(0.5);
  progress.set_model_id(123456);
  CHECK(controller.stub().ReportProgress(Context().get(), progress, &pack).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(controller.search().CheckInvariants().ok());
}

TEST_CASE("Pause, resume, stop and events") {
  Controller controller(FreshSqlitePath("admin.db"), SmallSearch());
  Register(controller.stub(), "w");
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto events = controller.stub().WatchEvents(&watch_context, v1::WatchEventsRequest());
  // The server marks where the stream starts before it writes the snapshot,
  // so once the snapshot is read every later event is sure to reach us.
  // (Initial metadata comes earlier, but on a loaded machine the snapshot
  // could then be taken after the Pause below.)
  std::vector<v1::SearchEvent> seen;
  v1::SearchEvent event;
  REQUIRE(events->Read(&event));
  seen.push_back(event);

  v1::AdminResponse admin;
  REQUIRE(controller.stub().Pause(Context().get(), v1::AdminRequest(), &admin).ok());
  CHECK(admin.state() == v1::PAUSED);
  const v1::GetTaskResponse paused = GetTask(controller.stub(), "w");
  CHECK_FALSE(paused.has_task());
  CHECK(paused.retry_after_ms() == 20);
  REQUIRE(controller.stub().Resume(Context().get(), v1::AdminRequest(), &admin).ok());
  const v1::Task task = GetTask(controller.stub(), "w").task();
  v1::ResultAck ack;
  REQUIRE(Report(controller.stub(), "w", task, 0.7, &ack).ok());

  while (seen.size() < 4 && events->Read(&event)) seen.push_back(event);
  REQUIRE(seen.size() == 4);
  // A snapshot first: an idle search shows where it stands at once.
  CHECK(seen[0].kind() == v1::SearchEvent::SNAPSHOT);
  CHECK(seen[0].status().state() == v1::RUNNING);
  CHECK(seen[1].kind() == v1::SearchEvent::STATE_CHANGED);
  CHECK(seen[3].kind() == v1::SearchEvent::COMPLETED);
  CHECK(seen[3].model().fitness() == 0.7);
  watch_context.TryCancel();

  const v1::Task running = GetTask(controller.stub(), "w").task();
  REQUIRE(controller.stub().Stop(Context().get(), v1::AdminRequest(), &admin).ok());
  CHECK(admin.state() == v1::STOPPED);
  v1::ProgressReport progress;
  progress.set_worker_id("w");
  progress.set_model_id(running.model_id());
  progress.set_attempt(running.attempt());
  v1::ProgressAck pack;
  REQUIRE(controller.stub().ReportProgress(Context().get(), progress, &pack).ok());
  CHECK(pack.cancel());
  CHECK(controller.stub().Resume(Context().get(), v1::AdminRequest(), &admin).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("WatchEvents streams are capped") {
  auto search = OpenSingleSearchController(FreshSqlitePath("watchers.db"), SmallSearch());
  REQUIRE(search.ok());
  ControllerServer::Spec spec;
  spec.max_watchers = 2;
  auto server = ControllerServer::Start(spec, search->get());
  REQUIRE(server.ok());
  auto stub = v1::Controller::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*server)->port()), grpc::InsecureChannelCredentials()));
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::SearchEvent>>> streams;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    streams.push_back(stub->WatchEvents(contexts.back().get(), v1::WatchEventsRequest()));
    v1::SearchEvent snapshot;
    REQUIRE(streams.back()->Read(&snapshot));
    CHECK(snapshot.kind() == v1::SearchEvent::SNAPSHOT);
  }
  grpc::ClientContext third;
  third.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto refused = stub->WatchEvents(&third, v1::WatchEventsRequest());
  v1::SearchEvent none;
  CHECK_FALSE(refused->Read(&none));
  CHECK(refused->Finish().error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  // A watcher that leaves frees its place.
  contexts[0]->TryCancel();
  streams[0]->Finish();
  // The server frees the place when the handler sees the cancellation (at
  // its next bounded wait): try until admitted, at most 30 s.
  bool admitted = false;
  for (int i = 0; i < 300 && !admitted; ++i) {
    grpc::ClientContext again;
    again.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub->WatchEvents(&again, v1::WatchEventsRequest());
    v1::SearchEvent snapshot;
    admitted = stream->Read(&snapshot);
    again.TryCancel();
    stream->Finish();
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(admitted);
  contexts[1]->TryCancel();
  streams[1]->Finish();
  (*server)->Shutdown(absl::Seconds(1));
}

TEST_CASE("TLS and mutual TLS from certificate files") {
  const std::string dir = FreshTestDir("tls");
  // A self-signed certificate for localhost/127.0.0.1; it is also the CA
  // that signed itself, so it serves as client certificate and client CA.
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir +
      "/key.pem -out " + dir + "/cert.pem -days 2 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  auto search = OpenSingleSearchController(dir + "/search.db", SmallSearch());
  REQUIRE(search.ok());
  ControllerServer::Spec spec;
  spec.tls_cert_file = dir + "/cert.pem";
  spec.tls_key_file = dir + "/key.pem";
  spec.tls_client_ca_file = dir + "/cert.pem";
  auto server = ControllerServer::Start(spec, search->get());
  REQUIRE(server.ok());
  const std::string address = absl::StrCat("localhost:", (*server)->port());
  auto status_with = [&](std::shared_ptr<grpc::ChannelCredentials> creds) {
    auto stub = v1::Controller::NewStub(grpc::CreateChannel(address, creds));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::SearchStatus status;
    return stub->GetStatus(&context, v1::GetStatusRequest(), &status);
  };
  grpc::SslCredentialsOptions with_cert;
  with_cert.pem_root_certs = ReadWholeFile(dir + "/cert.pem");
  with_cert.pem_cert_chain = ReadWholeFile(dir + "/cert.pem");
  with_cert.pem_private_key = ReadWholeFile(dir + "/key.pem");
  CHECK(status_with(grpc::SslCredentials(with_cert)).ok());
  grpc::SslCredentialsOptions without_cert;
  without_cert.pem_root_certs = ReadWholeFile(dir + "/cert.pem");
  CHECK_FALSE(status_with(grpc::SslCredentials(without_cert)).ok());
  CHECK_FALSE(status_with(grpc::InsecureChannelCredentials()).ok());
  (*server)->Shutdown(absl::Seconds(1));

  ControllerServer::Spec half;
  half.tls_cert_file = dir + "/cert.pem";
  CHECK(ControllerServer::Start(half, search->get()).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("A controller that cannot listen says so and does not crash") {
  const std::string dir = FreshTestDir("no-listen");
  auto search = OpenSingleSearchController(dir + "/search.db", SmallSearch());
  REQUIRE(search.ok());
  // The port is taken.
  auto first = ControllerServer::Start(ControllerServer::Spec(), search->get());
  REQUIRE(first.ok());
  ControllerServer::Spec taken;
  taken.port = (*first)->port();
  auto second = ControllerServer::Start(taken, search->get());
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(second.status().message()), Catch::Contains("cannot listen"));
  (*first)->Shutdown(absl::Seconds(1));
  // Garbage, empty and mismatched certificates and keys.
  std::ofstream(dir + "/garbage.pem") << "not a certificate";
  std::ofstream(dir + "/empty.pem");
  REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir +
                       "/key.pem -out " + dir + "/cert.pem -days 2 -subj /CN=a "
                       "2>/dev/null && openssl genrsa -out " + dir +
                       "/other.pem 2048 2>/dev/null")
                          .c_str()) == 0);
  for (auto [cert, key] : std::vector<std::pair<std::string, std::string>>{
           {"garbage.pem", "garbage.pem"},
           {"empty.pem", "key.pem"},
           {"cert.pem", "other.pem"}}) {
    ControllerServer::Spec tls;
    tls.tls_cert_file = dir + "/" + cert;
    tls.tls_key_file = dir + "/" + key;
    auto server = ControllerServer::Start(tls, search->get());
    CHECK_FALSE(server.ok());
  }
}

TEST_CASE("Beyond loopback without a token needs --insecure") {
  auto search = OpenSingleSearchController(FreshSqlitePath("insecure.db"), SmallSearch());
  REQUIRE(search.ok());
  ControllerServer::Spec open;
  open.address = "0.0.0.0";
  auto refused = ControllerServer::Start(open, search->get());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("--insecure"));
  open.insecure = true;
  auto allowed = ControllerServer::Start(open, search->get());
  REQUIRE(allowed.ok());
  (*allowed)->Shutdown(absl::Seconds(1));
  ControllerServer::Spec with_token;
  with_token.address = "0.0.0.0";
  with_token.token = "t0ken";
  auto tokened = ControllerServer::Start(with_token, search->get());
  REQUIRE(tokened.ok());
  (*tokened)->Shutdown(absl::Seconds(1));
}

TEST_CASE("A restarted controller resumes the same search") {
  const std::string path = FreshSqlitePath("restart.db");
  int64_t running_id = 0;
  {
    Controller controller(path, SmallSearch());
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
    Controller again(path, SmallSearch());
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
