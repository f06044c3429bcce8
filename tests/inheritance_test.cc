// Weight inheritance with the real binaries on loopback: a LibTorch worker
// uploads every child's trained weights before its result, fetches the
// parent's for every mutated child, and the controller keeps the weights of
// the living population only.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "testing/test_files.h"
#include "tests/fleet_client.h"
#include "tests/process.h"

namespace amoeba {
namespace {

TEST_CASE("Mutated children start from their parent's weights on the fleet") {
  const std::string dir = FreshTestDir("inheritance");
  Process controller(
      kController,
      {"--store=" + dir + "/search.db", "--port=0",
       "--port_file=" + dir + "/port", "--search_id=inh",
       "--population_size=3", "--sample_size=2", "--budget=7", "--F=4",
       "--epochs=2", "--inherit_weights", "--inherit_epochs=1",
       "--max_train_images=256", "--validation_images=128",
       "--lease_timeout_s=30", "--heartbeat_s=1"},
      dir + "/controller.log");
  const int port = WaitForPortFile(dir + "/port");
  REQUIRE(port > 0);
  Process worker(kWorker, LibTorchWorker(dir, port, "w"), dir + "/w.log");
  auto stub = ConnectTo(port);
  const auto status = WaitFinished(*stub, "inh", std::chrono::seconds(240));
  INFO(ReadWholeFile(dir + "/w.log"));
  REQUIRE(status.has_value());
  REQUIRE(status->state() == v1::FINISHED);
  CHECK(status->config().inheritance().epochs() == 1);

  std::set<int64_t> alive;
  int inherited = 0;
  for (const v1::ModelSummary& m : AllModels(*stub, "inh")) {
    REQUIRE(m.state() == v1::MODEL_DONE);
    if (m.alive()) alive.insert(m.id());
    if (m.parent_id() < 1) {
      CHECK(m.inherited_parameters() == 0);
      continue;
    }
    // The parent was alive when the child was made, and its weights stay
    // while the child needs them: every mutated child inherited.
    CHECK(m.inherited_parameters() > 0);
    CHECK(m.inherited_parameters() <= m.parameters());
    if (m.mutation().find("identity") != std::string::npos) {
      CHECK(m.inherited_parameters() == m.parameters());
    }
    ++inherited;
  }
  CHECK(inherited == 4);
  CHECK(alive.size() == 3);
  const std::string log = ReadWholeFile(dir + "/w.log");
  CHECK_THAT(log, Catch::Contains("starts from the weights of parent"));
  CHECK_THAT(log, !Catch::Contains("trains from fresh weights"));

  // What is left on the controller's disk: the living population's weights.
  std::set<int64_t> kept;
  for (const auto& file :
       std::filesystem::directory_iterator(dir + "/search.db.weights/inh")) {
    kept.insert(std::stoll(file.path().stem().string()));
  }
  CHECK(kept == alive);
}

}  // namespace
}  // namespace amoeba
