// One running search: the engine, the store, the queue of children waiting
// for a worker, the leases of running children (LeaseTable), and the
// workers. The gRPC service is a thin layer over this class; the protocol
// simulation (simulation/) drives it directly.
//
// Invariants (checked by CheckInvariants(), kept by the *Locked helpers):
//  * every unfinished child is either queued (state pending) or leased
//    (state running, lease attempt == its latest attempt), never both, and
//    at most once in the queue;
//  * a result counts only from the worker that held that attempt of the
//    child; a success counts once (the first durable one wins, even from an
//    attempt whose lease was since given to another worker); a failure acts
//    only when it comes from the current lease, so a stale attempt never
//    disturbs a newer one;
//  * a child fails for good when it diverges or when max_attempts failures
//    were charged to it; preemption (a worker stopping, an orphaned or
//    stopped lease) is not charged.
//
// Durability: a child is handed out only after its row (and the engine
// counters) are durable; a result is acknowledged only after it is durable;
// a run-state change returns only after it is durable. Writes are enqueued
// in the order the in-memory state changed (under mu_) and waited for after
// mu_ is released, so group commit batches them. A failed store write stops
// the process (LOG(FATAL)): nothing unrecorded is ever acknowledged.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_CONTROLLER_SEARCH_H_
#define AMOEBA_CONTROLLER_SEARCH_H_

#include <cstdint>
#include <deque>
#include <functional>
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
#include "absl/types/span.h"
#include "common/clock.h"
#include "evolution/engine.h"
#include "controller/event_log.h"
#include "controller/lease_table.h"
#include "controller/search_config.h"
#include "store/search_store.h"
#include "genotype/genotype.h"
#include "proto/controller.pb.h"

namespace amoeba {

// "running", "paused", "stopped", "finished" (as Pause() and friends
// return them) -> the wire enum; UNSPECIFIED for anything else.
v1::SearchState SearchStateFromName(const std::string& name);

class Search {
 public:
  // Opens the search stored in `store` (new or resumed); its id is the
  // store's search name. FailedPrecondition when the stored configuration
  // contradicts `options`; DataLoss when the store's content cannot be the
  // state of a search. `clock` must outlive the search (Clock::Real() by
  // default).
  static absl::StatusOr<std::unique_ptr<Search>> Open(
      const SearchOptions& options, std::unique_ptr<SearchStore> store,
      Clock* clock = Clock::Real());

  // ---- worker side ----
  // A request whose WorkerView comes from an older incarnation of the worker
  // than one already seen is answered Aborted and changes nothing (GetTask,
  // Heartbeat); a result from it is still considered.
  absl::Status Register(const v1::RegisterRequest& request);
  absl::StatusOr<v1::GetTaskResponse> GetTask(
      const v1::GetTaskRequest& request);
  // What a progress report is answered.
  struct ProgressAnswer {
    // The attempt is moot (reassigned, finished elsewhere, stopped by an
    // operator): the worker drops it and reports nothing.
    bool cancel = false;
    // Early stopping: the child ends at this report's epoch, its fitness
    // the report's validation accuracy. Durable before it is answered, and
    // the same answer for the same child and epoch ever after.
    bool stop = false;
  };
  // NotFound for a child that never existed.
  absl::StatusOr<ProgressAnswer> ReportProgress(
      const v1::ProgressReport& report);
  // Returns whether the result was recorded (false: a duplicate, or a stale
  // failure). InvalidArgument for a result of another search or an attempt
  // that does not exist; PermissionDenied when the worker never held that
  // attempt. When `next` is not null, the worker's next task is assigned
  // too, exactly as GetTask would, and written to *next; both are durable
  // on return. `next` is left untouched when an error is returned.
  absl::StatusOr<bool> ReportResult(const v1::ResultReport& report,
                                    v1::GetTaskResponse* next = nullptr);
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(
      const v1::HeartbeatRequest& request);
  // GetTask's second half, for a controller of many searches that has
  // already reconciled the view (Heartbeat): hands the worker a child of
  // this search if one can go out now. Aborted for a superseded process.
  absl::StatusOr<v1::GetTaskResponse> Assign(const v1::GetTaskRequest& request);
  // What the controller's fair share needs of this search, read under one
  // lock so that the three agree.
  struct ShareState {
    // A child could be handed out now (running, not finished, and a queued
    // child or room for a new one).
    bool wants_worker = false;
    int64_t leased = 0;   // children leased now: the share's measure
    // Children created so far: the tie-break (with fewer workers than
    // searches most searches lease nothing, and the one served least so far
    // goes first).
    int64_t created = 0;
    // A waiting child already trained past a checkpoint: its next holder
    // resumes instead of starting over, so it goes before fresh work.
    bool trained_waiting = false;
  };
  ShareState Share();

  // ---- operator side (search_operator.cc) ----
  v1::SearchStatus Status();
  absl::StatusOr<v1::ListModelsResponse> ListModels(
      const v1::ListModelsRequest& request);
  absl::StatusOr<v1::GetModelResponse> GetModel(int64_t id);
  // InvalidArgument for a bad page size or token.
  absl::StatusOr<v1::ListWorkersResponse> ListWorkers(
      const v1::ListWorkersRequest& request = v1::ListWorkersRequest());
  // Each returns the new state once it is durable. Stop also releases every
  // lease: running children stop at their next report and wait, pending.
  absl::StatusOr<std::string> Pause();
  absl::StatusOr<std::string> Resume();
  absl::StatusOr<std::string> Stop();

  // Events after the given sequence number, waiting up to `timeout` for one.
  // Returns the events and the sequence number to pass next time.
  std::vector<v1::SearchEvent> WaitEvents(int64_t* after,
                                          absl::Duration timeout);
  int64_t LatestEventSequence();

  // For tests only: called by Pause/Resume/Stop after the state changed in
  // memory and before it is durable. REQUIRES: set before those are called.
  void SetRunStateHookForTest(std::function<void()> hook) {
    after_state_change_for_test_ = std::move(hook);
  }

  // Requeues (or gives up) children whose lease expired by the clock's now.
  // Called periodically by the server; public for tests.
  void ExpireLeases();

  // OK when `worker_id` holds the current lease of `attempt` of `child`;
  // FailedPrecondition (a stale or foreign holder) otherwise.
  absl::Status CheckHolder(const std::string& worker_id, int64_t child,
                           int attempt);
  // Whether `child` was created and has not finished (done or failed).
  bool IsUnfinished(int64_t child);
  // Weight inheritance. The weights of model m are needed while m has not
  // finished, is in the population, or an unfinished child inherits from
  // it; of `models`, returns those whose weights are not needed. A model
  // that is not needed never is again (a model out of the population gets
  // no new child), so the caller may remove them without holding a lock.
  std::vector<int64_t> WeightsNotNeeded(const std::vector<int64_t>& models);
  // The parent whose weights the unfinished `child` starts from
  // (Task.inherit_from); 0 for none (not inheriting, random, finished).
  int64_t InheritsFrom(int64_t child);
  // A checkpoint of `child` is kept (the controller's checkpoint store):
  // when it waits for a worker, it goes before children that did not train
  // yet. Nothing for a finished or unknown child.
  void NoteCheckpoint(int64_t child);

  const SearchOptions& options() const { return options_; }
  const std::string& search_id() const { return search_id_; }
  bool Finished();

  // Internal naming the first broken invariant (see the file comment); for
  // tests and the simulation.
  absl::Status CheckInvariants();
  // The leases now held, for tests and the simulation.
  std::vector<Lease> Leases();
  // The engine's whole state, for tests and the simulation.
  EngineState EngineSnapshot();

 private:
  struct WorkerState {
    v1::RegisterRequest registration;
    absl::Time last_seen;
    uint64_t incarnation = 0;  // the newest seen
    int64_t completed = 0;
    // This incarnation said it cannot read the search's dataset
    // (ResultReport.missing_data): it gets no more of its tasks. In memory
    // only: after a controller restart it says so once more.
    bool lacks_data = false;
  };
  // A child not yet finished, with its genotype parsed once: tasks and the
  // engine need it, and re-parsing the text per call cost throughput.
  struct Child {
    ModelRecord record;
    Genotype genotype;
    // Who held which attempt; after a controller restart only the latest
    // attempt is known (from the stored row).
    std::map<int, std::string> holders;
    // Trained past a checkpoint (one was kept, or its progress passed
    // checkpoint_every): handed out before children that did not train.
    bool trained = false;
  };
  enum class RunState { kRunning, kPaused, kStopped };
  // Completions kept for the evaluations-per-hour estimate.
  static constexpr size_t kCompletionWindow = 200;
  // Evaluator names GetStatus lists at most.
  static constexpr size_t kMaxEvaluators = 16;
  using Writes = std::vector<std::future<absl::Status>>;

  Search(const SearchOptions& options, std::unique_ptr<SearchStore> store,
         Engine engine, Clock* clock);

  // Worker bookkeeping: the worker must be registered. Returns it, with
  // last_seen updated.
  absl::StatusOr<WorkerState*> SeenLocked(const std::string& worker_id,
                                          absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a request of `incarnation` is current (not from an older
  // incarnation). A newer incarnation releases the older ones' leases.
  bool ObserveIncarnationLocked(const std::string& worker_id,
                                WorkerState& worker, uint64_t incarnation,
                                Writes* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies a worker's view: orphaned leases go back to the queue (not
  // charged); returns the held tasks to cancel.
  std::vector<HeldTaskRef> ReconcileLocked(const std::string& worker_id,
                                           const v1::WorkerView& view,
                                           absl::Time now, Writes* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A GetTask or Heartbeat: the worker must be registered and the view not
  // from a superseded process (Aborted); applies the view and returns the
  // held tasks to cancel.
  absl::StatusOr<std::vector<HeldTaskRef>> AcceptViewLocked(
      const std::string& worker_id, const v1::WorkerView& view, absl::Time now,
      Writes* writes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands the worker its next child (or says why not) in *response.
  void AssignTaskLocked(const std::string& worker_id,
                        const v1::WorkerView& view, absl::Time now,
                        v1::GetTaskResponse* response, Writes* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The next child to hand out (queued first, a trained one before the
  // others, else a new one), or null.
  Child* NextChildLocked(absl::Time now, bool* is_new)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The first queued child that already trained; queue_.end() when none
  // (always for searches without checkpoints).
  std::deque<int64_t>::iterator FirstTrainedInQueueLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether progress up to `epoch` passed a checkpoint of this search's
  // children (checkpoint_every > 0 and epoch >= checkpoint_every).
  bool PassedCheckpoint(int epoch) const;
  // A released lease's child goes back to the queue, or fails for good when
  // `charge` brings its failures to max_attempts.
  void ReturnToQueueLocked(const Lease& lease, bool charge,
                           const std::string& why, Writes* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The result path, in parts: the whole of ReportResult under mu_; which
  // child and whether this worker may report it; then success or failure.
  absl::StatusOr<bool> ReportResultLocked(const v1::ResultReport& report,
                                          v1::GetTaskResponse* next,
                                          Writes* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Child*> ResultChildLocked(const v1::ResultReport& report)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CompleteLocked(Child& child, const v1::ResultReport& report,
                      absl::Time now, Writes* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns whether the failure acted (false: stale).
  bool FailAttemptLocked(Child& child, const v1::ResultReport& report,
                         absl::Time now, Writes* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void GiveUpLocked(Child& child, const std::string& why, Writes* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rebuilds the scheduler's state (queue, restored leases, counts, best,
  // rate window) from the store with bounded queries, not by reading the
  // whole history.
  absl::Status Recover() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::Task MakeTask(const Child& child) const;
  // Sets stopped_epoch of the children early stopping stopped (the rows
  // read from the store do not carry it). Takes mu_.
  void FillStoppedEpochs(absl::Span<ModelRecord> models)
      ABSL_LOCKS_EXCLUDED(mu_);
  EngineCounters Counters() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Publish(v1::SearchEvent::Kind kind, const ModelRecord& model,
               const std::string& message);
  std::string StateName() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> SetRunState(RunState state);
  // The budget is done: every child completed (final training: every
  // child finished, completed or failed for good, each exactly once).
  bool DoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (options_.engine.algorithm == Algorithm::kFinal) {
      return engine_.completed() + failed_ >= options_.engine.budget;
    }
    return engine_.Finished();
  }
  int64_t InFlight() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int64_t>(unfinished_.size());
  }
  bool WorkerOnline(const WorkerState& w, absl::Time now) const;
  // The worker's version would ignore this search's recipe or its weight
  // inheritance.
  bool LacksRecipeSupport(const WorkerState& worker) const;
  // Whether `worker` gets tasks of this search: it has the data and trains
  // the recipe. The one place that rule lives.
  bool CanServeLocked(const WorkerState& worker) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static double UnixSeconds(absl::Time t) {
    return absl::ToDoubleSeconds(t - absl::UnixEpoch());
  }
  // Waits for the writes; a failure stops the process (see file comment).
  static void WaitDurable(Writes& writes, const char* what);

  // Constant after construction.
  const SearchOptions options_;
  const std::unique_ptr<SearchStore> store_;
  Clock* const clock_;
  const std::string search_id_;
  // The recipe differs from the defaults: workers without the feature
  // (settings/recipes.h kTrainingRecipeFeature) would train it wrong.
  const bool needs_recipe_support_;
  EventLog events_;
  std::function<void()> after_state_change_for_test_;

  absl::Mutex mu_;
  Engine engine_ ABSL_GUARDED_BY(mu_);
  RunState run_state_ ABSL_GUARDED_BY(mu_) = RunState::kRunning;
  // Children not yet finished: waiting in queue_ or leased.
  std::map<int64_t, Child> unfinished_ ABSL_GUARDED_BY(mu_);
  std::deque<int64_t> queue_ ABSL_GUARDED_BY(mu_);
  LeaseTable leases_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, WorkerState> workers_ ABSL_GUARDED_BY(mu_);
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  // Since this process started (SearchStatus.leases_*).
  int64_t leases_granted_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t leases_expired_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t leases_returned_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<ModelRecord> best_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> evaluators_ ABSL_GUARDED_BY(mu_);  // <= kMaxEvaluators
  std::deque<double> completion_times_ ABSL_GUARDED_BY(mu_);  // unix seconds
  // Early-stopping decisions, rebuilt from the store's hurdle reports.
  EarlyStopper stopper_ ABSL_GUARDED_BY(mu_);
};

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_SEARCH_H_
