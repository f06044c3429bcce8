// The offline tools' view of a store: what a controller wrote, read back
// beside it without writing, in the orders the reports depend on.
#include "store/store_reader.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include "catch2/catch.hpp"
#include "store/test_rows.h"
#include "store/search_store.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

ModelRecord Finished(int64_t id, double fitness, int64_t seq) {
  ModelRecord m = TestChild(id);
  m.state = ModelState::kDone;
  m.fitness = fitness;
  m.alive = true;
  m.completion_seq = seq;
  return m;
}

TEST_CASE("A reader sees what the controller committed, beside it") {
  const std::string path = FreshSqlitePath("reader.db");
  auto writer = Store::Open(path);
  REQUIRE(writer.ok());
  auto created = (*writer)->CreateSearch(
      "fm", R"({"algorithm": "aging", "populationSize": 8})", 1000.0);
  REQUIRE(created.ok());
  REQUIRE((*writer)->CreateSearch("other", "{not json", 1001.0).ok());
  std::unique_ptr<SearchStore> search = (*writer)->OpenSearch(*created);
  EngineCounters counters;
  for (int64_t id = 1; id <= 3; ++id) {
    counters.next_id = id + 1;
    REQUIRE(search->InsertChild(TestChild(id), counters).ok());
  }
  // Child 3 finishes before child 1; child 2 is still running.
  counters.completed = 1;
  REQUIRE(search->RecordCompletion(Finished(3, 0.5, 1), std::nullopt, counters)
              .ok());
  counters.completed = 2;
  REQUIRE(search->RecordCompletion(Finished(1, 0.75, 2), std::nullopt, counters)
              .ok());
  HurdleReport report;
  report.model_id = 2;
  report.epoch = 1;
  report.fitness = 0.25;
  report.stop = true;
  REQUIRE(search->AddHurdleReportLater(1, report).get().ok());

  auto reader = StoreReader::Open(path);  // the writer stays open
  REQUIRE(reader.ok());
  auto searches = (*reader)->Searches();
  REQUIRE(searches.ok());
  REQUIRE(searches->size() == 2);
  CHECK((*searches)[0].name == "fm");
  CHECK((*searches)[1].name == "other");

  auto fm = (*reader)->FindSearch("fm");
  REQUIRE(fm.ok());
  auto config = StoreReader::Config(*fm);
  REQUIRE(config.ok());
  CHECK(config->algorithm() == "aging");
  CHECK(config->population_size() == 8);
  auto broken = StoreReader::Config((*searches)[1]);
  CHECK(broken.status().code() == absl::StatusCode::kDataLoss);
  CHECK(broken.status().message().find("other") != std::string::npos);

  auto children = (*reader)->Children(*fm);
  REQUIRE(children.ok());
  REQUIRE(children->size() == 3);
  CHECK((*children)[0].id == 1);
  CHECK((*children)[1].state == ModelState::kPending);
  CHECK((*children)[2].id == 3);

  auto finished = (*reader)->FinishedChildren(*fm);
  REQUIRE(finished.ok());
  REQUIRE(finished->size() == 2);
  CHECK((*finished)[0].id == 3);  // completion order, not id order
  CHECK((*finished)[1].id == 1);
  CHECK((*finished)[1].fitness == 0.75);

  auto hurdles = (*reader)->HurdleReports(*fm);
  REQUIRE(hurdles.ok());
  REQUIRE(hurdles->size() == 1);
  CHECK((*hurdles)[0].model_id == 2);
  CHECK((*hurdles)[0].stop);

  CHECK((*reader)->FindSearch("nope").status().code() ==
        absl::StatusCode::kNotFound);
  auto problems = (*reader)->Check();
  REQUIRE(problems.ok());
  INFO((problems->empty() ? std::string() : problems->front()));
  CHECK(problems->empty());
}

TEST_CASE("A reader never creates a store") {
  const std::string missing = FreshSqlitePath("reader-missing.db");
  CHECK(StoreReader::Open(missing).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK_FALSE(std::filesystem::exists(missing));
}

}  // namespace
}  // namespace amoeba
