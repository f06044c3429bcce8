#include "worker/spool.h"

#include <filesystem>
#include <fstream>

#include "catch2/catch.hpp"
#include "common/atomic_file_testing.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

v1::ResultReport Report(int64_t child) {
  v1::ResultReport r;
  r.set_worker_id("w");
  r.set_model_id(child);
  r.set_attempt(2);
  r.set_search_id("s-abc");
  r.set_ok(true);
  r.set_fitness(0.25);
  return r;
}

TEST_CASE("a restarted worker's spool drops the temporaries of its crashed run") {
  const std::string dir = FreshTestDir("spool-temporaries");
  const Spool first(dir);
  REQUIRE(first.Init().ok());
  REQUIRE(first.Write(Report(3)).ok());
  // What a crash between create and rename leaves.
  const std::string leftover =
      TemporaryOfExitedWriter(dir + "/s-abc-4-2.result");
  REQUIRE(!leftover.empty());
  const Spool restarted(dir);
  REQUIRE(restarted.Init().ok());
  CHECK_FALSE(std::filesystem::exists(leftover));
  REQUIRE(restarted.List().size() == 1);  // the whole result stays
}

TEST_CASE("spooled results round-trip, named by search, child and attempt") {
  const Spool spool(FreshTestDir("spool"));
  REQUIRE(spool.Init().ok());
  auto path = spool.Write(Report(4));
  REQUIRE(path.ok());
  CHECK(*path == spool.dir() + "/s-abc-4-2.result");
  REQUIRE(spool.Write(Report(11)).ok());
  REQUIRE(spool.List().size() == 2);
  auto read = spool.Read(*path);
  REQUIRE(read.ok());
  CHECK(read->fitness() == 0.25);
  CHECK(read->search_id() == "s-abc");
  spool.Remove(*path);
  CHECK(spool.List().size() == 1);
}

TEST_CASE("a truncated spool file is DataLoss, an unwritable spool an error") {
  const Spool spool(FreshTestDir("spool-bad"));
  REQUIRE(spool.Init().ok());
  auto path = spool.Write(Report(4));
  REQUIRE(path.ok());
  const std::string data = ReadWholeFile(*path);
  std::ofstream(*path, std::ios::binary | std::ios::trunc) << data.substr(0, 5);
  CHECK(spool.Read(*path).status().code() == absl::StatusCode::kDataLoss);
  // A spool folder that cannot exist: its parent is a file.
  const Spool missing(*path + "/folder");
  CHECK_FALSE(missing.Init().ok());
  auto failed = missing.Write(Report(1));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("incarnations grow even when the clock goes back") {
  const Spool spool(FreshTestDir("spool-incarnation"));
  REQUIRE(spool.Init().ok());
  CHECK(spool.NextIncarnation(1000).value() == 1000);
  CHECK(spool.NextIncarnation(5000).value() == 5000);
  CHECK(spool.NextIncarnation(10).value() == 5001);  // clock stepped back
  CHECK(spool.NextIncarnation(10).value() == 5002);
}

}  // namespace
}  // namespace amoeba
