#include "worker/worker_core.h"

#include <algorithm>

#include "common/utf8.h"
#include "glog/logging.h"

namespace amoeba {

namespace {

// The controller refuses failure texts over 4,096 bytes and a message with
// invalid UTF-8 does not even parse (gRPC answers INTERNAL, which would be
// retried forever): an evaluator's error text is made safe here.
constexpr size_t kMaxFailureBytes = 4000;

}  // namespace

bool IsTransient(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kInternal ||
         code == absl::StatusCode::kResourceExhausted ||
         code == absl::StatusCode::kAborted ||
         code == absl::StatusCode::kUnknown ||
         code == absl::StatusCode::kCancelled;
}

WorkerCore::WorkerCore(std::string worker_id, int slots, uint64_t incarnation,
                       std::string evaluator_name)
    : worker_id_(std::move(worker_id)),
      slots_(slots),
      incarnation_(incarnation),
      evaluator_name_(std::move(evaluator_name)),
      running_(slots),
      cancelled_(slots, false) {}

v1::WorkerView WorkerCore::BeginRequest() {
  absl::MutexLock lock(&mu_);
  v1::WorkerView view;
  view.set_incarnation(incarnation_);
  const uint64_t sequence = ++last_sequence_;
  view.set_sequence(sequence);
  // Every request below the oldest outstanding one has returned.
  const uint64_t oldest =
      outstanding_.empty() ? sequence : *outstanding_.begin();
  view.set_settled(oldest - 1);
  outstanding_.insert(sequence);
  for (const auto& [task, slot] : held_) {
    v1::HeldTask* h = view.add_held();
    h->set_model_id(task.child);
    h->set_attempt(task.attempt);
    h->set_search_id(task.search_id);
  }
  return view;
}

void WorkerCore::EndRequest(uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  outstanding_.erase(sequence);
}

bool WorkerCore::Settled(uint64_t sequence) {
  absl::MutexLock lock(&mu_);
  return sequence <= last_sequence_ && outstanding_.count(sequence) == 0;
}

std::optional<v1::Task> WorkerCore::TakeTask(
    int slot, const v1::GetTaskResponse& response) {
  Cancel(response.cancel());
  if (!response.has_task()) return std::nullopt;
  const v1::Task& task = response.task();
  const TaskKey key = TaskKey::Of(task);
  absl::MutexLock lock(&mu_);
  CHECK(!running_[slot].has_value()) << "slot " << slot << " is busy";
  for (const auto& [held, held_slot] : held_) {
    if (held.child != key.child || held.search_id != key.search_id) continue;
    if (held.attempt >= key.attempt) {
      // The same answer twice (a duplicated response), or an older attempt
      // arriving after a newer one: never run a child in two slots.
      LOG(WARNING) << "child " << key.child << " attempt " << key.attempt
                   << " is already held (attempt " << held.attempt
                   << "); not starting it again";
      return std::nullopt;
    }
    // A newer attempt of a child an older slot still trains: the older one
    // has lost its lease.
    if (held_slot >= 0) cancelled_[held_slot] = true;
  }
  held_[key] = slot;
  running_[slot] = key;
  cancelled_[slot] = false;
  return task;
}

void WorkerCore::Cancel(
    const google::protobuf::RepeatedPtrField<v1::HeldTask>& cancel) {
  absl::MutexLock lock(&mu_);
  for (const v1::HeldTask& c : cancel) {
    auto it = held_.find({c.search_id(), c.model_id(), c.attempt()});
    if (it == held_.end()) continue;
    if (it->second >= 0) {
      cancelled_[it->second] = true;
      LOG(INFO) << "controller cancelled child " << c.model_id() << " (attempt "
                << c.attempt() << ")";
    }
    // A result waiting for delivery stays held: it may still count (the
    // first success wins).
  }
}

void WorkerCore::CancelSlot(int slot) {
  absl::MutexLock lock(&mu_);
  if (running_[slot].has_value()) cancelled_[slot] = true;
}

bool WorkerCore::Cancelled(int slot) {
  absl::MutexLock lock(&mu_);
  return cancelled_[slot];
}

v1::ResultReport WorkerCore::ReportFor(const v1::Task& task) const {
  v1::ResultReport report;
  report.set_worker_id(worker_id_);
  report.set_model_id(task.model_id());
  report.set_attempt(task.attempt());
  report.set_search_id(task.search_id());
  report.set_evaluator(evaluator_name_);
  return report;
}

std::optional<v1::ResultReport> WorkerCore::Finish(
    int slot, const v1::Task& task, const EvaluationResult& result,
    bool stopping) {
  const TaskKey key = TaskKey::Of(task);
  {
    absl::MutexLock lock(&mu_);
    CHECK(running_[slot] == key)
        << "slot " << slot << " did not run child " << key.child;
    running_[slot].reset();
    const bool cancelled = cancelled_[slot];
    cancelled_[slot] = false;
    if (cancelled && !stopping) {
      held_.erase(key);  // reassigned or stopped: moot
      return std::nullopt;
    }
    held_[key] = -1;
  }
  v1::ResultReport report = ReportFor(task);
  report.set_ok(result.ok);
  report.set_fitness(result.fitness);
  report.set_stopped_epoch(result.stopped_epoch);
  report.set_parameters(result.parameters);
  report.set_multiply_adds(result.multiply_adds);
  report.set_train_seconds(result.train_seconds);
  report.set_images_per_second(result.images_per_second);
  report.set_diverged(result.diverged);
  report.set_inherited_parameters(
      std::clamp<int64_t>(result.inherited_parameters, 0, result.parameters));
  report.set_inheritance_failure(
      ToValidUtf8(result.inheritance_failure, kMaxFailureBytes));
  if (!result.ok && result.cancelled && stopping) {
    report.set_failure("worker stopping");
    report.set_preempted(true);
  } else {
    report.set_failure(ToValidUtf8(result.failure, kMaxFailureBytes));
    if (result.missing_data) {
      report.set_missing_data(ToValidUtf8(task.settings().dataset(), 64));
    }
  }
  return report;
}

v1::ProgressReport WorkerCore::Progress(const v1::Task& task,
                                       const EvaluationProgress& p) const {
  v1::ProgressReport report;
  report.set_worker_id(worker_id_);
  report.set_model_id(task.model_id());
  report.set_attempt(task.attempt());
  report.set_search_id(task.search_id());
  report.set_epoch(p.epoch);
  report.set_epochs(p.epochs);
  report.set_train_loss(p.train_loss);
  report.set_train_accuracy(p.train_accuracy);
  report.set_validation_accuracy(p.validation_accuracy);
  report.set_images_per_second(p.images_per_second);
  return report;
}

void WorkerCore::Delivered(const TaskKey& task) {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(task);
  if (it != held_.end() && it->second < 0) held_.erase(it);
}

std::vector<TaskKey> WorkerCore::Held() {
  absl::MutexLock lock(&mu_);
  std::vector<TaskKey> out;
  for (const auto& [task, slot] : held_) out.push_back(task);
  return out;
}

int WorkerCore::Busy() {
  absl::MutexLock lock(&mu_);
  int busy = 0;
  for (const auto& r : running_) busy += r.has_value() ? 1 : 0;
  return busy;
}

}  // namespace amoeba
