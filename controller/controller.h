// The controller: many searches in one store, served by one fleet of
// workers. Searches are created at run time (CreateSearch) and restored
// from the store when the controller starts. Every worker serves every
// search: a worker's request is reconciled against each search, and its
// next task comes from the running search with the smallest share of the
// fleet (children leased / weight).
//
// Invariants (each search keeps its own, see search.h):
//  * a search, once created, is durable and never removed while the
//    controller lives (Search pointers handed out stay valid);
//  * every search knows every registered worker (a worker's registration is
//    forwarded to all searches, and replayed into a search when it is
//    created), so a worker never has to register per search;
//  * a result, progress report or held task counts only for the search it
//    names; one naming no search of this controller is refused.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_CONTROLLER_CONTROLLER_H_
#define AMOEBA_CONTROLLER_CONTROLLER_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "store/checkpoint_store.h"
#include "controller/search.h"
#include "controller/search_config.h"
#include "store/store.h"
#include "proto/controller.pb.h"

namespace amoeba {

class Controller {
 public:
  // Searches a store may hold: every worker request visits each search, and
  // ListSearches answers them all in one message.
  static constexpr size_t kMaxSearches = 1000;

  // Opens every search stored in `store`. `defaults` fill what a config
  // leaves to the controller (heartbeat interval, and lease timeout and
  // max attempts of searches whose config does not say). Errors of a stored
  // search (DataLoss, ...) name it. `clock` must outlive the controller.
  static absl::StatusOr<std::unique_ptr<Controller>> Open(
      std::unique_ptr<Store> store, const ControllerDefaults& defaults,
      Clock* clock = Clock::Real(),
      std::unique_ptr<CheckpointStore> checkpoints = nullptr,
      std::unique_ptr<CheckpointStore> weights = nullptr);
  // Closes every search, then the store (after its last group commit).
  ~Controller();

  // ---- searches ----
  // A new search, durable on return. Empty `search_id`: a generated one.
  // InvalidArgument naming the field of a bad config or id; AlreadyExists
  // for a taken id; ResourceExhausted beyond kMaxSearches.
  absl::StatusOr<Search*> CreateSearch(const std::string& search_id,
                                       const v1::SearchConfig& config);
  // The search created by `amoeba-controller`'s search flags: created when
  // the store holds no search yet, otherwise the search named `search_id`
  // (or the first one when empty) must have exactly these settings
  // (FailedPrecondition naming the first that differs).
  absl::StatusOr<Search*> CreateOrCheckFirstSearch(
      const std::string& search_id, const SearchOptions& options);
  // The search `search_id`; an empty id names the only search. NotFound
  // for an unknown id; InvalidArgument for an empty one when there is not
  // exactly one search.
  absl::StatusOr<Search*> Find(const std::string& search_id);
  // Every search, oldest first.
  std::vector<Search*> Searches();
  // Final training of the best models of finished searches (final_
  // training.cc; the rpc's comment in proto/controller.proto says what it
  // makes). InvalidArgument with the reason, creating nothing, for a bad
  // request; otherwise as CreateSearch.
  absl::StatusOr<Search*> CreateFinal(const v1::CreateFinalRequest& request);

  // ---- checkpoints of long jobs (kept only with a CheckpointStore) ----
  // An upload of a worker's checkpoint, streamed in by the caller and then
  // given to CommitCheckpoint. Checked before any payload is read, so a
  // stale or forged upload costs one message: FailedPrecondition when the
  // worker does not hold that attempt now or no store is configured;
  // InvalidArgument for an unknown search or an epoch below 1;
  // ResourceExhausted beyond the store's size limit or uploads at once.
  // A null upload: a checkpoint of that epoch or a newer one is kept
  // already, nothing needs to be read (checkpoints()->Epoch says which).
  absl::StatusOr<std::unique_ptr<CheckpointStore::Upload>> BeginCheckpoint(
      const v1::CheckpointHeader& header);
  // Keeps the upload; returns the epoch kept now. The holder is checked
  // again (the lease may have moved while the bytes arrived), and a
  // checkpoint of a child that finished meanwhile is removed at once.
  // DataLoss when the payload does not match the header's size and CRC.
  absl::StatusOr<int> CommitCheckpoint(
      const v1::CheckpointHeader& header,
      std::unique_ptr<CheckpointStore::Upload> upload);
  // Both, for a payload in memory.
  absl::StatusOr<int> PutCheckpoint(const v1::CheckpointHeader& header,
                                    std::string_view payload);
  // The newest checkpoint of the child, for the holder of its current
  // lease. NotFound when none is kept; errors otherwise as PutCheckpoint.
  absl::StatusOr<CheckpointData> GetCheckpoint(
      const v1::CheckpointRequest& request);
  // The same, to be read in pieces (DownloadCheckpoint streams it).
  absl::StatusOr<std::unique_ptr<CheckpointStore::Reader>> OpenCheckpoint(
      const v1::CheckpointRequest& request);
  // Null when checkpoints are not kept.
  CheckpointStore* checkpoints() { return checkpoints_.get(); }

  // ---- weights of searches with inheritance (controller_weights.cc) ----
  // The calls above serve them too: a header with `weights` uploads the
  // trained weights of the child the sender holds (FailedPrecondition when
  // its search does not inherit, or no weights store is configured); a
  // request with `parent_weights` reads the weights of the parent the
  // requester's child inherits from (NotFound when the child inherits
  // nothing or the parent's weights are gone).
  //
  // Invariant owned here: the weights store keeps a model's weights only
  // while Search::WeightsNotNeeded does not name it (removed after every
  // result, every lease expiry and at open), so a search keeps at most its
  // population, its unfinished children and their parents.
  // Null when weights are not kept.
  CheckpointStore* weights() { return weights_.get(); }

  // ---- worker side (as Search's, over every search) ----
  absl::Status Register(const v1::RegisterRequest& request);
  // Reconciles the view against every search, then hands out a child of
  // the running search that most lacks its share. `search_finished` is set
  // when every search is finished.
  absl::StatusOr<v1::GetTaskResponse> GetTask(
      const v1::GetTaskRequest& request);
  // Whether the worker should cancel the task; a task of a search this
  // controller does not run is always cancelled.
  absl::StatusOr<Search::ProgressAnswer> ReportProgress(
      const v1::ProgressReport& report);
  // InvalidArgument for a result of a search this controller does not run;
  // otherwise as Search::ReportResult, with `next` from the fair share.
  absl::StatusOr<bool> ReportResult(const v1::ResultReport& report,
                                    v1::GetTaskResponse* next = nullptr);
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(
      const v1::HeartbeatRequest& request);
  // Every worker, with the children it runs in every search.
  absl::StatusOr<v1::ListWorkersResponse> ListWorkers(
      const v1::ListWorkersRequest& request);
  // Requeues children whose lease expired, in every search.
  void ExpireLeases();

  const ControllerDefaults& defaults() const { return defaults_; }
  // How often the server should call ExpireLeases (a quarter of the
  // shortest lease timeout, at least 20 ms).
  absl::Duration ExpiryPeriod();

 private:
  Controller(std::unique_ptr<Store> store, const ControllerDefaults& defaults,
             Clock* clock, std::unique_ptr<CheckpointStore> checkpoints,
             std::unique_ptr<CheckpointStore> weights)
      : store_(std::move(store)),
        defaults_(defaults),
        clock_(clock),
        checkpoints_(std::move(checkpoints)),
        weights_(std::move(weights)) {}

  // The epoch of the checkpoint kept for the response's task (if any), so
  // that the worker knows to resume.
  void NoteCheckpoint(v1::GetTaskResponse* response);
  // Removes the checkpoint of a child that has finished (result durable),
  // and, at open, of every finished child.
  void ForgetFinishedCheckpoint(Search& search, int64_t child);
  void SweepCheckpoints();
  // At open: every kept checkpoint marks its child as trained, so that it
  // goes first when it waits for a worker (Search::NoteCheckpoint).
  void NoteKeptCheckpoints();
  // OK when the requester holds the child now and checkpoints are kept.
  absl::Status CheckCheckpointReader(const v1::CheckpointRequest& request);
  // The search of a checkpoint whose sender holds the child now.
  absl::StatusOr<Search*> CheckpointHolderCheck(
      const v1::CheckpointHeader& header);
  // The store an upload or download goes to: checkpoints, or weights.
  CheckpointStore* StoreFor(bool weights) {
    return weights ? weights_.get() : checkpoints_.get();
  }
  // Weights: the search must inherit (FailedPrecondition otherwise).
  absl::Status CheckInherits(const Search& search);
  // The parent's weights for the holder of a child that inherits.
  absl::StatusOr<std::pair<std::string, int64_t>> ParentWeightsKey(
      const v1::CheckpointRequest& request);
  // Removes the weights of the search's models that are not needed any
  // more (Search::WeightsNotNeeded); every search at open.
  void DropUnneededWeights(Search& search);
  void SweepWeights();

  // Opens a search whose row is in the store and adds it (registering every
  // known worker in it).
  absl::StatusOr<Search*> AddSearch(const StoredSearch& stored,
                                    const SearchOptions& options);
  // GetTask and ReportResult without the checkpoint bookkeeping.
  absl::StatusOr<v1::GetTaskResponse> AssignTask(
      const v1::GetTaskRequest& request);
  absl::StatusOr<bool> RecordResult(const v1::ResultReport& report,
                                    v1::GetTaskResponse* next,
                                    Search** owner);
  // Running searches that could hand out a child now, the most lacking
  // first (`discount`: a search whose leased count is about to drop by one).
  std::vector<Search*> FairShareOrder(const Search* discount = nullptr);
  // Reconciles the worker's view with every search except `skip`; appends
  // the cancels. Errors: the first search's refusal (unknown worker,
  // superseded process).
  absl::Status ReconcileAll(const std::string& worker_id,
                            const v1::WorkerView& view, const Search* skip,
                            v1::GetTaskResponse* response);
  // Assigns from `order` until a search hands out a task.
  absl::Status AssignFrom(const std::vector<Search*>& order,
                          const v1::GetTaskRequest& request,
                          v1::GetTaskResponse* response);
  bool AllFinished();

  // Constant after construction.
  const std::unique_ptr<Store> store_;
  const ControllerDefaults defaults_;
  Clock* const clock_;
  const std::unique_ptr<CheckpointStore> checkpoints_;
  const std::unique_ptr<CheckpointStore> weights_;

  // Serializes CreateSearch (name check, store row, registration replay).
  absl::Mutex create_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Search>> searches_ ABSL_GUARDED_BY(mu_);
  // The newest registration of each worker, replayed into new searches.
  std::map<std::string, v1::RegisterRequest> registrations_
      ABSL_GUARDED_BY(mu_);
};

// A controller over the store at `path` whose one search has `options`
// (created in a new store, resumed from an existing one; the controller's
// defaults are the options' lease timeout, heartbeat, retry and attempts).
// The shape of a single-search controller, for tests and tools.
absl::StatusOr<std::unique_ptr<Controller>> OpenSingleSearchController(
    const std::string& path, const SearchOptions& options,
    Clock* clock = Clock::Real());

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_CONTROLLER_H_
