// The worker daemon's logic: connect to the controller, register, then on
// each slot: receive a child, evaluate it, stream progress each epoch, send
// the result, ask for the next.
//
// Faults:
//  * controller unreachable: reconnect with exponential backoff and jitter,
//    logging each wait;
//  * a result is written to a spool folder (atomically) before it is sent,
//    and removed only once the controller acknowledged it, so a controller
//    outage while reporting loses nothing: spooled results are delivered
//    after reconnecting and at the next start (a result whose spool write
//    failed is still sent, from memory);
//  * every request says what the worker holds (WorkerCore), so a lost
//    answer never leaves an orphaned lease, and tasks the controller gave
//    to another worker are cancelled;
//  * the controller forgot us (it restarted): register again;
//  * a task the controller cancels (reassigned, search stopped) stops within
//    one training step and is not reported;
//  * stop requested (SIGTERM): the running evaluations stop within one step,
//    the controller is told ("worker stopping", retried elsewhere), Run
//    returns.
#ifndef AMOEBA_WORKER_WORKER_H_
#define AMOEBA_WORKER_WORKER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "proto/controller.grpc.pb.h"
#include "worker/checkpointer.h"
#include "worker/evaluator.h"
#include "worker/spool.h"
#include "worker/worker_core.h"

namespace amoeba {

class WorkerMetrics;  // worker_metrics.h

struct WorkerOptions {
  std::string controller = "127.0.0.1:50051";
  std::string worker_id;  // stable id; default "<host>:<device>"
  std::string device = "cpu";
  int slots = 1;  // children evaluated at once
  std::string token;
  // TLS: the CA that signed the controller's certificate; with a client
  // certificate and key, mutual TLS.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string spool_dir = "amoeba-worker-spool";
  absl::Duration initial_backoff = absl::Milliseconds(250);
  // Also bounds gRPC's own reconnect backoff, so a worker is back within
  // about this long after the controller returns.
  absl::Duration max_backoff = absl::Seconds(30);
  absl::Duration rpc_deadline = absl::Seconds(10);
  // End Run once every search of the controller is finished (a one-off
  // run). Off: a fleet daemon keeps asking, for searches created later.
  bool exit_when_finished = true;
  // Checkpoints of long tasks: a folder every worker reaches (e.g. NFS);
  // empty: uploaded to the controller.
  std::string checkpoint_dir;
  // The deadline of one checkpoint upload or download.
  absl::Duration checkpoint_deadline = absl::Minutes(10);
  // Where the worker's metrics go (worker_metrics.h); null: nowhere. Must
  // outlive the worker.
  WorkerMetrics* metrics = nullptr;
};

class Worker {
 public:
  Worker(WorkerOptions options, std::unique_ptr<Evaluator> evaluator);

  // Runs until `stop` is notified or (with exit_when_finished) every search
  // of the controller is finished. OK on a clean
  // end; Unauthenticated/PermissionDenied when the controller refuses us;
  // InvalidArgument for bad options.
  absl::Status Run(absl::Notification* stop);

  // Results evaluated and acknowledged by the controller so far.
  int64_t delivered() const { return delivered_; }

 private:
  // An answer that came with a result's ack, already applied to the core:
  // its task, if any, is held by the slot.
  struct NextAnswer {
    v1::GetTaskResponse response;
    std::optional<v1::Task> task;
  };

  void SlotLoop(int slot, absl::Notification* stop);
  // `slot`'s next task: from `next` when the last ack brought one, else by
  // asking; false when the slot must end (stop, refused, finished).
  bool NextTask(int slot, absl::Notification* stop,
                std::optional<NextAnswer>* next, v1::Task* task);
  // The checkpoint callbacks of a long task (none for others), and the
  // weight callbacks of an inheriting search's task (worker_transfers.cc).
  void AddCheckpointCallbacks(const v1::Task& task,
                              EvaluationCallbacks* callbacks);
  void AddWeightCallbacks(const v1::Task& task, EvaluationCallbacks* callbacks);
  // Evaluates `task` in `slot`, streaming progress; the report to deliver,
  // or nullopt when the controller cancelled it.
  std::optional<v1::ResultReport> RunTask(int slot, const v1::Task& task,
                                          absl::Notification* stop);
  void HeartbeatLoop(absl::Notification* stop);
  // Registers, retrying with backoff until it works, is refused, or stop.
  absl::Status RegisterWithBackoff(absl::Notification* stop);
  // Sends `report` (spooled at `spool_file`, or "" when the spool write
  // failed) until acknowledged or given up; false on stop. With `next`,
  // also asks for `slot`'s next task and stores the answer in *next.
  bool Deliver(v1::ResultReport report, const std::string& spool_file,
               absl::Notification* stop, int slot = -1,
               std::optional<NextAnswer>* next = nullptr);
  void DeliverSpool(absl::Notification* stop);
  // Tells the controller, once and best effort, that the task `slot` holds
  // will not run here (preempted).
  void HandBack(int slot, const v1::Task& task);
  std::unique_ptr<grpc::ClientContext> Context() const;
  // Sleeps the backoff for `failures` consecutive failures; false on stop.
  bool Backoff(int failures, const std::string& why, absl::Notification* stop);

  const WorkerOptions options_;
  const std::unique_ptr<Evaluator> evaluator_;
  const Spool spool_;
  std::unique_ptr<WorkerCore> core_;  // made by Run()
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Controller::Stub> stub_;
  std::unique_ptr<Checkpointer> checkpointer_;  // made by Run()
  std::unique_ptr<Checkpointer> weights_;       // made by Run()
  std::atomic<bool> finished_{false};
  std::atomic<bool> refused_{false};
  std::atomic<bool> slots_done_{false};
  std::atomic<int64_t> delivered_{0};
  std::atomic<int> heartbeat_ms_{10000};
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_WORKER_H_
