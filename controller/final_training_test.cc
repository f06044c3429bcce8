// Final training end to end on a real server (127.0.0.1:0), a real SQLite
// store and a real checkpoint folder: CreateFinal's choices and refusals,
// the fleet's protocol for final jobs, and checkpoints kept, fenced,
// handed to the next holder and removed once the result is durable.
#include <gflags/gflags.h>
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "catch2/catch.hpp"
#include "common/checkpoint_file.h"
#include "controller/controller.h"
#include "controller/server.h"
#include "proto/controller.grpc.pb.h"
#include "settings/recipes.h"
#include "settings/training_flags.h"
#include "settings/training_settings.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

ControllerDefaults Defaults() {
  ControllerDefaults d;
  d.lease_timeout = absl::Seconds(60);
  d.heartbeat_interval = absl::Seconds(10);
  d.max_attempts = 2;
  return d;
}

v1::SearchConfig SmallSearch(int64_t budget) {
  v1::SearchConfig c;
  c.set_algorithm("aging");
  c.set_population_size(3);
  c.set_sample_size(2);
  c.set_budget(budget);
  c.mutable_settings()->set_epochs(2);
  return c;
}

class FinalHarness {
 public:
  explicit FinalHarness(const std::string& name, int64_t max_bytes = 1 << 20)
      : path_(FreshSqlitePath(name + ".db")),
        checkpoint_dir_(FreshTestDir(name + ".checkpoints")),
        max_bytes_(max_bytes) {
    Open();
  }
  ~FinalHarness() { Close(); }

  void Open() {
    auto store = Store::Open(path_);
    REQUIRE(store.ok());
    auto checkpoints = CheckpointStore::Open({checkpoint_dir_, max_bytes_});
    REQUIRE(checkpoints.ok());
    auto opened = Controller::Open(*std::move(store), Defaults(), &clock_,
                                   *std::move(checkpoints));
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    controller_ = *std::move(opened);
    auto server = ControllerServer::Start(ControllerServer::Spec(),
                                          controller_.get());
    REQUIRE(server.ok());
    server_ = *std::move(server);
    stub_ = v1::Controller::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials()));
  }
  // A controller restart (same store and checkpoint folder).
  void Reopen() {
    Close();
    Open();
  }
  void Close() {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
    server_.reset();
    controller_.reset();
  }

  // A worker of this version: it trains recipes.
  void Register(const std::string& worker) {
    v1::RegisterRequest request;
    request.set_worker_id(worker);
    request.add_features(kTrainingRecipeFeature);
    v1::RegisterResponse response;
    grpc::ClientContext context;
    REQUIRE(stub_->Register(&context, request, &response).ok());
  }
  v1::GetTaskResponse GetTask(const std::string& worker) {
    v1::GetTaskRequest request;
    request.set_worker_id(worker);
    v1::GetTaskResponse response;
    grpc::ClientContext context;
    const grpc::Status s = stub_->GetTask(&context, request, &response);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return response;
  }
  v1::ResultAck Report(const std::string& worker, const v1::Task& task,
                       double fitness, bool ok = true) {
    v1::ResultReport report;
    report.set_worker_id(worker);
    report.set_search_id(task.search_id());
    report.set_model_id(task.model_id());
    report.set_attempt(task.attempt());
    report.set_ok(ok);
    report.set_fitness(fitness);
    if (!ok) report.set_failure("worker error");
    v1::ResultAck ack;
    grpc::ClientContext context;
    const grpc::Status s = stub_->ReportResult(&context, report, &ack);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return ack;
  }
  // Runs every child of `search_id` to the end, child i with fitness i/100.
  void Finish(const std::string& search_id) {
    Register("w");
    for (int i = 0; i < 1000; ++i) {
      v1::GetTaskResponse answer = GetTask("w");
      if (!answer.has_task()) break;
      REQUIRE(answer.task().search_id() == search_id);
      Report("w", answer.task(), answer.task().model_id() / 100.0);
    }
    REQUIRE(controller_->Find(search_id).value()->Finished());
  }
  grpc::Status CreateFinal(const v1::CreateFinalRequest& request,
                           v1::CreateSearchResponse* response) {
    grpc::ClientContext context;
    return stub_->CreateFinal(&context, request, response);
  }
  grpc::Status Upload(const std::string& worker, const v1::Task& task,
                      int epoch, const std::string& payload,
                      v1::CheckpointAck* ack, int64_t declared_size = -1,
                      uint32_t declared_crc = 0) {
    grpc::ClientContext context;
    auto writer = stub_->UploadCheckpoint(&context, ack);
    v1::CheckpointChunk chunk;
    v1::CheckpointHeader* h = chunk.mutable_header();
    h->set_worker_id(worker);
    h->set_search_id(task.search_id());
    h->set_model_id(task.model_id());
    h->set_attempt(task.attempt());
    h->set_epoch(epoch);
    h->set_size(declared_size >= 0 ? declared_size
                                   : static_cast<int64_t>(payload.size()));
    h->set_crc32(declared_crc != 0 ? declared_crc : Crc32(payload));
    // Two messages: the reassembly is part of what is tested.
    chunk.set_data(payload.substr(0, payload.size() / 2));
    writer->Write(chunk);
    chunk.clear_header();
    chunk.set_data(payload.substr(payload.size() / 2));
    writer->Write(chunk);
    writer->WritesDone();
    return writer->Finish();
  }
  grpc::Status Download(const std::string& worker, const v1::Task& task,
                        std::string* payload, int* epoch) {
    grpc::ClientContext context;
    v1::CheckpointRequest request;
    request.set_worker_id(worker);
    request.set_search_id(task.search_id());
    request.set_model_id(task.model_id());
    request.set_attempt(task.attempt());
    auto reader = stub_->DownloadCheckpoint(&context, request);
    v1::CheckpointChunk chunk;
    payload->clear();
    while (reader->Read(&chunk)) {
      if (chunk.has_header()) *epoch = chunk.header().epoch();
      payload->append(chunk.data());
    }
    return reader->Finish();
  }

  Controller& controller() { return *controller_; }
  FakeClock& clock() { return clock_; }
  const std::string& checkpoint_dir() const { return checkpoint_dir_; }

 private:
  const std::string path_;
  const std::string checkpoint_dir_;
  const int64_t max_bytes_;
  FakeClock clock_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<ControllerServer> server_;
  std::unique_ptr<v1::Controller::Stub> stub_;
};

TEST_CASE("CreateFinal refuses bad requests with the reason and creates nothing") {
  FinalHarness h("final_refusals");
  REQUIRE(h.controller().CreateSearch("done", SmallSearch(6)).ok());
  REQUIRE(h.controller().CreateSearch("busy", SmallSearch(50)).ok());
  h.Register("w");
  // Finish "done" only: it is created first and served while "busy" waits
  // (fair share by children leased: serve, report, repeat).
  for (int i = 0; i < 100 && !h.controller().Find("done").value()->Finished();
       ++i) {
    v1::GetTaskResponse answer = h.GetTask("w");
    REQUIRE(answer.has_task());
    h.Report("w", answer.task(), 0.5);
  }
  REQUIRE(h.controller().Find("done").value()->Finished());
  auto refused = [&](v1::CreateFinalRequest request) {
    v1::CreateSearchResponse response;
    const grpc::Status s = h.CreateFinal(request, &response);
    REQUIRE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    return s.error_message();
  };
  v1::CreateFinalRequest request;
  REQUIRE_THAT(refused(request), Catch::Contains("at least one"));
  request.add_source_search_ids("busy");
  REQUIRE_THAT(refused(request), Catch::Contains("'busy' is not finished"));
  request.set_source_search_ids(0, "nowhere");
  REQUIRE_THAT(refused(request), Catch::Contains("'nowhere'"));
  request.set_source_search_ids(0, "done");
  request.set_top_k(0);
  REQUIRE_THAT(refused(request), Catch::Contains("top_k must be in 1..1000"));
  request.set_top_k(2);
  request.mutable_settings()->set_filters(1);
  REQUIRE_THAT(refused(request),
               Catch::Contains("F (filters) must be in 2..4096, got 1"));
  request.mutable_settings()->set_filters(16);
  request.mutable_settings()->set_checkpoint_every(9);
  REQUIRE_THAT(refused(request), Catch::Contains("checkpoint_every"));
  request.mutable_settings()->clear_checkpoint_every();
  request.mutable_settings()->mutable_recipe()->set_stem("imagenet");
  REQUIRE_THAT(refused(request),
               Catch::Contains("at least 64 with the ImageNet stem (five "
                               "reductions), got 28"));
  request.mutable_settings()->mutable_recipe()->set_stem("cifar");
  request.mutable_settings()->mutable_recipe()->set_optimizer("adam");
  REQUIRE_THAT(refused(request),
               Catch::Contains("--optimizer must be momentum or rmsprop"));
  request.mutable_settings()->clear_recipe();
  request.set_seeds(0);
  REQUIRE_THAT(refused(request), Catch::Contains("seeds in 1..100"));
  REQUIRE(h.controller().Searches().size() == 2);
}

TEST_CASE("a final job carries the whole recipe to its worker, across restarts") {
  FinalHarness h("final_recipe");
  REQUIRE(h.controller().CreateSearch("s", SmallSearch(4)).ok());
  h.Finish("s");
  // What `amoeba finalize --recipe=imagenet-final --F=8 --epochs=2
  // --image_size=96 --cutout=16` sends (the rest: the source search's).
  gflags::FlagSaver saver;
  gflags::SetCommandLineOption("recipe", "imagenet-final");
  gflags::SetCommandLineOption("F", "8");
  gflags::SetCommandLineOption("epochs", "2");
  gflags::SetCommandLineOption("image_size", "96");
  gflags::SetCommandLineOption("cutout", "16");
  v1::CreateFinalRequest request;
  request.add_source_search_ids("s");
  request.set_top_k(1);
  *request.mutable_settings() = GivenTrainingSettings();
  v1::CreateSearchResponse created;
  const grpc::Status s = h.CreateFinal(request, &created);
  INFO(s.error_message());
  REQUIRE(s.ok());

  // `amoeba train` with the same flags, as a final training.
  v1::TrainingSettings train = TrainingSettingsFromFlags();
  train.set_final_training(true);
  train.set_validation_images(0);
  train.set_epochs(2);
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);  // 1: after a controller restart
    const v1::TrainingSettings& stored =
        h.controller().Find("s-final").value()->options().settings;
    CHECK(stored.recipe().name() == "imagenet-final");
    CHECK(stored.dataset() == "folder");
    // Every recipe field is stored, the preset's, the flags' and defaults.
    CHECK(stored.recipe().SerializeAsString() ==
          CompleteRecipe(stored.recipe()).SerializeAsString());
    CHECK(CompleteRecipe(stored.recipe()).SerializeAsString() ==
          CompleteRecipe(train.recipe()).SerializeAsString());
    const TrainOptions options =
        TrainOptionsFromSettings(stored, DatasetKind::kFolder);
    CHECK(options.optimizer == OptimizerKind::kRmsProp);
    CHECK(options.schedule == LrSchedule::kExponential);
    CHECK(options.augment.cutout == 16);
    CHECK(options.warmup_epochs == 2);  // the preset's 3, capped
    const NetworkOptions network =
        NetworkOptionsFromSettings(stored, ImageShape{3, 96, 5});
    CHECK(network.stem == Stem::kImageNet);
    CHECK(network.filters == 8);
    CHECK(network.cells_per_stack == 6);
    CHECK(network.aux_head);
    CHECK(network.dropout == 0.5);
    h.Reopen();
  }
  h.Register("a");
  const v1::Task task = h.GetTask("a").task();
  REQUIRE(task.search_id() == "s-final");
  CHECK(task.settings().recipe().SerializeAsString() ==
        CompleteRecipe(train.recipe()).SerializeAsString());
  CHECK(DataOptionsFromSettings(task.settings(), {})->image_size == 96);
  CHECK(CheckpointKey(task).find("--stem=imagenet") != std::string::npos);
}

TEST_CASE("final jobs train the top models on the fleet with checkpoints") {
  FinalHarness h("final_protocol");
  REQUIRE(h.controller().CreateSearch("s", SmallSearch(6)).ok());
  h.Finish("s");  // child i has fitness i/100: the best are 6, 5, 4

  v1::CreateFinalRequest request;
  request.add_source_search_ids("s");
  request.set_top_k(3);
  request.set_seeds(2);
  request.mutable_settings()->set_cells_per_stack(2);
  request.mutable_settings()->set_filters(16);
  request.mutable_settings()->set_epochs(4);
  request.mutable_settings()->set_checkpoint_every(1);
  v1::CreateSearchResponse created;
  REQUIRE(h.CreateFinal(request, &created).ok());
  REQUIRE(created.search_id() == "s-final");
  const v1::SearchConfig& config = created.status().config();
  REQUIRE(config.algorithm() == "final");
  REQUIRE(config.budget() == 6);  // 3 models x 2 seeds
  REQUIRE(config.final_training().jobs_size() == 3);
  // The best (child 6) first, then the next best of other genotypes.
  REQUIRE(config.final_training().jobs(0).model_id() == 6);
  REQUIRE(config.final_training().jobs(1).fitness() <
          config.final_training().jobs(0).fitness());
  REQUIRE(config.final_training().jobs(2).fitness() <
          config.final_training().jobs(1).fitness());
  REQUIRE(config.final_training().jobs(0).genotype() !=
          config.final_training().jobs(1).genotype());
  REQUIRE(config.settings().final_training());
  REQUIRE(config.settings().validation_images() == 0);
  REQUIRE(config.settings().cells_per_stack() == 2);
  REQUIRE(config.settings().epochs() == 4);
  // Taken again: the name is taken.
  v1::CreateSearchResponse again;
  REQUIRE(h.CreateFinal(request, &again).error_code() ==
          grpc::StatusCode::ALREADY_EXISTS);

  // Job 1 goes to worker a, which checkpoints after epochs 1 and 2.
  h.Register("a");
  h.Register("b");
  const v1::Task first = h.GetTask("a").task();
  REQUIRE(first.search_id() == "s-final");
  REQUIRE(first.model_id() == 1);
  REQUIRE(first.genotype_text() ==
          config.final_training().jobs(0).genotype());
  REQUIRE(first.settings().final_training());
  REQUIRE(first.checkpoint_epoch() == 0);
  v1::CheckpointAck ack;
  REQUIRE(h.Upload("a", first, 1, "state after epoch one", &ack).ok());
  REQUIRE(ack.epoch() == 1);
  REQUIRE(h.Upload("a", first, 2, "state after epoch two", &ack).ok());
  REQUIRE(ack.epoch() == 2);
  // Another worker cannot write it; damage and excess are refused.
  REQUIRE(h.Upload("b", first, 3, "forged", &ack).error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(h.Upload("a", first, 3, "bits", &ack, -1, 12345).error_code() ==
          grpc::StatusCode::DATA_LOSS);
  REQUIRE(h.Upload("a", first, 3, "x", &ack, int64_t{1} << 21).error_code() ==
          grpc::StatusCode::RESOURCE_EXHAUSTED);

  // Worker a goes silent; after a controller restart and the lease's
  // expiry, worker b gets the job with the checkpoint to resume from.
  h.Reopen();
  h.Register("a");
  h.Register("b");
  h.clock().Advance(absl::Seconds(61));
  h.controller().ExpireLeases();
  v1::Task resumed;
  for (int i = 0; i < 10 && resumed.model_id() != 1; ++i) {
    v1::GetTaskResponse answer = h.GetTask("b");
    REQUIRE(answer.has_task());
    if (answer.task().model_id() != 1) {
      h.Report("b", answer.task(), 0.9);
      continue;
    }
    resumed = answer.task();
  }
  REQUIRE(resumed.model_id() == 1);
  REQUIRE(resumed.attempt() == 2);
  REQUIRE(resumed.checkpoint_epoch() == 2);
  std::string payload;
  int epoch = 0;
  // The old holder may not read it any more; the new one may.
  REQUIRE(h.Download("a", first, &payload, &epoch).error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(h.Download("b", resumed, &payload, &epoch).ok());
  REQUIRE(payload == "state after epoch two");
  REQUIRE(epoch == 2);
  // The stale holder's late checkpoint is refused and changes nothing.
  REQUIRE(h.Upload("a", first, 3, "stale", &ack).error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(std::filesystem::exists(h.checkpoint_dir() + "/s-final/1.ckpt"));
  REQUIRE(h.Report("b", resumed, 0.91).recorded());
  // Durable result: the checkpoint is gone.
  REQUIRE(!std::filesystem::exists(h.checkpoint_dir() + "/s-final/1.ckpt"));
  // A late report of the old attempt does not count twice.
  REQUIRE(!h.Report("a", first, 0.5).recorded());

  // The rest finish (one job fails for good after max_attempts): every
  // final job ends exactly once and the search is finished.
  int failures = 0;
  for (int i = 0; i < 20; ++i) {
    v1::GetTaskResponse answer = h.GetTask("b");
    if (!answer.has_task()) break;
    const bool fail = answer.task().model_id() == 6;
    failures += fail;
    h.Report("b", answer.task(), 0.8, !fail);
  }
  Search* final_search = h.controller().Find("s-final").value();
  REQUIRE(failures == 2);
  REQUIRE(final_search->Finished());
  const v1::SearchStatus status = final_search->Status();
  REQUIRE(status.state() == v1::FINISHED);
  REQUIRE(status.done() == 5);
  REQUIRE(status.failed() == 1);
  // A final search cannot be finalized again.
  v1::CreateFinalRequest of_final;
  of_final.add_source_search_ids("s-final");
  v1::CreateSearchResponse response;
  REQUIRE(h.CreateFinal(of_final, &response).error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("a job that already trained goes first, in its search and across") {
  FinalHarness h("final_trained_first");
  REQUIRE(h.controller().CreateSearch("s", SmallSearch(6)).ok());
  h.Finish("s");
  v1::CreateFinalRequest request;
  request.add_source_search_ids("s");
  request.set_top_k(3);
  request.mutable_settings()->set_epochs(4);
  request.mutable_settings()->set_checkpoint_every(1);
  v1::CreateSearchResponse created;
  REQUIRE(h.CreateFinal(request, &created).ok());
  // Job 1 goes to a, job 2 to b; only b checkpoints before both go silent.
  h.Register("a");
  h.Register("b");
  const v1::Task job1 = h.GetTask("a").task();
  const v1::Task job2 = h.GetTask("b").task();
  REQUIRE(job1.model_id() == 1);
  REQUIRE(job2.model_id() == 2);
  v1::CheckpointAck ack;
  REQUIRE(h.Upload("b", job2, 1, "state after epoch one", &ack).ok());
  h.clock().Advance(absl::Seconds(61));
  h.controller().ExpireLeases();
  // A restart reads the waiting jobs back in id order, and a search created
  // since has served nobody: fresh work everywhere but job 2.
  h.Reopen();
  REQUIRE(h.controller().CreateSearch("other", SmallSearch(6)).ok());
  h.Register("c");
  const v1::Task first = h.GetTask("c").task();
  CHECK(first.search_id() == "s-final");
  CHECK(first.model_id() == 2);
  CHECK(first.checkpoint_epoch() == 1);
  // Then the fair share as before: the search that lacks workers most.
  h.Register("d");
  CHECK(h.GetTask("d").task().search_id() == "other");
}

TEST_CASE("CreateFinal takes the best distinct genotypes") {
  FinalHarness h("final_distinct");
  // Aging evolution with P=2, S=2 copies its parent often (identity
  // mutations, and S=P picks the same best parent again and again).
  v1::SearchConfig config = SmallSearch(30);
  config.set_population_size(2);
  REQUIRE(h.controller().CreateSearch("s", config).ok());
  h.Finish("s");
  v1::ListModelsRequest all;
  all.set_search_id("s");
  all.set_page_size(100);
  auto models = h.controller().Find("s").value()->ListModels(all);
  REQUIRE(models.ok());
  std::set<std::string> distinct;
  for (const auto& m : models->models()) distinct.insert(m.fingerprint());
  REQUIRE(distinct.size() < 30);  // the search did repeat genotypes
  v1::CreateFinalRequest request;
  request.add_source_search_ids("s");
  request.set_top_k(1000);
  auto created = h.controller().CreateFinal(request);
  REQUIRE(created.ok());
  const v1::FinalTraining& f = (*created)->options().final_training;
  REQUIRE(f.jobs_size() == static_cast<int>(distinct.size()));
  std::set<std::string> genotypes;
  double previous = 2;
  for (const v1::FinalJob& job : f.jobs()) {
    REQUIRE(genotypes.insert(job.genotype()).second);
    REQUIRE(job.fitness() <= previous);  // best first
    previous = job.fitness();
  }
}

TEST_CASE("a checkpoint that arrives as its child finishes is not kept") {
  FinalHarness h("final_late_upload");
  v1::SearchConfig config = SmallSearch(2);
  config.mutable_settings()->set_checkpoint_every(1);
  REQUIRE(h.controller().CreateSearch("s", config).ok());
  h.Register("a");
  const v1::Task task = h.GetTask("a").task();
  v1::CheckpointHeader header =
      [&] {
        v1::CheckpointHeader hd;
        hd.set_worker_id("a");
        hd.set_search_id("s");
        hd.set_model_id(task.model_id());
        hd.set_attempt(task.attempt());
        hd.set_epoch(1);
        hd.set_size(5);
        hd.set_crc32(Crc32("state"));
        return hd;
      }();
  // The upload passes the holder check, then the child's result becomes
  // durable (and its checkpoint is removed), then the bytes are complete.
  auto upload = h.controller().BeginCheckpoint(header);
  REQUIRE(upload.ok());
  REQUIRE(*upload != nullptr);
  REQUIRE((*upload)->Append("state").ok());
  REQUIRE(h.Report("a", task, 0.5).recorded());
  auto kept = h.controller().CommitCheckpoint(header, *std::move(upload));
  CHECK(absl::IsFailedPrecondition(kept.status()));
  CHECK(h.controller().checkpoints()->Epoch("s", task.model_id()) == 0);
  CHECK(!std::filesystem::exists(
      absl::StrCat(h.checkpoint_dir(), "/s/", task.model_id(), ".ckpt")));
  // And a stale upload after the result is refused at its header.
  CHECK(absl::IsFailedPrecondition(
      h.controller().BeginCheckpoint(header).status()));
}

TEST_CASE("a restarted controller removes checkpoints of finished children") {
  FinalHarness h("final_sweep");
  REQUIRE(h.controller().CreateSearch("s", SmallSearch(3)).ok());
  h.Finish("s");
  // A checkpoint left by a crash between a durable result and its removal.
  REQUIRE(WriteFileAtomically(h.checkpoint_dir() + "/s/2.ckpt",
                              EncodeCheckpoint(1, "left over"))
              .ok());
  h.Reopen();
  REQUIRE(!std::filesystem::exists(h.checkpoint_dir() + "/s/2.ckpt"));
}

}  // namespace
}  // namespace amoeba
