// SQLite helpers shared by the store's parts (store.cc, search_store.cc,
// store_migrate.cc): errors as absl::Status and cached prepared statements.
// Internal to controller/; not a general SQLite wrapper.
#ifndef AMOEBA_STORE_SQLITE_UTIL_H_
#define AMOEBA_STORE_SQLITE_UTIL_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace amoeba {
namespace sql {

// InternalError "sqlite: <what>: <sqlite's message>".
absl::Status SqliteError(sqlite3* db, absl::string_view what);
// Runs SQL text that returns no rows (several statements allowed).
absl::Status Exec(sqlite3* db, const char* sql);

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


// Runs one cached statement without parameters (savepoint commands).
absl::Status RunCached(sqlite3* db, const char* sql);
// Column text, "" for NULL.
std::string Text(sqlite3_stmt* s, int column);

}  // namespace sql
}  // namespace amoeba

#endif  // AMOEBA_STORE_SQLITE_UTIL_H_
