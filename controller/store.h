// The durable store of a search: one SQLite file (WAL mode) with plain,
// documented tables (docs/store.md) that users can open with `sqlite3`.
//
// Durability: every write method returns only after its transaction is
// committed and synced (synchronous=FULL). Writes from many threads are
// grouped: one writer thread drains everything queued into a single
// transaction, so durability costs one fsync per group, not per write.
// A `kill -9` at any moment loses no write that has returned OK.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_CONTROLLER_STORE_H_
#define AMOEBA_CONTROLLER_STORE_H_

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
};

// DataLoss naming the row and field when a stored row cannot be what the
// controller wrote (invalid UTF-8, a fitness outside [0, 1], a malformed
// fingerprint, ...): every read checks each row, so damage is refused,
// never served.
absl::Status ValidateModelRecord(const ModelRecord& model);

// The engine's counters and RNG (the population is rebuilt from `models`).
struct EngineCounters {
  Rng::State rng{};
  int64_t next_id = 1;
  int64_t completed = 0;
};

class Store {
 public:
  // Opens or creates the store at `path` for writing. A store has one
  // writer: FailedPrecondition naming the holder (pid, host, since when)
  // when another Store (in any process) has it open; the lock is the file
  // "<path>.lock". Unavailable when the file cannot be opened or is not an
  // amoeba store.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);
  // Opens an existing store for reading only (reports, exports), beside a
  // running controller. Never writes, never creates: NotFound for a missing
  // file, FailedPrecondition for an empty or foreign one. Write methods
  // fail.
  static absl::StatusOr<std::unique_ptr<Store>> OpenReadOnly(
      const std::string& path);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // For a new store, writes `config`; otherwise compares it with the stored
  // one and returns FailedPrecondition naming the first setting that
  // differs ("setting 'population_size' is 100 in the store but 50 now").
  absl::Status CheckOrInitConfig(
      const std::vector<std::pair<std::string, std::string>>& config);

  // Every row, by id: for tests and tools (a long search has millions).
  absl::StatusOr<std::vector<ModelRecord>> LoadModels();
  // Every distinct non-empty evaluator name (one scan of the table).
  absl::StatusOr<std::vector<std::string>> DistinctEvaluators();
  // The fingerprints of every child ever created (one scan; only searches
  // with de-duplication need them). DataLoss for a malformed one.
  absl::StatusOr<std::vector<uint64_t>> LoadFingerprints();
  // nullopt for a new search.
  absl::StatusOr<std::optional<EngineCounters>> LoadEngineCounters();

  // A new child and the engine counters after creating it, in one
  // transaction. Durable on return.
  absl::Status InsertChild(const ModelRecord& child,
                           const EngineCounters& counters);
  // Replaces a model's row (state, attempts, worker, progress, result).
  absl::Status UpdateModel(const ModelRecord& model);
  // A completed child, the member that died (alive = 0) and the counters, in
  // one transaction.
  absl::Status RecordCompletion(const ModelRecord& child,
                                std::optional<int64_t> died,
                                const EngineCounters& counters);
  // Progress is advisory: queued, committed with the next group, not waited
  // for.
  void UpdateProgressAsync(int64_t id, int epoch);
  // Key/value notes (search state, worker rows) with the same durability.
  absl::Status PutMeta(const std::string& key, const std::string& value);
  absl::StatusOr<std::optional<std::string>> GetMeta(const std::string& key);
  std::future<absl::Status> PutMetaLater(const std::string& key,
                                         const std::string& value);

  // The same writes, queued now (in call order) and waited for later with
  // .get(): callers that must order writes under their own lock enqueue
  // under it and wait after releasing it.
  std::future<absl::Status> InsertChildLater(const ModelRecord& child,
                                             const EngineCounters& counters);
  std::future<absl::Status> UpdateModelLater(const ModelRecord& model);
  std::future<absl::Status> RecordCompletionLater(
      const ModelRecord& child, std::optional<int64_t> died,
      const EngineCounters& counters);

  // Reads for operators, straight from the file (committed data only).
  // `where` and `order_by` are SQL fragments built by the caller from fixed
  // strings, never from user text. `where` may use ?3, bound to
  // `parameter`.
  absl::StatusOr<std::vector<ModelRecord>> QueryModels(
      const std::string& where, const std::string& order_by, int64_t limit,
      int64_t offset, std::optional<int64_t> parameter = std::nullopt);
  absl::StatusOr<int64_t> CountModels(const std::string& where);
  absl::StatusOr<std::optional<ModelRecord>> GetModel(int64_t id);

  // DataLoss when the engine's counters disagree with the models table (a
  // missing engine_state row while children exist, a completion count or
  // next id that does not match the rows).
  absl::Status CheckCounters();
  // Every problem found, up to `limit`: SQLite's integrity check, each
  // row's validation, the counters against the rows. Empty: sound.
  absl::StatusOr<std::vector<std::string>> Check(size_t limit = 100);

  // Prepared statements kept for this store; bounded by the distinct SQL
  // texts the code uses. For tests.
  size_t cached_statements() const;

  // Number of committed groups (transactions) so far; for benchmarks.
  int64_t commits() const;

 private:
  using Op = std::function<absl::Status(sqlite3*)>;
  struct Pending {
    Op op;
    std::shared_ptr<std::promise<absl::Status>> done;  // null: async
  };

  Store(sqlite3* db, int lock_fd);
  absl::Status Submit(Op op);
  std::future<absl::Status> Enqueue(Op op);
  void SubmitAsync(Op op);
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

#endif  // AMOEBA_CONTROLLER_STORE_H_
