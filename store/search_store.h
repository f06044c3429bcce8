// One search's rows in the store file: its models, engine counters and run
// state. Obtained from Store::OpenSearch; shares the Store's connection and
// group commit (a write of any search joins the same transaction), so the
// Store must outlive it.
//
// Durability: as Store's — every write returns (or its future becomes
// ready) only after its transaction is committed and synced.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_STORE_SEARCH_STORE_H_
#define AMOEBA_STORE_SEARCH_STORE_H_

#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "evolution/early_stopping.h"
#include "store/store.h"

namespace amoeba {

class SearchStore {
 public:
  // Prefer Store::OpenSearch.
  SearchStore(Store* store, StoredSearch search)
      : store_(store), search_(std::move(search)) {}

  const std::string& name() const { return search_.name; }
  // The row as it was when opened (config never changes; state may).
  const StoredSearch& stored() const { return search_; }

  // Every row, by id: for tests and tools (a long search has millions).
  absl::StatusOr<std::vector<ModelRecord>> LoadModels();
  // Every distinct non-empty evaluator name (one scan of the search's rows).
  absl::StatusOr<std::vector<std::string>> DistinctEvaluators();
  // The fingerprints of every child ever created (one scan; only searches
  // with de-duplication need them). DataLoss for a malformed one.
  absl::StatusOr<std::vector<uint64_t>> LoadFingerprints();
  // nullopt for a new search.
  absl::StatusOr<std::optional<EngineCounters>> LoadEngineCounters();
  // "running", "paused" or "stopped", as last written.
  absl::StatusOr<std::string> LoadState();

  // A new child and the engine counters after creating it, in one
  // transaction. Durable on return.
  absl::Status InsertChild(const ModelRecord& child,
                           const EngineCounters& counters);
  // A completed child, the member that died (alive = 0) and the counters, in
  // one transaction.
  absl::Status RecordCompletion(const ModelRecord& child,
                                std::optional<int64_t> died,
                                const EngineCounters& counters);
  // Progress is advisory: queued, committed with the next group, not waited
  // for.
  void UpdateProgressAsync(int64_t id, int epoch);

  // The same writes, queued now (in call order) and waited for later with
  // .get(): callers that must order writes under their own lock enqueue
  // under it and wait after releasing it.
  std::future<absl::Status> InsertChildLater(const ModelRecord& child,
                                             const EngineCounters& counters);
  std::future<absl::Status> UpdateModelLater(const ModelRecord& model);
  std::future<absl::Status> RecordCompletionLater(
      const ModelRecord& child, std::optional<int64_t> died,
      const EngineCounters& counters);
  std::future<absl::Status> PutStateLater(const std::string& state);
  // Early stopping: the `seq`-th hurdle report (1, 2, ...) with its
  // decision. Queued like the writes above.
  std::future<absl::Status> AddHurdleReportLater(int64_t seq,
                                                 const HurdleReport& report);
  // Every hurdle report, in order; none for a store written before early
  // stopping existed. DataLoss for a row that cannot be one (a gap in the
  // sequence, a fitness outside [0, 1]).
  absl::StatusOr<std::vector<HurdleReport>> LoadHurdleReports();

  // Reads for operators, straight from the file (committed data only).
  // `where` and `order_by` are SQL fragments built by the caller from fixed
  // strings, never from user text; only this search's rows are seen.
  // `where` may use ?3, bound to `parameter`.
  absl::StatusOr<std::vector<ModelRecord>> QueryModels(
      const std::string& where, const std::string& order_by, int64_t limit,
      int64_t offset, std::optional<int64_t> parameter = std::nullopt);
  absl::StatusOr<int64_t> CountModels(const std::string& where);
  absl::StatusOr<std::optional<ModelRecord>> GetModel(int64_t id);

  // DataLoss when the engine's counters disagree with the rows (a missing
  // engine_state row while children exist, a completion count or next id
  // that does not match the rows).
  absl::Status CheckCounters();
  // Every row that fails validation, up to `limit`, then the counters.
  absl::StatusOr<std::vector<std::string>> Check(size_t limit);

 private:
  Store* const store_;
  const StoredSearch search_;
};

}  // namespace amoeba

#endif  // AMOEBA_STORE_SEARCH_STORE_H_
