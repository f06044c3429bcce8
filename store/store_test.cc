#include "store/store.h"

#include <sqlite3.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "store/test_rows.h"
#include "store/search_store.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

// A store file with one search "s" in it (created on a first writable
// open); `->` reaches the search's rows.
struct Opened {
  std::unique_ptr<Store> file;
  std::unique_ptr<SearchStore> search;
  SearchStore* operator->() const { return search.get(); }
};

absl::StatusOr<Opened> OpenSearch(const std::string& path,
                                  bool read_only = false) {
  auto store = read_only ? Store::OpenReadOnly(path) : Store::Open(path);
  if (!store.ok()) return store.status();
  auto found = (*store)->FindSearch("s");
  if (!found.ok() && !read_only) {
    found = (*store)->CreateSearch("s", "{}", 1000.0);
  }
  if (!found.ok()) return found.status();
  Opened opened;
  opened.search = (*store)->OpenSearch(*found);
  opened.file = std::move(*store);
  return opened;
}

TEST_CASE("Searches are created once, by unique valid names, and listed") {
  const std::string path = FreshSqlitePath("searches.db");
  {
    auto store = Store::Open(path);
    REQUIRE(store.ok());
    CHECK((*store)->ListSearches()->empty());
    auto a = (*store)->CreateSearch("aging-1", R"({"algorithm":"aging"})", 5.0);
    REQUIRE(a.ok());
    auto b = (*store)->CreateSearch("random.1", R"({"algorithm":"random"})", 6.0);
    REQUIRE(b.ok());
    CHECK(a->key != b->key);
    auto again = (*store)->CreateSearch("aging-1", "{}", 7.0);
    CHECK(again.status().code() == absl::StatusCode::kAlreadyExists);
    for (const char* bad : {"", "-x", "a b", "a/b", "\xff"}) {
      CHECK((*store)->CreateSearch(bad, "{}", 1.0).status().code() ==
            absl::StatusCode::kInvalidArgument);
    }
    CHECK((*store)->CreateSearch(std::string(65, 'a'), "{}", 1.0)
              .status()
              .code() == absl::StatusCode::kInvalidArgument);
    // The run state is per search.
    REQUIRE((*store)->OpenSearch(*a)->PutStateLater("paused").get().ok());
  }
  auto store = Store::Open(path);
  REQUIRE(store.ok());
  auto searches = (*store)->ListSearches();
  REQUIRE(searches.ok());
  REQUIRE(searches->size() == 2);
  CHECK((*searches)[0].name == "aging-1");
  CHECK((*searches)[0].config == R"({"algorithm":"aging"})");
  CHECK((*searches)[0].created_at == 5.0);
  CHECK((*store)->OpenSearch((*searches)[0])->LoadState().value() == "paused");
  CHECK((*store)->OpenSearch((*searches)[1])->LoadState().value() == "running");
  auto missing = (*store)->FindSearch("nope");
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.status().message()),
             Catch::Contains("aging-1, random.1"));
}

TEST_CASE("Searches in one store keep their rows apart") {
  const std::string path = FreshSqlitePath("apart.db");
  auto store = Store::Open(path);
  REQUIRE(store.ok());
  auto a = (*store)->OpenSearch((*store)->CreateSearch("a", "{}", 1).value());
  auto b = (*store)->OpenSearch((*store)->CreateSearch("b", "{}", 1).value());
  EngineCounters ca{{1, 2, 3, 4}, 3, 0};
  EngineCounters cb{{5, 6, 7, 8}, 2, 1};
  REQUIRE(a->InsertChild(TestChild(1), ca).ok());
  REQUIRE(a->InsertChild(TestChild(2), ca).ok());
  ModelRecord done = TestChild(1);
  done.genotype = "b's child 1";
  done.state = ModelState::kDone;
  done.alive = true;
  done.completion_seq = 1;
  REQUIRE(b->RecordCompletion(done, std::nullopt, cb).ok());
  CHECK(a->LoadModels()->size() == 2);
  CHECK(b->LoadModels()->size() == 1);
  CHECK(a->GetModel(1).value()->genotype == "genotype 1");
  CHECK(b->GetModel(1).value()->genotype == "b's child 1");
  CHECK(a->CountModels("state = 'done'").value() == 0);
  CHECK(b->CountModels("state = 'done'").value() == 1);
  CHECK(a->LoadEngineCounters().value()->rng == ca.rng);
  CHECK(b->LoadEngineCounters().value()->rng == cb.rng);
  CHECK(a->CheckCounters().ok());
  CHECK(b->CheckCounters().ok());
  CHECK((*store)->Check().value().empty());
}

TEST_CASE("A store written by the previous version is upgraded in place") {
  // store/testdata/store_v1.sql is a store written by amoeba-controller
  // before stores held many searches: aging, P=4, S=2, budget 10, all 10 done.
  const std::string path = FreshSqlitePath("upgraded.db");
  REQUIRE(WritePreviousVersionStore(path).ok());
  REQUIRE(ReadWholeFile(path).size() > 4096);
  {
    auto store = Store::Open(path);
    REQUIRE(store.ok());
    auto searches = (*store)->ListSearches();
    REQUIRE(searches.ok());
    REQUIRE(searches->size() == 1);
    const StoredSearch& s = (*searches)[0];
    CHECK(s.name == "s-c8b9409b6507");  // the id workers' spools carry
    CHECK(s.state == "running");
    CHECK_THAT(s.config, Catch::Contains(R"("population_size":"4")"));
    CHECK_THAT(s.config, Catch::Contains(R"("learning_rate":"0.05")"));
    CHECK_THAT(s.config, Catch::Contains(R"("deduplicate":false)"));
    auto rows = (*store)->OpenSearch(s);
    auto models = rows->LoadModels();
    REQUIRE(models.ok());
    CHECK(models->size() == 10);
    CHECK(rows->CountModels("state = 'done'").value() == 10);
    CHECK(rows->CountModels("alive = 1").value() == 4);
    auto counters = rows->LoadEngineCounters();
    REQUIRE(counters.ok());
    REQUIRE(counters->has_value());
    CHECK((*counters)->next_id == 11);
    CHECK((*counters)->completed == 10);
    CHECK((*store)->Check().value().empty());
    // A second search joins the upgraded store beside the first.
    REQUIRE((*store)->CreateSearch("next", "{}", 1).ok());
  }
  // Upgraded once: a reopen finds the current format and both searches.
  auto store = Store::OpenReadOnly(path);
  REQUIRE(store.ok());
  CHECK((*store)->ListSearches()->size() == 2);
}

TEST_CASE("A previous-version store is upgraded only by a writer") {
  const std::string path = FreshSqlitePath("not-upgraded.db");
  REQUIRE(WritePreviousVersionStore(path).ok());
  auto reader = Store::OpenReadOnly(path);
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(reader.status().message()),
             Catch::Contains("start amoeba-controller on it once"));
  // A previous-version store from before the `failures` column gets it.
  REQUIRE(std::system(("sqlite3 " + path +
                       " 'ALTER TABLE models DROP COLUMN failures'")
                          .c_str()) == 0);
  auto store = Store::Open(path);
  REQUIRE(store.ok());
  auto searches = (*store)->ListSearches();
  REQUIRE(searches.ok());
  REQUIRE(searches->size() == 1);
  auto model = (*store)->OpenSearch((*searches)[0])->GetModel(3);
  REQUIRE(model.ok());
  REQUIRE(model->has_value());
  CHECK((*model)->failures == 0);
}

TEST_CASE("A store from before weight inheritance gets its column") {
  const std::string path = FreshSqlitePath("before-inheritance.db");
  {
    auto store = OpenSearch(path);
    REQUIRE(store.ok());
    ModelRecord done = TestChild(1);
    done.state = ModelState::kDone;
    done.alive = true;
    done.completion_seq = 1;
    done.parameters = 1000;
    done.inherited_parameters = 900;
    REQUIRE((*store)->InsertChild(TestChild(1), EngineCounters()).ok());
    REQUIRE((*store)->RecordCompletion(done, std::nullopt, EngineCounters())
                .ok());
    const auto models = (*store)->LoadModels();
    REQUIRE(models.ok());
    CHECK((*models)[0].inherited_parameters == 900);
  }
  REQUIRE(std::system(("sqlite3 " + path +
                       " 'ALTER TABLE models DROP COLUMN "
                       "inherited_parameters'")
                          .c_str()) == 0);
  auto reader = Store::OpenReadOnly(path);
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(reader.status().message()),
             Catch::Contains("no inherited_parameters column") &&
                 Catch::Contains("start amoeba-controller on it once"));
  auto store = OpenSearch(path);
  REQUIRE(store.ok());
  const auto models = (*store)->LoadModels();
  REQUIRE(models.ok());
  REQUIRE(models->size() == 1);
  CHECK((*models)[0].inherited_parameters == 0);
  CHECK((*models)[0].fitness == TestChild(1).fitness);
}

TEST_CASE("Models, completions and engine counters round-trip") {
  const std::string path = FreshSqlitePath("models.db");
  EngineCounters counters;
  counters.rng = {0xffffffffffffffffULL, 2, 0x8000000000000000ULL, 4};
  counters.next_id = 3;
  {
    auto store = OpenSearch(path);
    REQUIRE(store.ok());
    REQUIRE((*store)->InsertChild(TestChild(1), counters).ok());
    REQUIRE((*store)->InsertChild(TestChild(2), counters).ok());
    ModelRecord done = TestChild(1);
    done.state = ModelState::kDone;
    done.fitness = 0.875;
    done.alive = true;
    done.completion_seq = 1;
    done.worker_id = "w1";
    REQUIRE((*store)->RecordCompletion(done, std::nullopt, counters).ok());
    ModelRecord second = TestChild(2);
    second.state = ModelState::kDone;
    second.alive = true;
    counters.completed = 2;
    REQUIRE((*store)->RecordCompletion(second, 1, counters).ok());
    (*store)->UpdateProgressAsync(2, 7);
    REQUIRE((*store)->PutStateLater("paused").get().ok());
  }
  auto store = OpenSearch(path);
  REQUIRE(store.ok());
  const auto models = (*store)->LoadModels();
  REQUIRE(models.ok());
  REQUIRE(models->size() == 2);
  CHECK((*models)[0].fitness == 0.875);
  CHECK((*models)[0].worker_id == "w1");
  CHECK_FALSE((*models)[0].alive);  // died when 2 completed
  CHECK((*models)[1].alive);
  CHECK((*models)[1].epoch == 7);  // async progress flushed on close
  const auto loaded = (*store)->LoadEngineCounters();
  REQUIRE(loaded.ok());
  REQUIRE(loaded->has_value());
  CHECK((*loaded)->rng == counters.rng);
  CHECK((*loaded)->completed == 2);
  CHECK((*store)->LoadState().value() == "paused");
}

TEST_CASE("Looking up models by id does not grow the statement cache") {
  auto store = OpenSearch(FreshSqlitePath("statements.db"));
  REQUIRE(store.ok());
  EngineCounters counters;
  REQUIRE((*store)->InsertChild(TestChild(1), counters).ok());
  REQUIRE((*store)->GetModel(1).ok());
  const size_t before = store->file->cached_statements();
  for (int64_t id = 1; id <= 200; ++id) REQUIRE((*store)->GetModel(id).ok());
  CHECK(store->file->cached_statements() == before);
  CHECK((*store)->GetModel(1).value()->genotype == "genotype 1");
  CHECK_FALSE((*store)->GetModel(2).value().has_value());
}

TEST_CASE("Charged failures round-trip") {
  const std::string path = FreshSqlitePath("failures.db");
  {
    auto store = OpenSearch(path);
    REQUIRE(store.ok());
    ModelRecord m = TestChild(1);
    m.attempts = 4;
    m.failures = 2;
    REQUIRE((*store)->InsertChild(m, EngineCounters{}).ok());
  }
  {
    auto store = OpenSearch(path);
    REQUIRE(store.ok());
    CHECK((*store)->GetModel(1).value()->failures == 2);
    CHECK((*store)->GetModel(1).value()->attempts == 4);
  }
}

TEST_CASE("Reopen queries: living members, evaluators, fingerprints") {
  const std::string path = FreshSqlitePath("reopen.db");
  auto store = OpenSearch(path);
  REQUIRE(store.ok());
  EngineCounters counters;
  for (int id = 1; id <= 4; ++id) {
    REQUIRE((*store)->InsertChild(TestChild(id), counters).ok());
  }
  // Completed in the order 3, 1, 2; 3 then dies. 4 never finishes.
  int seq = 0;
  for (int id : {3, 1, 2}) {
    ModelRecord done = TestChild(id);
    done.state = ModelState::kDone;
    done.alive = true;
    done.completion_seq = ++seq;
    done.evaluator = id == 2 ? "libtorch" : "simulated";
    const std::optional<int64_t> died =
        id == 2 ? std::optional<int64_t>(3) : std::nullopt;
    REQUIRE((*store)->RecordCompletion(done, died, counters).ok());
  }
  const auto alive = (*store)->QueryModels("alive = 1", "completion_seq", -1, 0);
  REQUIRE(alive.ok());
  REQUIRE(alive->size() == 2);
  CHECK((*alive)[0].id == 1);  // oldest first
  CHECK((*alive)[1].id == 2);
  const auto evaluators = (*store)->DistinctEvaluators();
  REQUIRE(evaluators.ok());
  CHECK(std::set<std::string>(evaluators->begin(), evaluators->end()) ==
        std::set<std::string>{"libtorch", "simulated"});
  const auto fingerprints = (*store)->LoadFingerprints();
  REQUIRE(fingerprints.ok());
  CHECK(std::set<uint64_t>(fingerprints->begin(), fingerprints->end()) ==
        std::set<uint64_t>{1, 2, 3, 4});

  ModelRecord bad = TestChild(5);
  bad.fingerprint = "not-hex";
  REQUIRE((*store)->InsertChild(bad, counters).ok());
  const auto refused = (*store)->LoadFingerprints();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("model 5 has a malformed fingerprint"));
}

TEST_CASE("Concurrent writes are grouped into few commits") {
  const std::string path = FreshSqlitePath("group.db");
  auto store = OpenSearch(path);
  REQUIRE(store.ok());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        REQUIRE((*store)->InsertChild(TestChild(t * kPerThread + i + 1),
                                      EngineCounters{{1, 2, 3, 4}, 1, 0})
                    .ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK((*store)->LoadModels()->size() == kThreads * kPerThread);
  WARN("commits for " << kThreads * kPerThread
                      << " writes: " << store->file->commits());
  CHECK(store->file->commits() < kThreads * kPerThread);
}

TEST_CASE("Damaged rows are refused when read, naming the row") {
  const std::string path = FreshSqlitePath("damaged-rows.db");
  {
    auto store = OpenSearch(path);
    REQUIRE(store.ok());
    for (int64_t id = 1; id <= 3; ++id) {
      ModelRecord m = TestChild(id);
      m.state = ModelState::kDone;
      m.fitness = 0.5;
      m.completion_seq = id;
      REQUIRE((*store)->InsertChild(m, EngineCounters{}).ok());
    }
  }
  // Flipped bytes (invalid UTF-8) in row 2, and a planted fitness in row 3.
  REQUIRE(std::system(("sqlite3 " + path +
                       " \"UPDATE models SET mutation = CAST(X'C328FF' AS TEXT) WHERE id = 2;"
                       " UPDATE models SET fitness = 1e308 WHERE id = 3\"")
                          .c_str()) == 0);
  auto store = OpenSearch(path);
  REQUIRE(store.ok());
  CHECK((*store)->GetModel(1).ok());
  auto utf8 = (*store)->GetModel(2);
  REQUIRE_FALSE(utf8.ok());
  CHECK(utf8.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(utf8.status().message()),
             Catch::Contains("row 2 of models: mutation is not valid UTF-8"));
  auto fitness = (*store)->GetModel(3);
  REQUIRE_FALSE(fitness.ok());
  CHECK_THAT(std::string(fitness.status().message()), Catch::Contains("row 3"));
  CHECK_FALSE((*store)->LoadModels().ok());
}

TEST_CASE("A store has one writer; readers open it read-only beside it") {
  const std::string path = FreshSqlitePath("one-writer.db");
  {
    auto writer = OpenSearch(path);
    REQUIRE(writer.ok());
    REQUIRE((*writer)->InsertChild(TestChild(1), EngineCounters{}).ok());
    auto second = Store::Open(path);
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(second.status().message()),
               Catch::Contains("in use by another controller (pid " +
                               std::to_string(getpid())));
    auto reader = OpenSearch(path, /*read_only=*/true);
    REQUIRE(reader.ok());
    CHECK((*reader)->GetModel(1).value().has_value());
    CHECK_FALSE((*reader)->PutStateLater("paused").get().ok());
  }
  // The lock goes with its holder.
  CHECK(Store::Open(path).ok());
}

TEST_CASE("Opening read-only never creates or changes a file") {
  const std::string empty = FreshSqlitePath("empty.db");
  std::ofstream(empty).close();
  auto refused = Store::OpenReadOnly(empty);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("empty"));
  CHECK(ReadWholeFile(empty).empty());
  const std::string missing = FreshSqlitePath("missing.db");
  CHECK(Store::OpenReadOnly(missing).status().code() == absl::StatusCode::kNotFound);
  CHECK_FALSE(std::ifstream(missing).good());
}

TEST_CASE("A file that is not an amoeba store is refused") {
  const std::string garbage = FreshSqlitePath("garbage.db");
  std::ofstream(garbage) << "this is not sqlite at all, just text";
  CHECK_FALSE(Store::Open(garbage).ok());

  const std::string other = FreshSqlitePath("other.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "CREATE TABLE t(x);", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);
  const auto refused = Store::Open(other);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("not an amoeba store"));
  CHECK_FALSE(Store::Open("/nonexistent-dir/x.db").ok());
}

TEST_CASE("kill -9 in the middle of a stream of writes loses nothing acknowledged") {
  const std::string path = FreshSqlitePath("killed.db");
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(pipe_fds[0]);
    auto store = OpenSearch(path);
    if (!store.ok()) _exit(3);
    // Writers in several threads, each acknowledging only after its write
    // returned (= durable).
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int64_t i = 0; i < 1000000; ++i) {
          const int64_t id = i * 4 + t + 1;
          ModelRecord m = TestChild(id);
          m.state = ModelState::kDone;
          if (!(*store)->RecordCompletion(m, std::nullopt,
                                          EngineCounters{{1, 2, 3, 4}, id + 1, id})
                   .ok()) {
            _exit(4);
          }
          if (write(pipe_fds[1], &id, sizeof(id)) != sizeof(id)) _exit(5);
        }
      });
    }
    for (auto& t : threads) t.join();
    _exit(0);
  }
  close(pipe_fds[1]);
  std::set<int64_t> acknowledged;
  const auto start = std::chrono::steady_clock::now();
  int64_t id;
  while (acknowledged.size() < 400 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(30) &&
         read(pipe_fds[0], &id, sizeof(id)) == sizeof(id)) {
    acknowledged.insert(id);
  }
  kill(child, SIGKILL);
  // Acknowledgements already in the pipe were also durable.
  while (read(pipe_fds[0], &id, sizeof(id)) == sizeof(id)) acknowledged.insert(id);
  int status = 0;
  waitpid(child, &status, 0);
  close(pipe_fds[0]);
  CHECK(WIFSIGNALED(status));
  REQUIRE(acknowledged.size() >= 400);

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* check = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check,
                             nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(check) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(
            sqlite3_column_text(check, 0))) == "ok");
  sqlite3_finalize(check);
  sqlite3_close(db);

  auto store = OpenSearch(path);
  REQUIRE(store.ok());
  const auto models = (*store)->LoadModels();
  REQUIRE(models.ok());
  std::set<int64_t> stored;
  for (const auto& m : *models) stored.insert(m.id);
  int missing = 0;
  for (int64_t a : acknowledged) missing += stored.count(a) == 0;
  CHECK(missing == 0);
  WARN(acknowledged.size() << " acknowledged, " << stored.size() << " stored");
}

}  // namespace
}  // namespace amoeba
