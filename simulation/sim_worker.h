// A simulated worker process: the worker's real protocol logic (WorkerCore,
// Spool) driven by simulated time and the simulated network instead of
// threads and gRPC, following the daemon's steps (worker.cc): register,
// deliver the spool, then per slot ask, evaluate (simulated: a duration and
// an outcome drawn from the seed, progress every few seconds), spool,
// deliver with the next task in the ack; heartbeats with the view.
//
// Thread safety: none; the simulation is single-threaded.
#ifndef AMOEBA_SIMULATION_SIM_WORKER_H_
#define AMOEBA_SIMULATION_SIM_WORKER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proto/controller.pb.h"
#include "simulation/network.h"
#include "simulation/world.h"
#include "worker/spool.h"
#include "worker/worker_core.h"

namespace amoeba::sim {

struct WorkerBehaviour {
  absl::Duration heartbeat = absl::Seconds(5);
  absl::Duration progress = absl::Seconds(5);
  absl::Duration min_evaluation = absl::Seconds(10);
  absl::Duration max_evaluation = absl::Seconds(40);
  double worker_error = 0.08;  // an evaluation fails (retried elsewhere)
  double diverged = 0.02;      // final failure
  double spool_write_fails = 0;
  // Searches whose dataset this worker lacks: it hands their tasks back
  // (ResultReport.missing_data) without training.
  std::set<std::string> lacks_data_of;
  // A worker of the version before training recipes: it registers without
  // RegisterRequest.features and would ignore a task's recipe.
  bool old_version = false;
  // As the daemon's --exit_when_finished: stop asking once every search of
  // the controller is finished. Off: keep asking (new searches may come).
  bool exit_when_finished = false;
};

// What the simulation's checker learns from a worker.
struct WorkerObserver {
  // The worker received an acknowledgement of `report`.
  std::function<void(const v1::ResultReport& report, const v1::ResultAck& ack)>
      on_ack;
  // The worker accepted `task` from an answer and will run it.
  std::function<void(const std::string& worker, const v1::Task& task)> on_take;
  // Long tasks: the controller acknowledged a checkpoint of `task` (it
  // keeps `epoch`, this one or a newer one).
  std::function<void(const v1::Task& task, int epoch)> on_checkpoint_ack;
  // Long tasks: the worker resumes `task` from a downloaded checkpoint.
  std::function<void(const std::string& worker, const v1::Task& task,
                     const v1::CheckpointChunk& checkpoint)>
      on_resume;
  // Weight inheritance: the controller acknowledged the weights of `task`;
  // the worker starts `task` from the downloaded weights of its parent
  // (`weights`), or from fresh ones (`status` says why).
  std::function<void(const v1::Task& task)> on_weights_ack;
  std::function<void(const std::string& worker, const v1::Task& task,
                     const absl::Status& status,
                     const v1::CheckpointChunk& weights)>
      on_inherit;
};

// The simulated training state of a long task: which job and epoch it is
// of (a real one is a trainer TrainingState with the same key).
std::string SimulatedCheckpoint(const v1::Task& task, int epoch);
// The simulated trained weights of a search's child.
std::string SimulatedWeights(const std::string& search_id, int64_t child);

class SimWorker {
 public:
  SimWorker(World* world, Network* network, std::string id, int slots,
            std::string spool_dir, WorkerBehaviour behaviour,
            WorkerObserver observer);

  const std::string& id() const { return id_; }
  bool alive() const { return alive_; }
  int64_t starts() const { return starts_; }
  // A new process (larger incarnation): register, deliver the spool, run.
  void Start();
  // The process dies at once; the spool survives.
  void Crash();
  // SIGTERM: running evaluations are handed back as preempted (best
  // effort, one try each), then the process ends.
  void Stop();

  // Null while the process is dead.
  WorkerCore* core() { return core_.get(); }
  // Calls of this process that have not returned.
  int outstanding() const { return outstanding_; }
  // Children running (not cancelled) in more than one slot: must be none.
  std::vector<std::string> ChildrenInTwoSlots();
  // Slots running a task the controller has not cancelled.
  int RunningNotCancelled(const std::string& search_id);
  bool finished() const { return finished_; }

 private:
  struct Slot {
    bool running = false;
    v1::Task task;
    uint64_t run = 0;  // bumps per task: stale timers do nothing
    std::optional<v1::GetTaskResponse> next;
    std::optional<v1::Task> next_task;  // already taken from `next`
  };

  // Sends one request of this process; `done` runs only if the process is
  // still the same when the answer (or the timeout) comes.
  template <typename Request, typename Answer>
  void Send(Rpc rpc, const Request& request,
            std::function<void(const absl::Status&, const Answer&)> done);
  void Register(std::function<void()> then);
  void DeliverSpool(std::vector<std::string> files, std::function<void()> then);
  void Ask(int slot);
  // Applies an answer that may carry a task, as the daemon does: the task
  // is held before the request is settled, and other events may run in
  // between (threads interleave there).
  void TakeThenSettle(int slot, uint64_t sequence,
                      const v1::GetTaskResponse& answer);
  void Continue(int slot, const v1::GetTaskResponse& answer,
                std::optional<v1::Task> task);
  void Run(int slot);
  void ProgressTick(int slot, uint64_t run, int epoch);
  // When the controller cancelled the slot's task: ends it; true if so.
  bool FinishIfCancelled(int slot);
  // A long task (checkpoint_every > 0): resumes from the controller's
  // checkpoint if it keeps one, then trains epoch by epoch, uploading a
  // checkpoint every checkpoint_every epochs.
  void RunLong(int slot, uint64_t run, const EvaluationResult& outcome);
  void LongEpoch(int slot, uint64_t run, int epoch,
                 const EvaluationResult& outcome);
  void UploadCheckpoint(const v1::Task& task, int epoch);
  // Weight inheritance, as the daemon: the parent's weights are asked for
  // before training (a failure means fresh weights), and a success's
  // weights are uploaded before its result (a failure loses only them).
  void FetchParentWeights(int slot, uint64_t run,
                          std::function<void(bool inherited)> then);
  void UploadWeightsThenFinish(int slot, uint64_t run,
                               const EvaluationResult& result);
  void Finish(int slot, const EvaluationResult& result);
  // Finish(slot, result) after `delay`, unless the slot moved on meanwhile
  // (a crash, a cancel, another run).
  void FinishAfter(absl::Duration delay, int slot, uint64_t run,
                   const EvaluationResult& result);
  void Deliver(v1::ResultReport report, std::string spool_file, int slot,
               std::function<void()> then);
  void HeartbeatTick(uint64_t generation);
  void Backoff(std::function<void()> retry);

  World* const world_;
  Network* const network_;
  const std::string id_;
  const int slot_count_;
  const Spool spool_;
  const WorkerBehaviour behaviour_;
  const WorkerObserver observer_;

  bool alive_ = false;
  uint64_t generation_ = 0;
  uint64_t incarnation_ = 0;
  int64_t starts_ = 0;
  std::unique_ptr<WorkerCore> core_;
  std::vector<Slot> slots_;
  int outstanding_ = 0;
  bool finished_ = false;
  bool registering_ = false;
  std::vector<std::function<void()>> after_register_;
};

}  // namespace amoeba::sim

#endif  // AMOEBA_SIMULATION_SIM_WORKER_H_
