// Final training with the real binaries on loopback: a search finished by a
// simulated worker, `amoeba finalize` on it, a LibTorch worker killed with
// -9 after its first checkpoint, and another worker resuming the job. The
// resumed job must end with exactly the test accuracy of the same job
// trained without interruption.
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <memory>
#include <string>
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

v1::ModelSummary FirstModel(v1::Controller::Stub& stub,
                            const std::string& search) {
  grpc::ClientContext context;
  v1::GetModelRequest request;
  request.set_search_id(search);
  request.set_id(1);
  v1::GetModelResponse response;
  REQUIRE(stub.GetModel(&context, request, &response).ok());
  return response.model();
}

TEST_CASE("A final job whose worker is killed resumes elsewhere, bit for bit") {
  const std::string dir = FreshTestDir("final_training");
  Process controller(
      kController,
      {"--store=" + dir + "/search.db", "--port=0", "--port_file=" + dir + "/port",
       "--search_id=src", "--population_size=3", "--sample_size=2",
       "--budget=4", "--F=4", "--epochs=1", "--max_train_images=256",
       "--validation_images=128", "--lease_timeout_s=3", "--heartbeat_s=1"},
      dir + "/controller.log");
  const int port = WaitForPortFile(dir + "/port");
  REQUIRE(port > 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  {  // The search phase, by a simulated worker that exits when it is done.
    Process searcher(kWorker,
                     {"--controller=" + address, "--worker_id=searcher",
                      "--evaluator=simulated", "--simulated_seconds=0.05",
                      "--spool_dir=" + dir + "/spool-searcher"},
                     dir + "/searcher.log");
    REQUIRE(searcher.Wait(std::chrono::minutes(2)).has_value());
  }
  auto stub = v1::Controller::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  REQUIRE(WaitFinished(*stub, "src", seconds(10))->state() == v1::FINISHED);

  // Refused with the reason when the request cannot be trained.
  CHECK(RunLogged(std::string(kAmoeba) + " finalize --controller=" + address +
                      " --search=src --top_k=0",
                  dir + "/refused.log") == 1);
  CHECK_THAT(ReadWholeFile(dir + "/refused.log"),
             Catch::Contains("top_k must be in 1..1000"));

  const std::string finalize =
      std::string(kAmoeba) + " finalize --controller=" + address +
      " --search=src --top_k=1 --N=1 --F=4 --epochs=3 --batch_size=32 "
      "--lr=0.05 --max_train_images=800 --checkpoint_every=1";
  REQUIRE(RunLogged(finalize, dir + "/finalize.log") == 0);
  REQUIRE_THAT(ReadWholeFile(dir + "/finalize.log"),
               Catch::Contains("created src-final: 1 model(s) of src"));

  auto victim = std::make_unique<Process>(
      kWorker, LibTorchWorker(dir, port, "victim"), dir + "/victim.log");
  // Killed right after its first checkpoint: two epochs are still to go.
  REQUIRE(WaitFileContains(dir + "/victim.log", "checkpoint after epoch 1 kept",
                           seconds(300)));
  victim->Signal(SIGKILL);
  victim->Wait(seconds(10));
  Process rescuer(kWorker, LibTorchWorker(dir, port, "rescuer"),
                  dir + "/rescuer.log");
  auto resumed = WaitFinished(*stub, "src-final", seconds(600));
  REQUIRE(resumed.has_value());
  REQUIRE(resumed->state() == v1::FINISHED);
  REQUIRE(resumed->done() == 1);
  const std::string rescuer_log = ReadWholeFile(dir + "/rescuer.log");
  CHECK_THAT(rescuer_log, Catch::Contains("resuming after epoch"));
  CHECK_THAT(rescuer_log, Catch::Contains("from its checkpoint"));
  const v1::ModelSummary interrupted = FirstModel(*stub, "src-final");
  CHECK(interrupted.attempts() >= 2);
  CHECK(interrupted.worker_id() == "rescuer");
  // The checkpoint is gone once the result is durable.
  CHECK(!std::filesystem::exists(dir + "/search.db.checkpoints/src-final/1.ckpt"));

  // The same job again, never interrupted (same model, settings and seed).
  {
    v1::CreateFinalRequest request;
    request.set_search_id("reference");
    request.add_source_search_ids("src");
    request.set_top_k(1);
    v1::TrainingSettings* t = request.mutable_settings();
    t->set_cells_per_stack(1);
    t->set_filters(4);
    t->set_epochs(3);
    t->set_batch_size(32);
    t->set_learning_rate(0.05);
    t->set_max_train_images(800);
    t->set_checkpoint_every(1);
    grpc::ClientContext context;
    v1::CreateSearchResponse response;
    REQUIRE(stub->CreateFinal(&context, request, &response).ok());
  }
  REQUIRE(WaitFinished(*stub, "reference", seconds(600))->state() ==
          v1::FINISHED);
  const v1::ModelSummary uninterrupted = FirstModel(*stub, "reference");
  CHECK(uninterrupted.attempts() == 1);
  CHECK(interrupted.fitness() > 0.3);  // learned something on the test split
  CHECK(interrupted.fitness() == uninterrupted.fitness());
  CHECK(interrupted.parameters() == uninterrupted.parameters());
}

}  // namespace
}  // namespace amoeba
