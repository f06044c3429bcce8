#include "controller/search.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "genotype/fingerprint.h"
#include "genotype/genotype_proto.h"
#include "genotype/text.h"
#include "glog/logging.h"
#include "settings/recipes.h"

namespace amoeba {
namespace {

// The held tasks of `search_id`: a worker's view lists the tasks of every
// search it serves, and child ids repeat across searches.
std::vector<HeldTaskRef> HeldRefs(const v1::WorkerView& view,
                                  const std::string& search_id) {
  std::vector<HeldTaskRef> held;
  held.reserve(view.held_size());
  for (const v1::HeldTask& h : view.held()) {
    if (h.search_id() != search_id) continue;
    held.push_back(HeldTaskRef{h.model_id(), h.attempt()});
  }
  return held;
}

void AddCancels(const std::vector<HeldTaskRef>& cancel,
                const std::string& search_id,
                google::protobuf::RepeatedPtrField<v1::HeldTask>* out) {
  for (const HeldTaskRef& c : cancel) {
    v1::HeldTask* h = out->Add();
    h->set_model_id(c.child);
    h->set_attempt(c.attempt);
    h->set_search_id(search_id);
  }
}

}  // namespace

Search::Search(const SearchOptions& options, std::unique_ptr<SearchStore> store,
               Engine engine, Clock* clock)
    : options_(options),
      store_(std::move(store)),
      clock_(clock),
      search_id_(store_->name()),
      needs_recipe_support_(NeedsRecipeSupport(options.settings.recipe())),
      engine_(std::move(engine)),
      leases_(options.lease_timeout),
      stopper_(options.early_stopping) {}

void Search::WaitDurable(Writes& writes, const char* what) {
  // The store failing means durability can no longer be promised; the
  // process stops rather than acknowledge what it cannot keep. systemd
  // restarts it and the search resumes from what is durable.
  for (std::future<absl::Status>& write : writes) {
    const absl::Status status = write.get();
    if (!status.ok()) {
      LOG(FATAL) << "store write failed (" << what << "): " << status
                 << "; stopping so that nothing unrecorded is acknowledged";
    }
  }
  writes.clear();
}

EngineCounters Search::Counters() const {
  EngineCounters c;
  c.rng = engine_.rng_state();
  c.next_id = engine_.next_id();
  c.completed = engine_.completed();
  c.algorithm_state = engine_.algorithm_state();
  return c;
}

v1::Task Search::MakeTask(const Child& child) const {
  const ModelRecord& model = child.record;
  v1::Task task;
  task.set_model_id(model.id);
  task.set_attempt(model.attempts);
  task.set_genotype_text(model.genotype);
  task.set_search_id(search_id_);
  *task.mutable_settings() = options_.settings;
  // Each child trains with its own seed (derived from the search's training
  // seed and its id), as independent training runs in the paper: an
  // identity child is a fresh evaluation of its parent's genotype, not a
  // copy of its fitness. Attempts of one child share the seed.
  task.mutable_settings()->set_seed(options_.settings.seed() * 1000003ULL +
                                    static_cast<uint64_t>(model.id));
  // Weight inheritance: every child keeps its weights for its children; a
  // mutated one starts from its parent's and trains the inheriting recipe
  // (whether or not the weights reach the worker, so that each child's
  // compute is what the search says).
  if (options_.inheritance.enabled) {
    task.set_keep_weights(true);
    if (model.parent_id > 0) {
      task.set_inherit_from(model.parent_id);
      task.mutable_settings()->set_epochs(options_.inheritance.epochs);
      task.mutable_settings()->set_learning_rate(
          options_.inheritance.learning_rate);
    }
  }
  GenotypeToProto(child.genotype, task.mutable_genotype());
  return task;
}

absl::StatusOr<Search::WorkerState*> Search::SeenLocked(
    const std::string& worker_id, absl::Time now) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("unknown worker '", worker_id, "'; call Register first"));
  }
  it->second.last_seen = now;
  return &it->second;
}

bool Search::LacksRecipeSupport(const WorkerState& worker) const {
  const auto& features = worker.registration.features();
  auto lacks = [&](const char* feature) {
    return std::find(features.begin(), features.end(), feature) ==
           features.end();
  };
  return (needs_recipe_support_ && lacks(kTrainingRecipeFeature)) ||
         (options_.inheritance.enabled && lacks(kWeightInheritanceFeature));
}

bool Search::CanServeLocked(const WorkerState& worker) const {
  return !worker.lacks_data && !LacksRecipeSupport(worker);
}

bool Search::ObserveIncarnationLocked(const std::string& worker_id,
                                      WorkerState& worker, uint64_t incarnation,
                                      Writes* writes) {
  if (incarnation == 0) return true;  // no view: nothing to compare
  if (incarnation < worker.incarnation) return false;
  if (incarnation > worker.incarnation) {
    worker.incarnation = incarnation;
    worker.lacks_data = false;  // a new process: perhaps the data is there now
    for (const Lease& lease :
         leases_.ReleaseOlderIncarnations(worker_id, incarnation)) {
      ReturnToQueueLocked(lease, /*charge=*/false, "the worker restarted",
                          writes);
    }
  }
  return true;
}

std::vector<HeldTaskRef> Search::ReconcileLocked(const std::string& worker_id,
                                                 const v1::WorkerView& view,
                                                 absl::Time now,
                                                 Writes* writes) {
  WorkerViewRef ref{view.incarnation(), view.sequence(), view.settled(),
                    HeldRefs(view, search_id_)};
  Reconciliation r = leases_.Reconcile(worker_id, ref, now);
  for (const Lease& orphan : r.orphans) {
    ReturnToQueueLocked(orphan, /*charge=*/false,
                        "the worker does not hold it (an answer was lost)",
                        writes);
  }
  return std::move(r.cancel);
}

absl::StatusOr<std::vector<HeldTaskRef>> Search::AcceptViewLocked(
    const std::string& worker_id, const v1::WorkerView& view, absl::Time now,
    Writes* writes) {
  ASSIGN_OR_RETURN(WorkerState * worker, SeenLocked(worker_id, now));
  if (!ObserveIncarnationLocked(worker_id, *worker, view.incarnation(), writes)) {
    return absl::AbortedError("request of a superseded worker process");
  }
  return ReconcileLocked(worker_id, view, now, writes);
}

absl::Status Search::Register(const v1::RegisterRequest& request) {
  Writes writes;
  {
    absl::MutexLock lock(&mu_);
    auto [it, added] = workers_.try_emplace(request.worker_id());
    WorkerState& worker = it->second;
    if (request.incarnation() != 0 &&
        request.incarnation() < worker.incarnation) {
      // A delayed registration of a process that has since restarted.
      return absl::OkStatus();
    }
    worker.registration = request;
    worker.last_seen = clock_->Now();
    ObserveIncarnationLocked(request.worker_id(), worker, request.incarnation(),
                             &writes);
    LOG(INFO) << (added ? "worker registered: " : "worker reconnected: ")
              << request.worker_id() << " host=" << request.host()
              << " device=" << request.device()
              << " capacity=" << request.capacity()
              << " evaluator=" << request.evaluator();
    if (LacksRecipeSupport(worker)) {
      LOG(WARNING) << "worker " << request.worker_id()
                   << " is of a version that ignores training recipes"
                   << (options_.inheritance.enabled ? " or weight inheritance"
                                                    : "")
                   << ": it gets no tasks of search " << search_id_ << " ("
                   << RecipeSummary(options_.settings.recipe())
                   << "); upgrade it";
    }
  }
  WaitDurable(writes, "releasing a restarted worker's leases");
  return absl::OkStatus();
}

absl::StatusOr<v1::GetTaskResponse> Search::GetTask(
    const v1::GetTaskRequest& request) {
  v1::GetTaskResponse response;
  Writes writes;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(std::vector<HeldTaskRef> cancel,
                     AcceptViewLocked(request.worker_id(), request.view(), now,
                                      &writes));
    AddCancels(cancel, search_id_, response.mutable_cancel());
    AssignTaskLocked(request.worker_id(), request.view(), now, &response,
                     &writes);
  }
  WaitDurable(writes, "handing out a child");
  return response;
}

absl::StatusOr<v1::GetTaskResponse> Search::Assign(
    const v1::GetTaskRequest& request) {
  v1::GetTaskResponse response;
  Writes writes;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(WorkerState * worker,
                     SeenLocked(request.worker_id(), now));
    // A newer process may have registered since the caller reconciled: a
    // lease for the old one would wait for expiry.
    if (!ObserveIncarnationLocked(request.worker_id(), *worker,
                                  request.view().incarnation(), &writes)) {
      return absl::AbortedError("request of a superseded worker process");
    }
    AssignTaskLocked(request.worker_id(), request.view(), now, &response,
                     &writes);
  }
  WaitDurable(writes, "handing out a child");
  return response;
}

Search::ShareState Search::Share() {
  absl::MutexLock lock(&mu_);
  ShareState share;
  share.wants_worker = run_state_ == RunState::kRunning &&
                       !DoneLocked() &&
                       (!queue_.empty() || engine_.WantsChild(InFlight()));
  share.leased = static_cast<int64_t>(leases_.size());
  share.created = engine_.next_id() - 1;
  share.trained_waiting = FirstTrainedInQueueLocked() != queue_.end();
  return share;
}

std::deque<int64_t>::iterator Search::FirstTrainedInQueueLocked() {
  if (options_.settings.checkpoint_every() <= 0) return queue_.end();
  return std::find_if(queue_.begin(), queue_.end(), [this](int64_t id) {
    auto it = unfinished_.find(id);
    return it != unfinished_.end() && it->second.trained;
  });
}

bool Search::PassedCheckpoint(int epoch) const {
  const int every = options_.settings.checkpoint_every();
  return every > 0 && epoch >= every;
}

void Search::NoteCheckpoint(int64_t child) {
  absl::MutexLock lock(&mu_);
  auto it = unfinished_.find(child);
  if (it != unfinished_.end()) it->second.trained = true;
}

Search::Child* Search::NextChildLocked(absl::Time now, bool* is_new) {
  *is_new = false;
  if (!queue_.empty()) {
    // A child that already trained resumes from its checkpoint: it goes
    // before fresh ones (else it waits behind all of them, and its
    // checkpoint with it).
    auto next = FirstTrainedInQueueLocked();
    if (next == queue_.end()) next = queue_.begin();
    const int64_t id = *next;
    queue_.erase(next);
    auto it = unfinished_.find(id);
    CHECK(it != unfinished_.end())
        << "queued child " << id << " is not unfinished";
    return &it->second;
  }
  if (!engine_.WantsChild(InFlight())) return nullptr;
  NewChild created = engine_.CreateChild();
  ModelRecord record;
  record.id = created.id;
  record.genotype = CanonicalText(created.genotype);
  record.fingerprint = FingerprintHex(Fingerprint(created.genotype));
  record.parent_id = created.parent_id;
  record.mutation =
      created.parent_id < 0 ? "random" : created.mutation.Describe();
  if (options_.engine.algorithm == Algorithm::kFinal) {
    record.mutation = FinalJobName(options_.final_training, created.id);
  }
  record.created_at = UnixSeconds(now);
  *is_new = true;
  return &unfinished_
              .emplace(
                  created.id,
                  Child{std::move(record), std::move(created.genotype), {}})
              .first->second;
}

void Search::AssignTaskLocked(const std::string& worker_id,
                              const v1::WorkerView& view, absl::Time now,
                              v1::GetTaskResponse* response, Writes* writes) {
  if (DoneLocked()) {
    response->set_search_finished(true);
    return;
  }
  const int32_t retry_after_ms =
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.retry_after));
  auto worker = workers_.find(worker_id);
  if (worker != workers_.end() && !CanServeLocked(worker->second)) {
    response->set_retry_after_ms(retry_after_ms);
    return;
  }
  bool is_new = false;
  Child* child = run_state_ == RunState::kRunning
                     ? NextChildLocked(now, &is_new)
                     : nullptr;
  if (child == nullptr) {
    // Paused or stopped, or every remaining child is out: wait for results
    // (or lease expiry).
    response->set_retry_after_ms(retry_after_ms);
    return;
  }
  ModelRecord& model = child->record;
  model.state = ModelState::kRunning;
  model.attempts += 1;
  ++leases_granted_;
  model.worker_id = worker_id;
  model.started_at = UnixSeconds(now);
  child->holders[model.attempts] = worker_id;
  leases_.Grant(model.id, worker_id, model.attempts, view.incarnation(),
                view.sequence(), now);
  *response->mutable_task() = MakeTask(*child);
  LOG(INFO) << "child " << model.id << " (attempt " << model.attempts << ", "
            << model.mutation << ") -> worker " << worker_id;
  writes->push_back(is_new ? store_->InsertChildLater(model, Counters())
                           : store_->UpdateModelLater(model));
}

void Search::ReturnToQueueLocked(const Lease& lease, bool charge,
                                 const std::string& why, Writes* writes) {
  auto it = unfinished_.find(lease.child);
  CHECK(it != unfinished_.end()) << "lease of finished child " << lease.child;
  Child& child = it->second;
  if (charge) child.record.failures += 1;
  LOG(WARNING) << "child " << lease.child << " attempt " << lease.attempt
               << " on worker " << lease.worker_id << " ends: " << why
               << (charge ? absl::StrFormat(" (failure %d of %d)",
                                            child.record.failures,
                                            options_.max_attempts)
                          : std::string(" (not charged)"));
  if (charge && child.record.failures >= options_.max_attempts) {
    GiveUpLocked(child,
                 absl::StrFormat("given up after %d failed attempts: %s",
                                 child.record.failures, why),
                 writes);
    return;
  }
  child.record.state = ModelState::kPending;
  writes->push_back(store_->UpdateModelLater(child.record));
  queue_.push_front(lease.child);
  ++leases_returned_;
}

void Search::GiveUpLocked(Child& child, const std::string& why,
                          Writes* writes) {
  ModelRecord& model = child.record;
  model.state = ModelState::kFailed;
  model.failure = why;
  model.finished_at = UnixSeconds(clock_->Now());
  ++failed_;
  LOG(WARNING) << "child " << model.id << " failed: " << why;
  Publish(v1::SearchEvent::FAILED, model, why);
  writes->push_back(store_->UpdateModelLater(model));
  unfinished_.erase(model.id);
}

absl::StatusOr<Search::ProgressAnswer> Search::ReportProgress(
    const v1::ProgressReport& report) {
  ProgressAnswer answer;
  Writes writes;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    RETURN_IF_ERROR(SeenLocked(report.worker_id(), now).status());
    if (report.model_id() >= engine_.next_id()) {
      return absl::NotFoundError(
          absl::StrCat("no child with id ", report.model_id()));
    }
    if (!report.search_id().empty() && report.search_id() != search_id_) {
      answer.cancel = true;  // a task of another search: moot here
      return answer;
    }
    if (!leases_.Renew(report.model_id(), report.worker_id(),
                       report.attempt(), now)) {
      // Reassigned, finished elsewhere, or stopped: this attempt is moot.
      answer.cancel = true;
      return answer;
    }
    Child& progressed = unfinished_.at(report.model_id());
    progressed.record.epoch = report.epoch();
    if (PassedCheckpoint(report.epoch())) progressed.trained = true;
    store_->UpdateProgressAsync(report.model_id(), report.epoch());
    // Only the holder of the current lease reaches here, so a hurdle
    // counts a child's fitness from a worker that holds it. A report
    // without a validation accuracy is neither stopped nor counted.
    const double fitness = report.validation_accuracy();
    if (stopper_.IsHurdle(report.epoch()) && fitness >= 0 && fitness <= 1) {
      const EarlyStopper::Answer decided =
          stopper_.Decide(report.model_id(), report.epoch(), fitness);
      if (decided.is_new) {
        const HurdleReport r{report.model_id(), report.epoch(), fitness,
                             decided.stop};
        // Recorded in memory now and queued in the same order, so the
        // stored reports are always a prefix of the decisions given.
        if (absl::Status s = stopper_.Record(r); !s.ok()) return s;
        writes.push_back(
            store_->AddHurdleReportLater(stopper_.recorded(), r));
        if (r.stop) {
          LOG(INFO) << "child " << r.model_id << " stopped early at epoch "
                    << r.epoch << ": fitness " << r.fitness << " below "
                    << stopper_.Threshold(r.epoch).value_or(0);
        }
      }
      answer.stop = decided.stop;
    }
  }
  WaitDurable(writes, "recording a hurdle report");
  return answer;
}

absl::StatusOr<bool> Search::ReportResult(const v1::ResultReport& report,
                                          v1::GetTaskResponse* next) {
  Writes writes;
  absl::StatusOr<bool> recorded;
  {
    absl::MutexLock lock(&mu_);
    recorded = ReportResultLocked(report, next, &writes);
  }
  // The writes were queued in order under mu_, so one group commit usually
  // covers them all: the worker's next child costs no extra fsync. They are
  // waited for even when the report was refused: a handler's writes are
  // durable before it answers.
  WaitDurable(writes, "recording a result");
  return recorded;
}

absl::StatusOr<bool> Search::ReportResultLocked(const v1::ResultReport& report,
                                                v1::GetTaskResponse* next,
                                                Writes* writes) {
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(WorkerState * worker, SeenLocked(report.worker_id(), now));
  if (report.search_id() != search_id_) {
    return absl::InvalidArgumentError(
        absl::StrCat("the result of child ", report.model_id(),
                     " belongs to search '", report.search_id().substr(0, 64),
                     "'; this controller runs search '", search_id_, "'"));
  }
  const bool current_process = ObserveIncarnationLocked(
      report.worker_id(), *worker, report.view().incarnation(), writes);
  // The view first: it still lists the reported task, whose lease is
  // renewed, not cancelled.
  std::vector<HeldTaskRef> cancel;
  if (current_process) {
    cancel = ReconcileLocked(report.worker_id(), report.view(), now, writes);
  }
  ASSIGN_OR_RETURN(Child * child, ResultChildLocked(report));
  if (child != nullptr && report.ok() && report.stopped_epoch() != 0 &&
      !stopper_.StoppedAt(child->record.id).has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "child ", child->record.id, " was never told to stop (the result "
        "says it stopped at epoch ", report.stopped_epoch(), ")"));
  }
  bool recorded = false;
  if (child == nullptr) {
    LOG(INFO) << "duplicate result for child " << report.model_id()
              << " from worker " << report.worker_id() << " (attempt "
              << report.attempt() << ") ignored: already finished";
  } else if (report.ok()) {
    CompleteLocked(*child, report, now, writes);
    ++worker->completed;
    recorded = true;
  } else {
    recorded = FailAttemptLocked(*child, report, now, writes);
  }
  if (next == nullptr) return recorded;
  if (!current_process) {
    // A superseded process asks for nothing more.
    next->set_retry_after_ms(static_cast<int32_t>(
        absl::ToInt64Milliseconds(options_.retry_after)));
    return recorded;
  }
  cancel.erase(std::remove(cancel.begin(), cancel.end(),
                           HeldTaskRef{report.model_id(), report.attempt()}),
               cancel.end());
  AddCancels(cancel, search_id_, next->mutable_cancel());
  AssignTaskLocked(report.worker_id(), report.view(), now, next, writes);
  return recorded;
}

absl::StatusOr<Search::Child*> Search::ResultChildLocked(
    const v1::ResultReport& report) {
  if (report.model_id() < 1 || report.model_id() >= engine_.next_id()) {
    return absl::NotFoundError(
        absl::StrCat("no child with id ", report.model_id()));
  }
  auto it = unfinished_.find(report.model_id());
  if (it == unfinished_.end()) return nullptr;  // finished: a duplicate
  Child& child = it->second;
  if (report.attempt() < 1 || report.attempt() > child.record.attempts) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "child %d has had %d attempt(s); attempt %d does not exist",
        child.record.id, child.record.attempts, report.attempt()));
  }
  auto holder = child.holders.find(report.attempt());
  if (holder == child.holders.end() || holder->second != report.worker_id()) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "worker %s did not hold attempt %d of child %d; its result does not "
        "count",
        report.worker_id(), report.attempt(), child.record.id));
  }
  return &child;
}

void Search::CompleteLocked(Child& child, const v1::ResultReport& report,
                            absl::Time now, Writes* writes) {
  ModelRecord& model = child.record;
  // The first success wins, even from an attempt whose lease went to
  // another worker since; that worker is told to cancel at its next report.
  leases_.Release(model.id);
  queue_.erase(std::remove(queue_.begin(), queue_.end(), model.id),
               queue_.end());
  model.worker_id = report.worker_id();
  model.finished_at = UnixSeconds(now);
  model.evaluator = report.evaluator();
  // A handful in practice (libtorch, simulated); bounded so that a worker
  // naming a new one per result cannot grow GetStatus past the message
  // limit.
  if (!report.evaluator().empty() && evaluators_.size() < kMaxEvaluators) {
    evaluators_.insert(report.evaluator());
  }
  model.state = ModelState::kDone;
  model.fitness = report.fitness();
  // A child told to stop has the fitness it was stopped with, even when
  // the stop never reached its worker and it trained to the end: the
  // answer given is never taken back.
  if (const auto stopped = stopper_.StoppedAt(model.id); stopped) {
    model.fitness = stopped->fitness;
    model.stopped_epoch = stopped->epoch;
  }
  model.parameters = report.parameters();
  model.multiply_adds = report.multiply_adds();
  model.train_seconds = report.train_seconds();
  // Only a child told to inherit inherited anything; a count beyond the
  // network's is not stored (the row would be refused when read).
  model.inherited_parameters =
      options_.inheritance.enabled && model.parent_id > 0
          ? std::clamp<int64_t>(report.inherited_parameters(), 0,
                                model.parameters)
          : 0;
  model.failure.clear();
  const std::optional<int64_t> died =
      engine_.AddResult(model.id, child.genotype, model.fitness);
  model.alive = true;
  model.completion_seq = engine_.completed();
  writes->push_back(store_->RecordCompletionLater(model, died, Counters()));
  if (best_.has_value() && died.has_value() && *died == best_->id) {
    best_->alive = false;
  }
  if (!best_.has_value() || model.fitness > best_->fitness) best_ = model;
  completion_times_.push_back(model.finished_at);
  while (completion_times_.size() > kCompletionWindow) {
    completion_times_.pop_front();
  }
  LOG(INFO) << "child " << model.id << " done by " << report.worker_id()
            << ": fitness " << model.fitness << " (" << engine_.completed()
            << "/" << options_.engine.budget << ")";
  Publish(v1::SearchEvent::COMPLETED, model, "");
  unfinished_.erase(model.id);
}

bool Search::FailAttemptLocked(Child& child, const v1::ResultReport& report,
                               absl::Time now, Writes* writes) {
  ModelRecord& model = child.record;
  if (!leases_.IsCurrent(model.id, report.worker_id(), report.attempt())) {
    LOG(INFO) << "stale failure of child " << model.id << " attempt "
              << report.attempt() << " from " << report.worker_id()
              << " ignored: that attempt no longer holds the child";
    return false;
  }
  const Lease lease = *leases_.Release(model.id);
  model.failure =
      report.failure().empty() ? "unknown failure" : report.failure();
  model.evaluator = report.evaluator();
  if (report.diverged()) {
    model.finished_at = UnixSeconds(now);
    GiveUpLocked(child, model.failure, writes);
    return true;
  }
  const bool missing_data = !report.missing_data().empty();
  if (missing_data) {
    // Only the newest process of the worker is marked: a report an older
    // one spooled says nothing of the data the new one sees.
    auto worker = workers_.find(report.worker_id());
    const uint64_t incarnation = report.view().incarnation();
    if (worker != workers_.end() &&
        (incarnation == 0 || incarnation >= worker->second.incarnation)) {
      worker->second.lacks_data = true;
    }
    LOG(WARNING) << "worker " << report.worker_id()
                 << " cannot read dataset '"
                 << report.missing_data().substr(0, 64) << "' of search "
                 << search_id_ << " (" << model.failure
                 << "): it gets no more of its tasks until it registers again";
  }
  ReturnToQueueLocked(lease,
                      /*charge=*/!report.preempted() && !missing_data,
                      model.failure, writes);
  return true;
}

absl::StatusOr<v1::HeartbeatResponse> Search::Heartbeat(
    const v1::HeartbeatRequest& request) {
  v1::HeartbeatResponse response;
  Writes writes;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(std::vector<HeldTaskRef> cancel,
                     AcceptViewLocked(request.worker_id(), request.view(), now,
                                      &writes));
    AddCancels(cancel, search_id_, response.mutable_cancel());
    response.set_search_finished(DoneLocked());
  }
  WaitDurable(writes, "reconciling a worker");
  return response;
}

void Search::ExpireLeases() {
  Writes writes;
  {
    absl::MutexLock lock(&mu_);
    for (const Lease& lease : leases_.TakeExpired(clock_->Now())) {
      ++leases_expired_;
      ReturnToQueueLocked(lease, /*charge=*/true,
                          absl::StrCat("lease expired (worker ",
                                       lease.worker_id, " went silent)"),
                          &writes);
    }
  }
  WaitDurable(writes, "expiring a lease");
}

absl::Status Search::CheckInvariants() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(leases_.CheckInvariants());
  std::set<int64_t> queued;
  for (int64_t id : queue_) {
    if (!queued.insert(id).second) {
      return absl::InternalError(
          absl::StrCat("child ", id, " is queued twice"));
    }
  }
  for (const auto& [id, child] : unfinished_) {
    const Lease* lease = leases_.Find(id);
    const bool in_queue = queued.count(id) > 0;
    if ((lease != nullptr) == in_queue) {
      return absl::InternalError(
          absl::StrCat("child ", id,
                       lease != nullptr ? " is queued and leased"
                                        : " is neither queued nor leased"));
    }
    const ModelState expected =
        lease != nullptr ? ModelState::kRunning : ModelState::kPending;
    if (child.record.state != expected) {
      return absl::InternalError(
          absl::StrCat("child ", id, " is ", ModelStateName(child.record.state),
                       " but ", lease != nullptr ? "leased" : "queued"));
    }
    if (lease != nullptr && lease->attempt != child.record.attempts) {
      return absl::InternalError(
          absl::StrCat("child ", id, " is leased in attempt ", lease->attempt,
                       " but its latest attempt is ", child.record.attempts));
    }
    if (child.record.failures >= options_.max_attempts) {
      return absl::InternalError(
          absl::StrCat("child ", id, " is unfinished with ",
                       child.record.failures, " charged failures"));
    }
  }
  for (int64_t id : queued) {
    if (unfinished_.count(id) == 0) {
      return absl::InternalError(
          absl::StrCat("finished child ", id, " is queued"));
    }
  }
  for (const auto& [id, lease] : leases_.leases()) {
    if (unfinished_.count(id) == 0) {
      return absl::InternalError(
          absl::StrCat("finished child ", id, " is leased"));
    }
  }
  if (engine_.completed() > options_.engine.budget) {
    return absl::InternalError(absl::StrCat(engine_.completed(),
                                            " children completed; budget ",
                                            options_.engine.budget));
  }
  return absl::OkStatus();
}

EngineState Search::EngineSnapshot() {
  absl::MutexLock lock(&mu_);
  return engine_.state();
}

std::vector<Lease> Search::Leases() {
  absl::MutexLock lock(&mu_);
  std::vector<Lease> out;
  for (const auto& [id, lease] : leases_.leases()) out.push_back(lease);
  return out;
}

}  // namespace amoeba
