// A worker's side of the protocol, without gRPC and threads: which tasks it
// holds, how its requests are numbered, what it says in its WorkerView, and
// how it reacts to the controller's answers. The daemon (worker.cc) and the
// protocol simulation (simulation/) drive this same code.
//
// Invariants owned here:
//  * a task is held from the moment it is accepted until its result is
//    acknowledged (or dropped, or the task is cancelled); every request's
//    view lists exactly the held tasks;
//  * one child is never in two slots: a second answer carrying a child a
//    slot already runs is refused, and a newer attempt of a running child
//    cancels the older one;
//  * `settled` in a view never counts a request whose call has not returned.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_WORKER_WORKER_CORE_H_
#define AMOEBA_WORKER_WORKER_CORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "proto/controller.pb.h"
#include "worker/evaluator.h"

namespace amoeba {

// Whether a failed call is worth retrying with backoff (the controller is
// away or busy) rather than a refusal of this request.
bool IsTransient(absl::StatusCode code);

// A task as the worker holds it: child ids repeat across the searches of one
// controller, so the search is part of the key.
struct TaskKey {
  std::string search_id;
  int64_t child = 0;
  int attempt = 0;
  static TaskKey Of(const v1::Task& task) {
    return {task.search_id(), task.model_id(), task.attempt()};
  }
  bool operator<(const TaskKey& o) const {
    return std::tie(search_id, child, attempt) <
           std::tie(o.search_id, o.child, o.attempt);
  }
  bool operator==(const TaskKey& o) const {
    return search_id == o.search_id && child == o.child && attempt == o.attempt;
  }
};

class WorkerCore {
 public:
  // `incarnation` must be larger than any earlier process of this worker id
  // used (the daemon takes its start time in microseconds).
  WorkerCore(std::string worker_id, int slots, uint64_t incarnation,
             std::string evaluator_name);

  const std::string& worker_id() const { return worker_id_; }
  uint64_t incarnation() const { return incarnation_; }
  int slots() const { return slots_; }

  // Numbers a new request and describes the worker in it. REQUIRES: the
  // caller calls EndRequest(view.sequence()) once the call has returned,
  // whatever its outcome.
  v1::WorkerView BeginRequest();
  void EndRequest(uint64_t sequence);
  // Whether request `sequence` was sent and has returned.
  bool Settled(uint64_t sequence);

  // Applies a GetTask answer (or the `next` of a result ack) for `slot`:
  // cancels, and the task to run, if any. nullopt when there is nothing to
  // run (no task, or a task this worker already runs: a duplicate answer).
  // REQUIRES: `slot` holds no task; called *before* EndRequest of the
  // request that brought the answer, so that no view counts the request as
  // settled while its task is not yet held (the controller would release
  // that lease as an orphan).
  std::optional<v1::Task> TakeTask(int slot,
                                   const v1::GetTaskResponse& response);
  // The controller said these held tasks are no longer ours.
  void Cancel(const google::protobuf::RepeatedPtrField<v1::HeldTask>& cancel);
  // The controller said so for the task in `slot` (a progress ack).
  void CancelSlot(int slot);
  // Whether the task in `slot` was cancelled by the controller.
  bool Cancelled(int slot);

  // The slot's evaluation ended. Returns the report to deliver (the task
  // stays held until Delivered), or nullopt when the task was cancelled
  // (its result would not count; it is no longer held).
  // `stopping`: the worker is shutting down (a cancelled evaluation is then
  // handed back as preempted).
  std::optional<v1::ResultReport> Finish(int slot, const v1::Task& task,
                                         const EvaluationResult& result,
                                         bool stopping);
  // A progress report of `task` (held by this worker).
  v1::ProgressReport Progress(const v1::Task& task,
                              const EvaluationProgress& progress) const;
  // The result of that task was acknowledged or dropped.
  void Delivered(const TaskKey& task);

  // The tasks held now, for tests and the simulation.
  std::vector<TaskKey> Held();
  // The number of slots running a task now.
  int Busy();

 private:
  v1::ResultReport ReportFor(const v1::Task& task) const;

  // Constant after construction.
  const std::string worker_id_;
  const int slots_;
  const uint64_t incarnation_;
  const std::string evaluator_name_;

  absl::Mutex mu_;
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<uint64_t> outstanding_ ABSL_GUARDED_BY(mu_);
  // Held task -> the slot running it, or -1 once its result waits for
  // delivery.
  std::map<TaskKey, int> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::optional<TaskKey>> running_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> cancelled_ ABSL_GUARDED_BY(mu_);
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_WORKER_CORE_H_
