// One running search: the engine, the store, the queue of children waiting
// for a worker, leases of running children, and the workers. The gRPC
// service is a thin layer over this class.
//
// Durability: a child is handed out only after its row (and the engine
// counters) are durable; a result is acknowledged only after it is durable.
// Writes are enqueued in the order the in-memory state changed (under mu_)
// and waited for after mu_ is released, so group commit batches them.
//
// Leases: a running child whose worker has been silent (no progress,
// heartbeat or result) for lease_timeout goes back to the queue for another
// worker. A late result for it is still accepted once: the first durable
// result wins; later duplicates are logged and ignored.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_CONTROLLER_SEARCH_H_
#define AMOEBA_CONTROLLER_SEARCH_H_

#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/engine.h"
#include "controller/store.h"
#include "genotype/genotype.h"
#include "proto/controller.pb.h"

namespace amoeba {

struct SearchOptions {
  EngineConfig engine;
  v1::TrainingSettings settings;
  absl::Duration lease_timeout = absl::Seconds(120);
  absl::Duration heartbeat_interval = absl::Seconds(10);
  // Worker errors (not divergence) tolerated per child before giving it up.
  int max_attempts = 3;
  // What GetTask tells a worker to wait when it has nothing to hand out.
  absl::Duration retry_after = absl::Seconds(1);
};

// InvalidArgument naming the bad setting.
absl::Status ValidateSearchOptions(const SearchOptions& options);

// The settings that must match when a store is reopened, as key/value text.
std::vector<std::pair<std::string, std::string>> SearchConfigEntries(
    const SearchOptions& options);

class Search {
 public:
  // Opens the search stored in `store` (new or resumed). FailedPrecondition
  // when the stored configuration contradicts `options`.
  static absl::StatusOr<std::unique_ptr<Search>> Open(
      const SearchOptions& options, std::unique_ptr<Store> store);

  // ---- worker side ----
  absl::Status Register(const v1::RegisterRequest& request);
  absl::StatusOr<v1::GetTaskResponse> GetTask(const std::string& worker_id);
  // Returns whether the worker should cancel this task.
  absl::StatusOr<bool> ReportProgress(const v1::ProgressReport& report);
  // Returns whether the result was recorded (false: duplicate). When `next`
  // is not null, the worker's next task is assigned too, exactly as GetTask
  // would, and written to *next; both are durable on return. `next` is left
  // untouched when an error is returned.
  absl::StatusOr<bool> ReportResult(const v1::ResultReport& report,
                                    v1::GetTaskResponse* next = nullptr);
  absl::StatusOr<bool> Heartbeat(const std::string& worker_id);

  // ---- operator side ----
  v1::SearchStatus Status();
  absl::StatusOr<v1::ListModelsResponse> ListModels(
      const v1::ListModelsRequest& request);
  absl::StatusOr<v1::GetModelResponse> GetModel(int64_t id);
  v1::ListWorkersResponse ListWorkers();
  absl::StatusOr<std::string> Pause();
  absl::StatusOr<std::string> Resume();
  absl::StatusOr<std::string> Stop();

  // Events after the given sequence number, waiting up to `timeout` for one.
  // Returns the events and the sequence number to pass next time.
  std::vector<v1::SearchEvent> WaitEvents(int64_t* after, absl::Duration timeout);
  int64_t LatestEventSequence();

  // Requeues children whose lease expired at `now`. Called periodically by
  // the server; public for tests.
  void ExpireLeases(absl::Time now);

  const SearchOptions& options() const { return options_; }
  bool Finished();

 private:
  struct Lease {
    std::string worker_id;
    int attempt = 0;
    absl::Time deadline;
  };
  struct WorkerState {
    v1::RegisterRequest registration;
    absl::Time last_seen;
    std::set<int64_t> running;
    int64_t completed = 0;
  };
  // A child not yet finished, with its genotype parsed once: tasks and the
  // engine need it, and re-parsing the text per call cost throughput.
  struct Child {
    ModelRecord record;
    Genotype genotype;
  };
  enum class RunState { kRunning, kPaused, kStopped };

  Search(const SearchOptions& options, std::unique_ptr<Store> store,
         Engine engine);
  // Hands `worker` its next child (or says why not) in *response. Returns the
  // store write to wait for after releasing mu_; invalid when nothing was
  // written.
  std::future<absl::Status> AssignTask(const std::string& worker_id,
                                       WorkerState& worker, absl::Time now,
                                       v1::GetTaskResponse* response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies a result to the engine and the records; *recorded is false for a
  // duplicate. Returns the store write to wait for (invalid when none), or
  // NotFound / InvalidArgument for an unknown child or attempt.
  absl::StatusOr<std::future<absl::Status>> RecordResult(
      const v1::ResultReport& report, WorkerState& worker, absl::Time now,
      bool* recorded) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rebuilds the scheduler's state (queue, counts, best, rate window) from
  // the store with bounded queries, not by reading the whole history.
  absl::Status Recover() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::Task MakeTask(const Child& child) const;
  EngineCounters Counters() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish(v1::SearchEvent::Kind kind, const ModelRecord& model,
               const std::string& message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string StateName() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> SetRunState(RunState state);
  int64_t InFlight() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int64_t>(queue_.size() + leases_.size());
  }
  bool WorkerOnline(const WorkerState& w, absl::Time now) const;
  static double UnixSeconds(absl::Time t) {
    return absl::ToDoubleSeconds(t - absl::UnixEpoch());
  }

  // Constant after construction.
  const SearchOptions options_;
  const std::unique_ptr<Store> store_;

  absl::Mutex mu_;
  Engine engine_ ABSL_GUARDED_BY(mu_);
  RunState run_state_ ABSL_GUARDED_BY(mu_) = RunState::kRunning;
  // Children not yet finished: waiting in queue_ or leased.
  std::map<int64_t, Child> unfinished_ ABSL_GUARDED_BY(mu_);
  std::deque<int64_t> queue_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, Lease> leases_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, WorkerState> workers_ ABSL_GUARDED_BY(mu_);
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<ModelRecord> best_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> evaluators_ ABSL_GUARDED_BY(mu_);
  std::deque<double> completion_times_ ABSL_GUARDED_BY(mu_);  // unix seconds
  std::deque<std::pair<int64_t, v1::SearchEvent>> events_ ABSL_GUARDED_BY(mu_);
  int64_t event_sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_SEARCH_H_
