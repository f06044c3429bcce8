// The operator's RPCs over a real server: searches created and listed,
// pause / resume / stop, and the event streams.
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

TEST_CASE("Searches over gRPC: create, list, and every RPC names its search") {
  ServedController controller(FreshSqlitePath("rpc-searches.db"), SmallSearch());
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

TEST_CASE("Pause, resume, stop and events") {
  ServedController controller(FreshSqlitePath("admin.db"), SmallSearch());
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

}  // namespace
}  // namespace amoeba
