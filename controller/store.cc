#include "controller/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace amoeba {
namespace {

constexpr char kFormat[] = "amoeba-store-1";

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS config (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS engine_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  rng0 INTEGER NOT NULL, rng1 INTEGER NOT NULL,
  rng2 INTEGER NOT NULL, rng3 INTEGER NOT NULL,
  next_id INTEGER NOT NULL,
  completed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS models (
  id INTEGER PRIMARY KEY,
  genotype TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  parent_id INTEGER NOT NULL,
  mutation TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  worker_id TEXT NOT NULL,
  created_at REAL NOT NULL,
  started_at REAL NOT NULL,
  finished_at REAL NOT NULL,
  fitness REAL NOT NULL,
  parameters INTEGER NOT NULL,
  multiply_adds INTEGER NOT NULL,
  train_seconds REAL NOT NULL,
  epoch INTEGER NOT NULL,
  failure TEXT NOT NULL,
  evaluator TEXT NOT NULL,
  completion_seq INTEGER NOT NULL,
  alive INTEGER NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS models_by_state ON models(state, fitness);
CREATE INDEX IF NOT EXISTS models_by_finish ON models(finished_at);
CREATE INDEX IF NOT EXISTS models_alive ON models(completion_seq) WHERE alive = 1;
)sql";

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("sqlite: ", what, ": ", sqlite3_errmsg(db)));
}

absl::Status Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    return absl::InternalError(absl::StrCat("sqlite: ", message));
  }
  return absl::OkStatus();
}

// Prepared statements are kept per connection and SQL text: preparing
// (parsing) every statement again was a large part of the store's CPU time
// under load. Every use happens under the owning Store's db_mu_, so one
// statement is never used by two threads at once; the map itself has its own
// lock because several stores may exist.
class StatementCache {
 public:
  static StatementCache& Get() {
    static StatementCache* cache = new StatementCache;
    return *cache;
  }

  sqlite3_stmt* Find(sqlite3* db, const std::string& sql) {
    absl::MutexLock lock(&mu_);
    auto it = statements_.find({db, sql});
    return it == statements_.end() ? nullptr : it->second;
  }
  void Put(sqlite3* db, const std::string& sql, sqlite3_stmt* stmt) {
    absl::MutexLock lock(&mu_);
    statements_[{db, sql}] = stmt;
  }
  size_t Count(sqlite3* db) {
    absl::MutexLock lock(&mu_);
    size_t n = 0;
    for (const auto& [key, stmt] : statements_) n += key.first == db ? 1 : 0;
    return n;
  }
  // Finalizes every statement of `db` (before it is closed).
  void Forget(sqlite3* db) {
    absl::MutexLock lock(&mu_);
    for (auto it = statements_.begin(); it != statements_.end();) {
      if (it->first.first == db) {
        sqlite3_finalize(it->second);
        it = statements_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  absl::Mutex mu_;
  std::map<std::pair<sqlite3*, std::string>, sqlite3_stmt*> statements_
      ABSL_GUARDED_BY(mu_);
};

// A cached prepared statement, reset and unbound again after use.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    stmt_ = StatementCache::Get().Find(db, sql);
    if (stmt_ != nullptr) return;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
      status_ = SqliteError(db, "prepare");
      sqlite3_finalize(stmt_);
      stmt_ = nullptr;
      return;
    }
    StatementCache::Get().Put(db, sql, stmt_);
  }
  ~Statement() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  const absl::Status& status() const { return status_; }
  sqlite3_stmt* get() { return stmt_; }

  Statement& Bind(int i, int64_t v) {
    if (stmt_ != nullptr) sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, double v) {
    if (stmt_ != nullptr) sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, const std::string& v) {
    if (stmt_ != nullptr) {
      sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()),
                        SQLITE_TRANSIENT);
    }
    return *this;
  }
  // Runs a statement that returns no rows.
  absl::Status Run() {
    if (!status_.ok()) return status_;
    if (sqlite3_step(stmt_) != SQLITE_DONE) return SqliteError(db_, "step");
    return absl::OkStatus();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  absl::Status status_;
};

// Savepoint commands, prepared once like everything else.
absl::Status RunCached(sqlite3* db, const char* sql) {
  Statement s(db, sql);
  return s.Run();
}

std::string Text(sqlite3_stmt* s, int column) {
  const unsigned char* text = sqlite3_column_text(s, column);
  return text != nullptr ? reinterpret_cast<const char*>(text) : "";
}

absl::StatusOr<ModelState> StateFromName(const std::string& name) {
  for (ModelState s : {ModelState::kPending, ModelState::kRunning,
                       ModelState::kDone, ModelState::kFailed}) {
    if (ModelStateName(s) == name) return s;
  }
  return absl::DataLossError(absl::StrCat("unknown model state '", name, "'"));
}

}  // namespace

absl::Status ValidateModelRecord(const ModelRecord& m) {
  auto bad = [&m](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("row ", m.id, " of models: ", what,
                                            "; the store was damaged"));
  };
  if (m.id < 1) return bad("id < 1");
  for (auto [name, text] : {std::pair<const char*, const std::string*>{"genotype", &m.genotype},
                            {"mutation", &m.mutation},
                            {"worker_id", &m.worker_id},
                            {"failure", &m.failure},
                            {"evaluator", &m.evaluator}}) {
    if (!IsValidUtf8(*text)) return bad(absl::StrCat(name, " is not valid UTF-8"));
  }
  uint64_t fingerprint = 0;
  if (m.fingerprint.size() != 16 || !absl::SimpleHexAtoi(m.fingerprint, &fingerprint)) {
    return bad("fingerprint is not 16 hex digits");
  }
  if (!std::isfinite(m.fitness) || m.fitness < 0 || m.fitness > 1) {
    return bad(absl::StrCat("fitness ", m.fitness, " is not in [0, 1]"));
  }
  if (m.attempts < 0 || m.failures < 0 || m.failures > m.attempts ||
      m.epoch < 0 || m.parameters < 0 || m.multiply_adds < 0 ||
      !std::isfinite(m.train_seconds) || m.train_seconds < 0) {
    return bad("a count or duration is out of range");
  }
  if (m.parent_id >= m.id || m.parent_id < -1) {
    return bad(absl::StrCat("parent ", m.parent_id, " is not an earlier child"));
  }
  if (m.alive && m.state != ModelState::kDone) return bad("alive but not done");
  return absl::OkStatus();
}

namespace {

absl::Status WriteModel(sqlite3* db, const ModelRecord& m) {
  Statement s(db,
              "INSERT OR REPLACE INTO models VALUES "
              "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
              "?18,?19,?20,?21)");
  s.Bind(1, m.id)
      .Bind(2, m.genotype)
      .Bind(3, m.fingerprint)
      .Bind(4, m.parent_id)
      .Bind(5, m.mutation)
      .Bind(6, ModelStateName(m.state))
      .Bind(7, int64_t{m.attempts})
      .Bind(8, m.worker_id)
      .Bind(9, m.created_at)
      .Bind(10, m.started_at)
      .Bind(11, m.finished_at)
      .Bind(12, m.fitness)
      .Bind(13, m.parameters)
      .Bind(14, m.multiply_adds)
      .Bind(15, m.train_seconds)
      .Bind(16, int64_t{m.epoch})
      .Bind(17, m.failure)
      .Bind(18, m.evaluator)
      .Bind(19, m.completion_seq)
      .Bind(20, int64_t{m.alive ? 1 : 0})
      .Bind(21, int64_t{m.failures});
  return s.Run();
}

absl::Status WriteCounters(sqlite3* db, const EngineCounters& c) {
  Statement s(db,
              "INSERT OR REPLACE INTO engine_state VALUES (1,?1,?2,?3,?4,?5,?6)");
  for (int i = 0; i < 4; ++i) s.Bind(i + 1, static_cast<int64_t>(c.rng[i]));
  s.Bind(5, c.next_id).Bind(6, c.completed);
  return s.Run();
}

// Stores written before a column existed get it (with its default); each
// added column is appended, so column positions stay fixed.
absl::Status AddMissingColumns(sqlite3* db) {
  bool has_failures = false;
  {
    Statement columns(db, "SELECT name FROM pragma_table_info('models')");
    RETURN_IF_ERROR(columns.status());
    while (sqlite3_step(columns.get()) == SQLITE_ROW) {
      if (Text(columns.get(), 0) == "failures") has_failures = true;
    }
  }
  if (has_failures) return absl::OkStatus();
  return Exec(db,
              "ALTER TABLE models ADD COLUMN failures INTEGER NOT NULL "
              "DEFAULT 0;");
}

}  // namespace

std::string ModelStateName(ModelState state) {
  switch (state) {
    case ModelState::kPending:
      return "pending";
    case ModelState::kRunning:
      return "running";
    case ModelState::kDone:
      return "done";
    case ModelState::kFailed:
      return "failed";
  }
  return "unknown";
}

namespace {

// One writer per store: an exclusive flock on "<store>.lock", held for the
// Store's life (the kernel drops it when the process dies, so a kill -9
// never leaves a stale lock). The file says who holds it.
absl::StatusOr<int> TakeWriterLock(const std::string& path) {
  const std::string lock_path = path + ".lock";
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot open ", lock_path, ": ",
                                               std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[512] = {0};
    const ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
    close(fd);
    std::string who(holder, n > 0 ? static_cast<size_t>(n) : 0);
    while (!who.empty() && (who.back() == '\n' || who.back() == '\0')) who.pop_back();
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", path, " is in use by another controller (",
        who.empty() ? "holder unknown" : who,
        "); a store has one writer: stop that one first"));
  }
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  const std::string who =
      absl::StrCat("pid ", getpid(), " on ", host, " since ",
                   absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::Now(),
                                    absl::UTCTimeZone()),
                   "\n");
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, who.data(), who.size(), 0) != static_cast<ssize_t>(who.size())) {
    // The lock holds all the same; only the note of who holds it is lost.
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::OpenReadOnly(
    const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(path, " not found"));
  }
  if (info.st_size == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is empty, not an amoeba store"));
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    absl::Status error = absl::UnavailableError(absl::StrCat(
        "cannot open store ", path, ": ",
        db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return error;
  }
  sqlite3_busy_timeout(db, 5000);
  absl::Status format_check;
  {
    Statement format(db, "SELECT value FROM meta WHERE key='format'");
    if (!format.status().ok() || sqlite3_step(format.get()) != SQLITE_ROW ||
        Text(format.get(), 0) != kFormat) {
      format_check = absl::FailedPreconditionError(absl::StrCat(
          path, " is not an amoeba store (no 'format' = amoeba-store-1 in "
                "table meta)"));
    }
  }
  if (!format_check.ok()) {
    StatementCache::Get().Forget(db);
    sqlite3_close(db);
    return format_check;
  }
  return std::unique_ptr<Store>(new Store(db, /*lock_fd=*/-1));
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  ASSIGN_OR_RETURN(const int lock_fd, TakeWriterLock(path));
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    absl::Status error = absl::UnavailableError(absl::StrCat(
        "cannot open store ", path, ": ",
        db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    close(lock_fd);
    return error;
  }
  auto fail = [&](const absl::Status& s) {
    StatementCache::Get().Forget(db);
    sqlite3_close(db);
    close(lock_fd);
    return absl::UnavailableError(
        absl::StrCat("store ", path, ": ", s.message()));
  };
  sqlite3_busy_timeout(db, 5000);
  // WAL + FULL: a commit is on disk (WAL fsynced) when COMMIT returns.
  for (const char* pragma : {"PRAGMA journal_mode=WAL;",
                             "PRAGMA synchronous=FULL;",
                             "PRAGMA foreign_keys=OFF;"}) {
    if (auto s = Exec(db, pragma); !s.ok()) return fail(s);
  }
  // Refuse a file that holds other tables but not our format marker. (The
  // statements must be gone before `fail` finalizes and closes.)
  absl::Status format_check;
  {
    Statement tables(db, "SELECT count(*) FROM sqlite_master WHERE type='table'");
    if (!tables.status().ok()) {
      format_check = tables.status();
    } else if (sqlite3_step(tables.get()) == SQLITE_ROW &&
               sqlite3_column_int64(tables.get(), 0) > 0) {
      Statement format(db, "SELECT value FROM meta WHERE key='format'");
      if (!format.status().ok() || sqlite3_step(format.get()) != SQLITE_ROW ||
          Text(format.get(), 0) != kFormat) {
        format_check = absl::FailedPreconditionError(
            "not an amoeba store (no 'format' = amoeba-store-1 in table meta)");
      }
    }
  }
  if (!format_check.ok()) return fail(format_check);
  if (auto s = Exec(db, kSchema); !s.ok()) return fail(s);
  if (auto s = AddMissingColumns(db); !s.ok()) return fail(s);
  if (auto s = Exec(db, "INSERT OR IGNORE INTO meta VALUES ('format', "
                        "'amoeba-store-1');");
      !s.ok()) {
    return fail(s);
  }
  return std::unique_ptr<Store>(new Store(db, lock_fd));
}

Store::Store(sqlite3* db, int lock_fd) : db_(db), lock_fd_(lock_fd) {
  writer_ = std::thread([this] { WriterLoop(); });
}

Store::~Store() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
  StatementCache::Get().Forget(db_);
  sqlite3_close(db_);
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the writer lock
}

std::future<absl::Status> Store::Enqueue(Op op) {
  auto done = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> result = done->get_future();
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    done->set_value(absl::UnavailableError("store is closing"));
  } else {
    queue_.push_back(Pending{std::move(op), done});
  }
  return result;
}

absl::Status Store::Submit(Op op) { return Enqueue(std::move(op)).get(); }

void Store::SubmitAsync(Op op) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  queue_.push_back(Pending{std::move(op), nullptr});
}

void Store::WriterLoop() {
  while (true) {
    std::deque<Pending> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &Store::HasWorkOrStopping));
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    std::vector<absl::Status> results(batch.size());
    absl::Status commit;
    {
      absl::MutexLock db_lock(&db_mu_);
      commit = Exec(db_, "BEGIN IMMEDIATE;");
      if (commit.ok()) {
        for (size_t i = 0; i < batch.size(); ++i) {
          // A savepoint per write: one failing write does not undo the
          // others of its group.
          results[i] = RunCached(db_, "SAVEPOINT w");
          if (results[i].ok()) results[i] = batch[i].op(db_);
          if (!results[i].ok()) RunCached(db_, "ROLLBACK TO w").IgnoreError();
          RunCached(db_, "RELEASE w").IgnoreError();
        }
        commit = Exec(db_, "COMMIT;");
        if (!commit.ok()) Exec(db_, "ROLLBACK;").IgnoreError();
      }
    }
    {
      absl::MutexLock lock(&mu_);
      ++commits_;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) {
        batch[i].done->set_value(commit.ok() ? results[i] : commit);
      }
    }
  }
}

int64_t Store::commits() const {
  absl::MutexLock lock(&mu_);
  return commits_;
}

absl::Status Store::CheckOrInitConfig(
    const std::vector<std::pair<std::string, std::string>>& config) {
  std::vector<std::pair<std::string, std::string>> stored;
  {
    absl::MutexLock lock(&db_mu_);
    Statement s(db_, "SELECT key, value FROM config");
    RETURN_IF_ERROR(s.status());
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      stored.emplace_back(Text(s.get(), 0), Text(s.get(), 1));
    }
  }
  if (stored.empty()) {
    return Submit([config](sqlite3* db) -> absl::Status {
      for (const auto& [key, value] : config) {
        Statement s(db, "INSERT INTO config VALUES (?1, ?2)");
        s.Bind(1, key).Bind(2, value);
        RETURN_IF_ERROR(s.Run());
      }
      return absl::OkStatus();
    });
  }
  for (const auto& [key, value] : config) {
    auto it = std::find_if(stored.begin(), stored.end(),
                           [&](const auto& kv) { return kv.first == key; });
    if (it == stored.end()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "setting '%s' is not in the store (a store from another version?)",
          key));
    }
    if (it->second != value) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "setting '%s' is %s in the store but %s now; restart with the "
          "stored setting or use a new store",
          key, it->second, value));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ModelRecord>> Store::LoadModels() {
  return QueryModels("", "id", -1, 0);
}

namespace {

// One row of `SELECT * FROM models`, validated.
absl::StatusOr<ModelRecord> RowToModel(sqlite3_stmt* r) {
  ModelRecord m;
  m.id = sqlite3_column_int64(r, 0);
  m.genotype = Text(r, 1);
  m.fingerprint = Text(r, 2);
  m.parent_id = sqlite3_column_int64(r, 3);
  m.mutation = Text(r, 4);
  absl::StatusOr<ModelState> state = StateFromName(Text(r, 5));
  if (!state.ok()) {
    return absl::DataLossError(absl::StrCat("row ", m.id, " of models: ",
                                            state.status().message()));
  }
  m.state = *state;
  m.attempts = sqlite3_column_int(r, 6);
  m.worker_id = Text(r, 7);
  m.created_at = sqlite3_column_double(r, 8);
  m.started_at = sqlite3_column_double(r, 9);
  m.finished_at = sqlite3_column_double(r, 10);
  m.fitness = sqlite3_column_double(r, 11);
  m.parameters = sqlite3_column_int64(r, 12);
  m.multiply_adds = sqlite3_column_int64(r, 13);
  m.train_seconds = sqlite3_column_double(r, 14);
  m.epoch = sqlite3_column_int(r, 15);
  m.failure = Text(r, 16);
  m.evaluator = Text(r, 17);
  m.completion_seq = sqlite3_column_int64(r, 18);
  m.alive = sqlite3_column_int(r, 19) != 0;
  m.failures = sqlite3_column_int(r, 20);
  RETURN_IF_ERROR(ValidateModelRecord(m));
  return m;
}

}  // namespace

absl::StatusOr<std::vector<ModelRecord>> Store::QueryModels(
    const std::string& where, const std::string& order_by, int64_t limit,
    int64_t offset, std::optional<int64_t> parameter) {
  const std::string sql = absl::StrCat(
      "SELECT * FROM models", where.empty() ? "" : " WHERE ", where,
      " ORDER BY ", order_by.empty() ? "id" : order_by, " LIMIT ?1 OFFSET ?2");
  absl::MutexLock lock(&db_mu_);
  Statement s(db_, sql);
  RETURN_IF_ERROR(s.status());
  s.Bind(1, limit).Bind(2, offset);
  if (parameter.has_value()) s.Bind(3, *parameter);
  std::vector<ModelRecord> models;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(ModelRecord m, RowToModel(s.get()));
    models.push_back(std::move(m));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading models");
  return models;
}

absl::Status Store::CheckCounters() {
  ASSIGN_OR_RETURN(std::optional<EngineCounters> counters, LoadEngineCounters());
  ASSIGN_OR_RETURN(const int64_t rows, CountModels(""));
  if (!counters.has_value()) {
    if (rows == 0) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat(
        "the store holds ", rows,
        " children but no engine_state row; it cannot be resumed (restore it "
        "from a backup)"));
  }
  ASSIGN_OR_RETURN(const int64_t done, CountModels("state = 'done'"));
  if (done != counters->completed) {
    return absl::DataLossError(absl::StrCat(
        "engine_state says ", counters->completed, " children completed but ",
        done, " rows of models are done; the store was damaged"));
  }
  // Fixed SQL text (the statement cache keeps one statement per text).
  ASSIGN_OR_RETURN(
      const int64_t beyond,
      CountModels("id >= (SELECT next_id FROM engine_state WHERE id = 1)"));
  if (beyond > 0 || rows >= counters->next_id) {
    return absl::DataLossError(absl::StrCat(
        "engine_state's next id is ", counters->next_id, " but models holds ",
        rows, " rows (", beyond, " at or beyond it); the store was damaged"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Store::Check(size_t limit) {
  std::vector<std::string> problems;
  {
    absl::MutexLock lock(&db_mu_);
    Statement integrity(db_, "PRAGMA integrity_check");
    RETURN_IF_ERROR(integrity.status());
    while (sqlite3_step(integrity.get()) == SQLITE_ROW && problems.size() < limit) {
      const std::string line = Text(integrity.get(), 0);
      if (line != "ok") problems.push_back("sqlite: " + line);
    }
    Statement rows(db_, "SELECT * FROM models ORDER BY id");
    RETURN_IF_ERROR(rows.status());
    int rc;
    while ((rc = sqlite3_step(rows.get())) == SQLITE_ROW && problems.size() < limit) {
      absl::StatusOr<ModelRecord> m = RowToModel(rows.get());
      if (!m.ok()) problems.emplace_back(m.status().message());
    }
  }
  if (problems.size() < limit) {
    if (absl::Status s = CheckCounters(); !s.ok()) {
      problems.emplace_back(s.message());
    }
  }
  return problems;
}

absl::StatusOr<std::vector<std::string>> Store::DistinctEvaluators() {
  absl::MutexLock lock(&db_mu_);
  Statement s(db_, "SELECT DISTINCT evaluator FROM models WHERE evaluator <> ''");
  RETURN_IF_ERROR(s.status());
  std::vector<std::string> names;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) names.push_back(Text(s.get(), 0));
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading evaluators");
  return names;
}

absl::StatusOr<std::vector<uint64_t>> Store::LoadFingerprints() {
  absl::MutexLock lock(&db_mu_);
  Statement s(db_, "SELECT id, fingerprint FROM models");
  RETURN_IF_ERROR(s.status());
  std::vector<uint64_t> fingerprints;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    uint64_t fp = 0;
    if (!absl::SimpleHexAtoi(Text(s.get(), 1), &fp)) {
      return absl::DataLossError(absl::StrCat("model ", sqlite3_column_int64(s.get(), 0),
                                              " has a malformed fingerprint"));
    }
    fingerprints.push_back(fp);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading fingerprints");
  return fingerprints;
}

absl::StatusOr<int64_t> Store::CountModels(const std::string& where) {
  const std::string sql = absl::StrCat("SELECT count(*) FROM models",
                                       where.empty() ? "" : " WHERE ", where);
  absl::MutexLock lock(&db_mu_);
  Statement s(db_, sql);
  RETURN_IF_ERROR(s.status());
  if (sqlite3_step(s.get()) != SQLITE_ROW) return SqliteError(db_, "count");
  return sqlite3_column_int64(s.get(), 0);
}

absl::StatusOr<std::optional<ModelRecord>> Store::GetModel(int64_t id) {
  // The id is bound, not spliced into the SQL: the statement cache keeps one
  // statement per SQL text, so a text per id would grow it without bound.
  ASSIGN_OR_RETURN(auto models, QueryModels("id = ?3", "id", 1, 0, id));
  if (models.empty()) return std::nullopt;
  return std::move(models[0]);
}

size_t Store::cached_statements() const {
  return StatementCache::Get().Count(db_);
}

absl::StatusOr<std::optional<EngineCounters>> Store::LoadEngineCounters() {
  absl::MutexLock lock(&db_mu_);
  Statement s(db_, "SELECT * FROM engine_state WHERE id = 1");
  RETURN_IF_ERROR(s.status());
  if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
  EngineCounters c;
  for (int i = 0; i < 4; ++i) {
    c.rng[i] = static_cast<uint64_t>(sqlite3_column_int64(s.get(), i + 1));
  }
  c.next_id = sqlite3_column_int64(s.get(), 5);
  c.completed = sqlite3_column_int64(s.get(), 6);
  return c;
}

absl::Status Store::InsertChild(const ModelRecord& child,
                                const EngineCounters& counters) {
  return InsertChildLater(child, counters).get();
}

absl::Status Store::UpdateModel(const ModelRecord& model) {
  return UpdateModelLater(model).get();
}

absl::Status Store::RecordCompletion(const ModelRecord& child,
                                     std::optional<int64_t> died,
                                     const EngineCounters& counters) {
  return RecordCompletionLater(child, died, counters).get();
}

std::future<absl::Status> Store::InsertChildLater(
    const ModelRecord& child, const EngineCounters& counters) {
  return Enqueue([child, counters](sqlite3* db) -> absl::Status {
    RETURN_IF_ERROR(WriteModel(db, child));
    return WriteCounters(db, counters);
  });
}

std::future<absl::Status> Store::UpdateModelLater(const ModelRecord& model) {
  return Enqueue([model](sqlite3* db) { return WriteModel(db, model); });
}

std::future<absl::Status> Store::RecordCompletionLater(
    const ModelRecord& child, std::optional<int64_t> died,
    const EngineCounters& counters) {
  return Enqueue([child, died, counters](sqlite3* db) -> absl::Status {
    RETURN_IF_ERROR(WriteModel(db, child));
    if (died.has_value()) {
      Statement s(db, "UPDATE models SET alive = 0 WHERE id = ?1");
      s.Bind(1, *died);
      RETURN_IF_ERROR(s.Run());
    }
    return WriteCounters(db, counters);
  });
}

void Store::UpdateProgressAsync(int64_t id, int epoch) {
  SubmitAsync([id, epoch](sqlite3* db) {
    Statement s(db, "UPDATE models SET epoch = ?1 WHERE id = ?2");
    s.Bind(1, int64_t{epoch}).Bind(2, id);
    return s.Run();
  });
}

absl::Status Store::PutMeta(const std::string& key, const std::string& value) {
  return PutMetaLater(key, value).get();
}

std::future<absl::Status> Store::PutMetaLater(const std::string& key,
                                              const std::string& value) {
  return Enqueue([key, value](sqlite3* db) {
    Statement s(db, "INSERT OR REPLACE INTO meta VALUES (?1, ?2)");
    s.Bind(1, key).Bind(2, value);
    return s.Run();
  });
}

absl::StatusOr<std::optional<std::string>> Store::GetMeta(
    const std::string& key) {
  absl::MutexLock lock(&db_mu_);
  Statement s(db_, "SELECT value FROM meta WHERE key = ?1");
  RETURN_IF_ERROR(s.status());
  s.Bind(1, key);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
  return Text(s.get(), 0);
}

}  // namespace amoeba
