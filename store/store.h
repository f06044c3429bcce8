// The durable store of a controller's searches: one SQLite file (WAL mode)
// with plain, documented tables (docs/store.md) that users can open with
// `sqlite3`. Store is the file; SearchStore (search_store.h) one search's
// rows in it.
//
// Durability: every write method returns only after its transaction is
// committed and synced (synchronous=FULL). Writes from many threads are
// grouped: one writer thread drains everything queued into a single
// transaction, so durability costs one fsync per group, not per write.
// A `kill -9` at any moment loses no write that has returned OK.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_STORE_STORE_H_
#define AMOEBA_STORE_STORE_H_

#include <sqlite3.h>

#include <future>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/rng.h"

namespace amoeba {

enum class ModelState { kPending = 0, kRunning = 1, kDone = 2, kFailed = 3 };

std::string ModelStateName(ModelState state);

// One row of the `models` table.
struct ModelRecord {
  int64_t id = 0;
  std::string genotype;     // canonical text
  std::string fingerprint;  // 16 hex digits
  int64_t parent_id = -1;
  std::string mutation;  // Mutation::Describe(), "random" for random children
  ModelState state = ModelState::kPending;
  int attempts = 0;
  std::string worker_id;
  double created_at = 0;  // unix seconds
  double started_at = 0;
  double finished_at = 0;
  double fitness = 0;
  int64_t parameters = 0;
  int64_t multiply_adds = 0;
  double train_seconds = 0;
  int epoch = 0;  // latest progress
  std::string failure;
  std::string evaluator;
  int64_t completion_seq = 0;  // order of completion, 0 until done
  bool alive = false;          // in the population
  // Failed attempts charged against max_attempts. `attempts` counts every
  // hand-out, preemptions included; only failures that may be the child's
  // fault (worker errors, silence) are charged.
  int failures = 0;
  // Early stopping: the epoch the child was stopped at, 0 when it trained
  // to the end. Kept in the hurdles table, not in this row; the search
  // fills it in.
  int stopped_epoch = 0;
  // Weight inheritance: trainable parameters the child copied from its
  // parent; 0 when it trained from fresh weights.
  int64_t inherited_parameters = 0;
};

// DataLoss naming the row and field when a stored row cannot be what the
// controller wrote (invalid UTF-8, a fitness outside [0, 1], a malformed
// fingerprint, ...): every read checks each row, so damage is refused,
// never served.
absl::Status ValidateModelRecord(const ModelRecord& model);

// The engine's counters, RNG and algorithm state (the population is rebuilt
// from `models`).
struct EngineCounters {
  Rng::State rng{};
  int64_t next_id = 1;
  int64_t completed = 0;
  std::string algorithm_state;  // SearchAlgorithm::Save(); "" for none
};

// One search as the store lists it (a row of `searches`).
struct StoredSearch {
  int64_t key = 0;    // the `search` column of every row of this search
  std::string name;   // the search id operators and workers see
  double created_at = 0;  // unix seconds
  std::string config;     // the search's configuration (v1.SearchConfig JSON)
  std::string state;      // "running", "paused" or "stopped"
};

// A search id: 1..64 characters of [A-Za-z0-9._-], starting with a letter
// or digit (it appears in file names of worker spools and in URLs).
absl::Status ValidateSearchName(const std::string& name);

class SearchStore;

// The store file: one SQLite connection, its writer thread (group commit)
// and the writer lock; the searches it holds. Each search's rows are read
// and written through a SearchStore (search_store.h), which must not outlive
// its Store.
class Store {
 public:
  // Opens or creates the store at `path` for writing. A store has one
  // writer: FailedPrecondition naming the holder (pid, host, since when)
  // when another Store (in any process) has it open; the lock is the file
  // "<path>.lock". Unavailable when the file cannot be opened or is not an
  // amoeba store. A store written by an earlier version (format
  // amoeba-store-1, one search) is migrated in one transaction: its search
  // keeps its id, rows and state.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);
  // Opens an existing store for reading only (reports, exports), beside a
  // running controller. Never writes, never creates: NotFound for a missing
  // file, FailedPrecondition for an empty, foreign or not yet migrated one.
  // Write methods fail.
  static absl::StatusOr<std::unique_ptr<Store>> OpenReadOnly(
      const std::string& path);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Every search, oldest first.
  absl::StatusOr<std::vector<StoredSearch>> ListSearches();
  // NotFound naming the search and the ones that exist.
  absl::StatusOr<StoredSearch> FindSearch(const std::string& name);
  // A new search row, durable on return. InvalidArgument for a bad name,
  // AlreadyExists when the name is taken.
  absl::StatusOr<StoredSearch> CreateSearch(const std::string& name,
                                            const std::string& config,
                                            double created_at);
  // The rows of one search. REQUIRES: `search` came from this store.
  std::unique_ptr<SearchStore> OpenSearch(const StoredSearch& search);

  // Every problem found, up to `limit`: SQLite's integrity check, each
  // row's validation, each search's counters against its rows. Empty:
  // sound.
  absl::StatusOr<std::vector<std::string>> Check(size_t limit = 100);

  // Prepared statements kept for this store; bounded by the distinct SQL
  // texts the code uses. For tests.
  size_t cached_statements() const;

  // Number of committed groups (transactions) so far; for benchmarks.
  int64_t commits() const;

 private:
  friend class SearchStore;
  using Op = std::function<absl::Status(sqlite3*)>;
  struct Pending {
    Op op;
    std::shared_ptr<std::promise<absl::Status>> done;  // null: async
  };

  Store(sqlite3* db, int lock_fd);
  absl::Status Submit(Op op);
  std::future<absl::Status> Enqueue(Op op);
  void SubmitAsync(Op op);
  // Runs `read` on the connection, between the writer's transactions.
  absl::Status Read(const Op& read);
  void WriterLoop();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || stopping_;
  }

  // Constant after construction.
  sqlite3* const db_;
  const int lock_fd_;  // the writer lock; -1 when read-only

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t commits_ ABSL_GUARDED_BY(mu_) = 0;
  // Reads share the connection with the writer thread.
  absl::Mutex db_mu_;

  std::thread writer_;
};

}  // namespace amoeba

#endif  // AMOEBA_STORE_STORE_H_
