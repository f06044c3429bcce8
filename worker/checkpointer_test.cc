// Both checkpointers with real files and a real controller server on
// 127.0.0.1:0.
#include "worker/checkpointer.h"

#include <filesystem>
#include <fstream>

#include "catch2/catch.hpp"
#include "controller/controller.h"
#include "controller/server.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

v1::Task SomeTask() {
  v1::Task task;
  task.set_search_id("fm-final");
  task.set_model_id(3);
  task.set_attempt(1);
  return task;
}

// 3.5 chunks: the transfer is split and reassembled.
std::string LargeState() {
  std::string state;
  for (size_t i = 0; state.size() < ControllerCheckpointer::kChunkBytes * 7 / 2;
       ++i) {
    state.push_back(static_cast<char>(i * 131 % 251));
  }
  return state;
}

int FilesIn(const std::string& dir) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  return files;
}

TEST_CASE("the folder checkpointer keeps, finds and forgets checkpoints") {
  const std::string dir = FreshTestDir("folder_checkpointer");
  FolderCheckpointer checkpointer(dir);
  const v1::Task task = SomeTask();
  REQUIRE(checkpointer.Load(task).status().code() ==
          absl::StatusCode::kNotFound);
  REQUIRE(checkpointer.Save(task, 1, "one").ok());
  REQUIRE(checkpointer.Save(task, 2, LargeState()).ok());
  // A stale holder's earlier epoch does not replace it.
  REQUIRE(checkpointer.Save(task, 1, "stale").code() ==
          absl::StatusCode::kAlreadyExists);
  auto loaded = checkpointer.Load(task);
  REQUIRE(loaded.ok());
  REQUIRE(loaded->epoch == 2);
  REQUIRE(loaded->payload == LargeState());
  REQUIRE(checkpointer.PathOf(task, 2) == dir + "/fm-final/3.e2.ckpt");
  REQUIRE(FilesIn(dir + "/fm-final") == 1);  // epoch 1's file is gone
  {  // Cut short (a disk filled up, a copy interrupted).
    std::filesystem::resize_file(checkpointer.PathOf(task, 2), 1000);
  }
  REQUIRE(checkpointer.Load(task).status().code() ==
          absl::StatusCode::kDataLoss);
  checkpointer.Forget("fm-final", 3);
  REQUIRE(FilesIn(dir + "/fm-final") == 0);
}

TEST_CASE("a stale holder's older checkpoint written last never wins") {
  // Two hosts share the folder. The stale holder checked while only epoch
  // 1 was there and writes epoch 2 after the new holder wrote epoch 3.
  const std::string dir = FreshTestDir("folder_checkpointer_race");
  FolderCheckpointer stale(dir), current(dir);
  const v1::Task task = SomeTask();
  REQUIRE(current.Save(task, 1, "one").ok());
  REQUIRE(current.Save(task, 3, "three").ok());
  // The stale write lands last (its check is what the race skips).
  REQUIRE(WriteFileAtomically(stale.PathOf(task, 2),
                              EncodeCheckpoint(2, "two, stale"))
              .ok());
  auto loaded = current.Load(task);
  REQUIRE(loaded.ok());
  CHECK(loaded->epoch == 3);
  CHECK(loaded->payload == "three");
  // The newest damaged: the one before it is used rather than none.
  std::filesystem::resize_file(current.PathOf(task, 3), 30);
  auto fallback = current.Load(task);
  REQUIRE(fallback.ok());
  CHECK(fallback->epoch == 2);
  // A file of the single-file layout is still found.
  const std::string dir2 = FreshTestDir("folder_checkpointer_legacy");
  REQUIRE(WriteFileAtomically(dir2 + "/fm-final/3.ckpt",
                              EncodeCheckpoint(4, "four"))
              .ok());
  auto legacy = FolderCheckpointer(dir2).Load(task);
  REQUIRE(legacy.ok());
  CHECK(legacy->epoch == 4);
}

TEST_CASE("the controller checkpointer uploads and downloads through the rpc") {
  const std::string path = FreshSqlitePath("controller_checkpointer.db");
  auto store = Store::Open(path);
  REQUIRE(store.ok());
  auto checkpoints = CheckpointStore::Open(
      {FreshTestDir("controller_checkpointer"), int64_t{64} << 20});
  REQUIRE(checkpoints.ok());
  ControllerDefaults defaults;
  auto controller = Controller::Open(*std::move(store), defaults,
                                     Clock::Real(), *std::move(checkpoints));
  REQUIRE(controller.ok());
  v1::SearchConfig config;
  config.set_population_size(2);
  config.set_sample_size(1);
  config.set_budget(2);
  REQUIRE((*controller)->CreateSearch("fm", config).ok());
  v1::RegisterRequest hello;
  hello.set_worker_id("w");
  REQUIRE((*controller)->Register(hello).ok());
  v1::GetTaskRequest ask;
  ask.set_worker_id("w");
  for (int i = 0; i < 2; ++i) {
    auto answer = (*controller)->GetTask(ask);
    REQUIRE(answer.ok());
    v1::ResultReport report;
    report.set_worker_id("w");
    report.set_search_id("fm");
    report.set_model_id(answer->task().model_id());
    report.set_attempt(answer->task().attempt());
    report.set_ok(true);
    report.set_fitness(0.5);
    REQUIRE((*controller)->ReportResult(report).ok());
  }
  v1::CreateFinalRequest final_request;
  final_request.add_source_search_ids("fm");
  final_request.set_top_k(1);
  final_request.mutable_settings()->set_checkpoint_every(1);
  REQUIRE((*controller)->CreateFinal(final_request).ok());
  auto answer = (*controller)->GetTask(ask);
  REQUIRE(answer.ok());
  v1::Task task = answer->task();
  REQUIRE(task.search_id() == "fm-final");

  auto server = ControllerServer::Start(ControllerServer::Spec(),
                                        controller->get());
  REQUIRE(server.ok());
  auto stub = v1::Controller::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials()));
  ControllerCheckpointer checkpointer(
      stub.get(), "w", [] { return std::make_unique<grpc::ClientContext>(); },
      absl::Seconds(30));
  // The task says the controller keeps none: no call.
  REQUIRE(checkpointer.Load(task).status().code() ==
          absl::StatusCode::kNotFound);
  REQUIRE(checkpointer.Save(task, 1, LargeState()).ok());
  task.set_checkpoint_epoch(1);
  auto loaded = checkpointer.Load(task);
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  REQUIRE(loaded->epoch == 1);
  REQUIRE(loaded->payload == LargeState());
  // Another worker holds nothing: refused with the reason.
  ControllerCheckpointer intruder(
      stub.get(), "x", [] { return std::make_unique<grpc::ClientContext>(); },
      absl::Seconds(30));
  const absl::Status refused = intruder.Save(task, 2, "forged");
  REQUIRE(refused.code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE_THAT(std::string(refused.message()), Catch::Contains("does not hold"));
  (*server)->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace amoeba
