#include "store/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "common/utf8.h"
#include "store/search_store.h"
#include "store/sqlite_util.h"
#include "store/store_schema.h"

namespace amoeba {

using sql::Exec;
using sql::Statement;
using sql::Text;

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
      !std::isfinite(m.train_seconds) || m.train_seconds < 0 ||
      m.inherited_parameters < 0 || m.inherited_parameters > m.parameters) {
    return bad("a count or duration is out of range");
  }
  if (m.parent_id >= m.id || m.parent_id < -1) {
    return bad(absl::StrCat("parent ", m.parent_id, " is not an earlier child"));
  }
  if (m.alive && m.state != ModelState::kDone) return bad("alive but not done");
  return absl::OkStatus();
}

absl::Status ValidateSearchName(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "search id must be 1 to 64 characters, got %d", name.size()));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "search id '", absl::CHexEscape(name.substr(0, 64)),
          "' must be letters, digits, '.', '_' or '-', starting with a letter "
          "or digit"));
    }
  }
  return absl::OkStatus();
}

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
    absl::StatusOr<std::string> format = store_schema::ReadFormat(db);
    if (!format.ok()) {
      format_check = absl::FailedPreconditionError(
          absl::StrCat(path, ": ", format.status().message()));
    } else if (format->empty()) {
      format_check = absl::FailedPreconditionError(
          absl::StrCat(path, " is not an amoeba store (no tables)"));
    } else if (*format != store_schema::kFormatV2) {
      format_check = absl::FailedPreconditionError(absl::StrCat(
          path, " was written by an earlier amoeba (", *format,
          "); start amoeba-controller on it once to upgrade it"));
    } else if (!store_schema::HasCurrentColumns(db)) {
      format_check = absl::FailedPreconditionError(absl::StrCat(
          path,
          " was written by an earlier amoeba (no inherited_parameters "
          "column); start amoeba-controller on it once to upgrade it"));
    }
  }
  if (!format_check.ok()) {
    sql::StatementCache::Get().Forget(db);
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
    sql::StatementCache::Get().Forget(db);
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
  // Refuse a file that holds other tables but not our format marker; create
  // or upgrade the schema otherwise. (The statements must be gone before
  // `fail` finalizes and closes.)
  absl::Status schema;
  {
    absl::StatusOr<std::string> format = store_schema::ReadFormat(db);
    schema = format.ok() ? store_schema::CreateOrUpgrade(db, *format)
                         : format.status();
  }
  if (!schema.ok()) return fail(schema);
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
  sql::StatementCache::Get().Forget(db_);
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
          results[i] = sql::RunCached(db_, "SAVEPOINT w");
          if (results[i].ok()) results[i] = batch[i].op(db_);
          if (!results[i].ok()) sql::RunCached(db_, "ROLLBACK TO w").IgnoreError();
          sql::RunCached(db_, "RELEASE w").IgnoreError();
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

absl::Status Store::Read(const Op& read) {
  absl::MutexLock lock(&db_mu_);
  return read(db_);
}

size_t Store::cached_statements() const {
  return sql::StatementCache::Get().Count(db_);
}

namespace {

StoredSearch RowToSearch(sqlite3_stmt* r) {
  StoredSearch s;
  s.key = sqlite3_column_int64(r, 0);
  s.name = Text(r, 1);
  s.created_at = sqlite3_column_double(r, 2);
  s.config = Text(r, 3);
  s.state = Text(r, 4);
  return s;
}

}  // namespace

absl::StatusOr<std::vector<StoredSearch>> Store::ListSearches() {
  std::vector<StoredSearch> searches;
  RETURN_IF_ERROR(Read([&searches](sqlite3* db) -> absl::Status {
    Statement s(db,
                "SELECT search, name, created_at, config, state FROM searches "
                "ORDER BY search");
    RETURN_IF_ERROR(s.status());
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      searches.push_back(RowToSearch(s.get()));
    }
    if (rc != SQLITE_DONE) return sql::SqliteError(db, "reading searches");
    return absl::OkStatus();
  }));
  return searches;
}

absl::StatusOr<StoredSearch> Store::FindSearch(const std::string& name) {
  ASSIGN_OR_RETURN(std::vector<StoredSearch> searches, ListSearches());
  std::vector<std::string> names;
  for (StoredSearch& s : searches) {
    if (s.name == name) return std::move(s);
    if (names.size() < 10) names.push_back(s.name);
  }
  return absl::NotFoundError(absl::StrCat(
      "no search '", absl::CHexEscape(name.substr(0, 64)), "' in the store",
      searches.empty() ? " (it holds none)"
                       : absl::StrCat(" (it holds ", absl::StrJoin(names, ", "),
                                      searches.size() > names.size() ? ", ..." : "",
                                      ")")));
}

absl::StatusOr<StoredSearch> Store::CreateSearch(const std::string& name,
                                                 const std::string& config,
                                                 double created_at) {
  RETURN_IF_ERROR(ValidateSearchName(name));
  auto created = std::make_shared<StoredSearch>();
  absl::Status status = Submit([&name, &config, created_at,
                                created](sqlite3* db) -> absl::Status {
    {
      Statement taken(db, "SELECT count(*) FROM searches WHERE name = ?1");
      RETURN_IF_ERROR(taken.status());
      taken.Bind(1, name);
      if (sqlite3_step(taken.get()) == SQLITE_ROW &&
          sqlite3_column_int64(taken.get(), 0) > 0) {
        return absl::AlreadyExistsError(
            absl::StrCat("a search named '", name, "' already exists"));
      }
    }
    Statement insert(db,
                     "INSERT INTO searches (name, created_at, config, state) "
                     "VALUES (?1, ?2, ?3, 'running')");
    insert.Bind(1, name).Bind(2, created_at).Bind(3, config);
    RETURN_IF_ERROR(insert.Run());
    created->key = sqlite3_last_insert_rowid(db);
    created->name = name;
    created->created_at = created_at;
    created->config = config;
    created->state = "running";
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(status);
  return *created;
}

std::unique_ptr<SearchStore> Store::OpenSearch(const StoredSearch& search) {
  return std::make_unique<SearchStore>(this, search);
}

absl::StatusOr<std::vector<std::string>> Store::Check(size_t limit) {
  std::vector<std::string> problems;
  RETURN_IF_ERROR(Read([&](sqlite3* db) -> absl::Status {
    Statement integrity(db, "PRAGMA integrity_check");
    RETURN_IF_ERROR(integrity.status());
    while (sqlite3_step(integrity.get()) == SQLITE_ROW &&
           problems.size() < limit) {
      const std::string line = Text(integrity.get(), 0);
      if (line != "ok") problems.push_back("sqlite: " + line);
    }
    Statement orphans(db,
                      "SELECT count(*) FROM models WHERE search NOT IN "
                      "(SELECT search FROM searches)");
    RETURN_IF_ERROR(orphans.status());
    if (sqlite3_step(orphans.get()) == SQLITE_ROW &&
        sqlite3_column_int64(orphans.get(), 0) > 0 && problems.size() < limit) {
      problems.push_back(absl::StrCat(sqlite3_column_int64(orphans.get(), 0),
                                      " rows of models belong to no search"));
    }
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(std::vector<StoredSearch> searches, ListSearches());
  for (const StoredSearch& search : searches) {
    if (problems.size() >= limit) break;
    ASSIGN_OR_RETURN(std::vector<std::string> found,
                     OpenSearch(search)->Check(limit - problems.size()));
    for (std::string& p : found) {
      problems.push_back(absl::StrCat("search ", search.name, ": ", p));
    }
  }
  return problems;
}

}  // namespace amoeba
