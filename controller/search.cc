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

namespace amoeba {
namespace {

constexpr size_t kCompletionWindow = 200;


// The store failing means durability can no longer be promised; the process
// stops rather than acknowledge what it cannot keep. systemd restarts it and
// the search resumes from what is durable.
void CheckDurable(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    LOG(FATAL) << "store write failed (" << what << "): " << status
               << "; stopping so that nothing unrecorded is acknowledged";
  }
}

}  // namespace

absl::Status ValidateSearchOptions(const SearchOptions& o) {
  RETURN_IF_ERROR(ValidateEngineConfig(o.engine));
  if (o.lease_timeout < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("lease timeout must be at least 100 ms");
  }
  if (o.heartbeat_interval <= absl::ZeroDuration() ||
      o.heartbeat_interval >= o.lease_timeout) {
    return absl::InvalidArgumentError(
        "heartbeat interval must be positive and shorter than the lease "
        "timeout");
  }
  if (o.max_attempts < 1 || o.max_attempts > 100) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max attempts must be in 1..100, got %d", o.max_attempts));
  }
  if (o.settings.epochs() < 1 || o.settings.batch_size() < 2 ||
      o.settings.cells_per_stack() < 1 || o.settings.filters() < 2) {
    return absl::InvalidArgumentError(
        "training settings need epochs >= 1, batch size >= 2, N >= 1, F >= 2");
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, std::string>> SearchConfigEntries(
    const SearchOptions& o) {
  const v1::TrainingSettings& t = o.settings;
  return {
      {"algorithm", AlgorithmName(o.engine.algorithm)},
      {"population_size", absl::StrCat(o.engine.population_size)},
      {"sample_size", absl::StrCat(o.engine.sample_size)},
      {"budget", absl::StrCat(o.engine.budget)},
      {"seed", absl::StrCat(o.engine.seed)},
      {"deduplicate", o.engine.deduplicate ? "true" : "false"},
      {"dataset", t.dataset()},
      {"cells_per_stack", absl::StrCat(t.cells_per_stack())},
      {"filters", absl::StrCat(t.filters())},
      {"epochs", absl::StrCat(t.epochs())},
      {"batch_size", absl::StrCat(t.batch_size())},
      {"learning_rate", absl::StrCat(t.learning_rate())},
      {"weight_decay", absl::StrCat(t.weight_decay())},
      {"validation_images", absl::StrCat(t.validation_images())},
      {"max_train_images", absl::StrCat(t.max_train_images())},
      {"training_seed", absl::StrCat(t.seed())},
  };
}

Search::Search(const SearchOptions& options, std::unique_ptr<Store> store,
               Engine engine)
    : options_(options), store_(std::move(store)), engine_(std::move(engine)) {}

absl::StatusOr<std::unique_ptr<Search>> Search::Open(
    const SearchOptions& options, std::unique_ptr<Store> store) {
  RETURN_IF_ERROR(ValidateSearchOptions(options));
  RETURN_IF_ERROR(store->CheckOrInitConfig(SearchConfigEntries(options)));
  ASSIGN_OR_RETURN(std::optional<EngineCounters> counters,
                   store->LoadEngineCounters());
  Engine engine(options.engine);
  if (counters.has_value()) {
    EngineState state;
    state.rng = counters->rng;
    state.next_id = counters->next_id;
    state.completed = counters->completed;
    // Only the living population is read back, oldest first: the history
    // stays in the file, so reopening a search of a million children costs
    // what a search of P does (the partial index models_alive finds them).
    ASSIGN_OR_RETURN(std::vector<ModelRecord> alive,
                     store->QueryModels("alive = 1", "completion_seq", -1, 0));
    for (const ModelRecord& m : alive) {
      auto genotype = ParseGenotype(m.genotype);
      if (m.state != ModelState::kDone || !genotype.ok()) {
        return absl::DataLossError(absl::StrCat(
            "stored member ", m.id, " of the population is ",
            ModelStateName(m.state), genotype.ok() ? "" : ": ",
            genotype.ok() ? "" : genotype.status().message()));
      }
      state.population.push_back(Member{m.id, m.fitness, *std::move(genotype)});
    }
    if (options.engine.deduplicate) {
      ASSIGN_OR_RETURN(state.seen_fingerprints, store->LoadFingerprints());
    }
    ASSIGN_OR_RETURN(engine, Engine::Restore(options.engine, std::move(state)));
  }
  std::unique_ptr<Search> search(
      new Search(options, std::move(store), std::move(engine)));
  {
    absl::MutexLock lock(&search->mu_);
    RETURN_IF_ERROR(search->Recover());
  }
  return search;
}

absl::Status Search::Recover() {
  ASSIGN_OR_RETURN(std::optional<std::string> state, store_->GetMeta("state"));
  if (state.has_value() && *state == "paused") run_state_ = RunState::kPaused;
  if (state.has_value() && *state == "stopped") run_state_ = RunState::kStopped;
  ASSIGN_OR_RETURN(failed_, store_->CountModels("state = 'failed'"));
  // The fittest child (the lowest id among equals).
  ASSIGN_OR_RETURN(std::vector<ModelRecord> best,
                   store_->QueryModels("state = 'done'", "fitness DESC, id", 1, 0));
  if (!best.empty()) best_ = std::move(best[0]);
  ASSIGN_OR_RETURN(std::vector<std::string> evaluators,
                   store_->DistinctEvaluators());
  evaluators_.insert(evaluators.begin(), evaluators.end());
  // The recent completions feed the evaluations-per-hour estimate.
  ASSIGN_OR_RETURN(
      std::vector<ModelRecord> recent,
      store_->QueryModels("finished_at > 0", "finished_at DESC", kCompletionWindow, 0));
  for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
    if (it->state == ModelState::kDone) completion_times_.push_back(it->finished_at);
  }
  // Whatever ran before the restart runs again on the next worker that asks
  // (its worker may still report it; the first result wins).
  ASSIGN_OR_RETURN(
      std::vector<ModelRecord> unfinished,
      store_->QueryModels("state IN ('pending', 'running')", "id", -1, 0));
  for (ModelRecord& m : unfinished) {
    auto genotype = ParseGenotype(m.genotype);
    if (!genotype.ok()) {
      return absl::DataLossError(absl::StrCat("stored genotype of child ", m.id,
                                              " does not parse: ",
                                              genotype.status().message()));
    }
    m.state = ModelState::kPending;
    queue_.push_back(m.id);
    const int64_t id = m.id;
    unfinished_.emplace(id, Child{std::move(m), *std::move(genotype)});
  }
  LOG(INFO) << "search opened: " << engine_.completed() << " done, " << failed_
            << " failed, " << unfinished.size()
            << " waiting for a worker, population "
            << engine_.population().size() << "/"
            << options_.engine.population_size << ", state " << StateName();
  return absl::OkStatus();
}

EngineCounters Search::Counters() const {
  EngineCounters c;
  c.rng = engine_.rng_state();
  c.next_id = engine_.next_id();
  c.completed = engine_.completed();
  return c;
}

v1::Task Search::MakeTask(const Child& child) const {
  const ModelRecord& model = child.record;
  v1::Task task;
  task.set_model_id(model.id);
  task.set_attempt(model.attempts);
  task.set_genotype_text(model.genotype);
  *task.mutable_settings() = options_.settings;
  // Each child trains with its own seed (derived from the search's training
  // seed and its id), as independent training runs in the paper: an
  // identity child is a fresh evaluation of its parent's genotype, not a
  // copy of its fitness. Attempts of one child share the seed.
  task.mutable_settings()->set_seed(options_.settings.seed() * 1000003ULL +
                                    static_cast<uint64_t>(model.id));
  GenotypeToProto(child.genotype, task.mutable_genotype());
  return task;
}

absl::Status Search::Register(const v1::RegisterRequest& request) {
  absl::MutexLock lock(&mu_);
  WorkerState& worker = workers_[request.worker_id()];
  const bool known = worker.last_seen != absl::Time();
  worker.registration = request;
  worker.last_seen = absl::Now();
  LOG(INFO) << (known ? "worker reconnected: " : "worker registered: ")
            << request.worker_id() << " host=" << request.host()
            << " device=" << request.device()
            << " capacity=" << request.capacity()
            << " evaluator=" << request.evaluator();
  return absl::OkStatus();
}

absl::StatusOr<v1::GetTaskResponse> Search::GetTask(const std::string& worker_id) {
  v1::GetTaskResponse response;
  std::future<absl::Status> durable;
  {
    absl::MutexLock lock(&mu_);
    auto worker_it = workers_.find(worker_id);
    if (worker_it == workers_.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "unknown worker '", worker_id, "'; call Register first"));
    }
    const absl::Time now = absl::Now();
    worker_it->second.last_seen = now;
    durable = AssignTask(worker_it->first, worker_it->second, now, &response);
  }
  if (durable.valid()) CheckDurable(durable.get(), "handing out a child");
  return response;
}

std::future<absl::Status> Search::AssignTask(const std::string& worker_id,
                                             WorkerState& worker, absl::Time now,
                                             v1::GetTaskResponse* response) {
  // A worker asking with all its slots busy has lost track of a task (it
  // restarted): give it back its oldest one instead of a new child.
  const int capacity = std::max(1, worker.registration.capacity());
  if (static_cast<int>(worker.running.size()) >= capacity) {
    const int64_t id = *worker.running.begin();
    // running and leases_ change together, so the lease exists.
    leases_.at(id).deadline = now + options_.lease_timeout;
    *response->mutable_task() = MakeTask(unfinished_.at(id));
    LOG(INFO) << "worker " << worker_id << " gets its task " << id << " back";
    return {};
  }
  if (engine_.Finished()) {
    response->set_search_finished(true);
    return {};
  }
  const int32_t retry_after_ms =
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.retry_after));
  if (run_state_ != RunState::kRunning) {
    response->set_retry_after_ms(retry_after_ms);
    return {};
  }
  Child* child = nullptr;
  bool is_new = false;
  if (!queue_.empty()) {
    const int64_t id = queue_.front();
    queue_.pop_front();
    child = &unfinished_.at(id);
  } else if (engine_.WantsChild(InFlight())) {
    NewChild created = engine_.CreateChild();
    ModelRecord record;
    record.id = created.id;
    record.genotype = CanonicalText(created.genotype);
    record.fingerprint = FingerprintHex(Fingerprint(created.genotype));
    record.parent_id = created.parent_id;
    record.mutation =
        created.parent_id < 0 ? "random" : created.mutation.Describe();
    record.created_at = UnixSeconds(now);
    child = &unfinished_
                 .emplace(created.id,
                          Child{std::move(record), std::move(created.genotype)})
                 .first->second;
    is_new = true;
  } else {
    // Every remaining child is out; wait for results (or lease expiry).
    response->set_retry_after_ms(retry_after_ms);
    return {};
  }
  ModelRecord* model = &child->record;
  model->state = ModelState::kRunning;
  model->attempts += 1;
  model->worker_id = worker_id;
  model->started_at = UnixSeconds(now);
  leases_[model->id] =
      Lease{worker_id, model->attempts, now + options_.lease_timeout};
  worker.running.insert(model->id);
  *response->mutable_task() = MakeTask(*child);
  LOG(INFO) << "child " << model->id << " (attempt " << model->attempts << ", "
            << model->mutation << ") -> worker " << worker_id;
  return is_new ? store_->InsertChildLater(*model, Counters())
                : store_->UpdateModelLater(*model);
}

absl::StatusOr<bool> Search::ReportProgress(const v1::ProgressReport& report) {
  absl::MutexLock lock(&mu_);
  auto worker = workers_.find(report.worker_id());
  if (worker == workers_.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "unknown worker '", report.worker_id(), "'; call Register first"));
  }
  const absl::Time now = absl::Now();
  worker->second.last_seen = now;
  auto lease = leases_.find(report.model_id());
  const bool current = lease != leases_.end() &&
                       lease->second.worker_id == report.worker_id() &&
                       lease->second.attempt == report.attempt();
  if (!current) {
    // Reassigned, finished elsewhere, or stopped: this attempt is moot.
    return true;
  }
  lease->second.deadline = now + options_.lease_timeout;
  unfinished_.at(report.model_id()).record.epoch = report.epoch();
  store_->UpdateProgressAsync(report.model_id(), report.epoch());
  return run_state_ == RunState::kStopped;
}

absl::StatusOr<bool> Search::ReportResult(const v1::ResultReport& report,
                                          v1::GetTaskResponse* next) {
  std::future<absl::Status> result_write;
  std::future<absl::Status> next_write;
  bool recorded = false;
  {
    absl::MutexLock lock(&mu_);
    auto worker_it = workers_.find(report.worker_id());
    if (worker_it == workers_.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "unknown worker '", report.worker_id(), "'; call Register first"));
    }
    const absl::Time now = absl::Now();
    worker_it->second.last_seen = now;
    ASSIGN_OR_RETURN(result_write,
                     RecordResult(report, worker_it->second, now, &recorded));
    if (next != nullptr) {
      next_write = AssignTask(worker_it->first, worker_it->second, now, next);
    }
  }
  // Both writes were queued in order under mu_, so one group commit usually
  // covers them: the worker's next child costs no extra fsync.
  if (result_write.valid()) CheckDurable(result_write.get(), "recording a result");
  if (next_write.valid()) CheckDurable(next_write.get(), "handing out a child");
  return recorded;
}

absl::StatusOr<std::future<absl::Status>> Search::RecordResult(
    const v1::ResultReport& report, WorkerState& worker, absl::Time now,
    bool* recorded) {
  std::future<absl::Status> write;
  worker.running.erase(report.model_id());
  auto it = unfinished_.find(report.model_id());
  if (it == unfinished_.end()) {
    if (report.model_id() < 1 || report.model_id() >= engine_.next_id()) {
      return absl::NotFoundError(
          absl::StrCat("no child with id ", report.model_id()));
    }
    LOG(WARNING) << "duplicate result for child " << report.model_id()
                 << " from worker " << report.worker_id() << " (attempt "
                 << report.attempt() << ") ignored: already finished";
    *recorded = false;
    return write;
  }
  ModelRecord& model = it->second.record;
  if (report.attempt() < 1 || report.attempt() > model.attempts) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "child %d has had %d attempt(s); attempt %d does not exist",
        model.id, model.attempts, report.attempt()));
  }
  // The first result wins, even from an attempt that was reassigned.
  auto lease = leases_.find(model.id);
  if (lease != leases_.end()) {
    if (lease->second.worker_id != report.worker_id()) {
      auto other = workers_.find(lease->second.worker_id);
      if (other != workers_.end()) other->second.running.erase(model.id);
    }
    leases_.erase(lease);
  }
  queue_.erase(std::remove(queue_.begin(), queue_.end(), model.id),
               queue_.end());
  model.worker_id = report.worker_id();
  model.finished_at = UnixSeconds(now);
  model.evaluator = report.evaluator();
  if (!report.evaluator().empty()) evaluators_.insert(report.evaluator());
  if (report.ok()) {
    model.state = ModelState::kDone;
    model.fitness = report.fitness();
    model.parameters = report.parameters();
    model.multiply_adds = report.multiply_adds();
    model.train_seconds = report.train_seconds();
    model.failure.clear();
    const std::optional<int64_t> died =
        engine_.AddResult(model.id, it->second.genotype, model.fitness);
    model.alive = true;
    model.completion_seq = engine_.completed();
    write = store_->RecordCompletionLater(model, died, Counters());
    ++worker.completed;
    if (!best_.has_value() || model.fitness > best_->fitness) best_ = model;
    completion_times_.push_back(model.finished_at);
    while (completion_times_.size() > kCompletionWindow) {
      completion_times_.pop_front();
    }
    LOG(INFO) << "child " << model.id << " done by " << report.worker_id()
              << ": fitness " << model.fitness << " ("
              << engine_.completed() << "/" << options_.engine.budget << ")";
    Publish(v1::SearchEvent::COMPLETED, model, "");
    unfinished_.erase(it);
    *recorded = true;
  } else {
    const bool final = report.diverged() || model.attempts >= options_.max_attempts;
    model.failure = report.failure().empty() ? "unknown failure" : report.failure();
    if (final) {
      if (!report.diverged()) {
        model.failure = absl::StrFormat("given up after %d attempts: %s",
                                        model.attempts, model.failure);
      }
      model.state = ModelState::kFailed;
      ++failed_;
      LOG(WARNING) << "child " << model.id << " failed: " << model.failure;
      Publish(v1::SearchEvent::FAILED, model, model.failure);
      write = store_->UpdateModelLater(model);
      unfinished_.erase(it);
    } else {
      model.state = ModelState::kPending;
      LOG(WARNING) << "child " << model.id << " attempt " << model.attempts
                   << " failed on " << report.worker_id() << " ("
                   << model.failure << "); queued for another worker";
      write = store_->UpdateModelLater(model);
      queue_.push_front(model.id);
    }
    *recorded = true;
  }
  return write;
}

absl::StatusOr<bool> Search::Heartbeat(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  auto worker = workers_.find(worker_id);
  if (worker == workers_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("unknown worker '", worker_id, "'; call Register first"));
  }
  const absl::Time now = absl::Now();
  worker->second.last_seen = now;
  for (int64_t id : worker->second.running) {
    auto lease = leases_.find(id);
    if (lease != leases_.end() && lease->second.worker_id == worker_id) {
      lease->second.deadline = now + options_.lease_timeout;
    }
  }
  return engine_.Finished();
}

void Search::ExpireLeases(absl::Time now) {
  std::vector<std::future<absl::Status>> writes;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = leases_.begin(); it != leases_.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      ModelRecord& model = unfinished_.at(it->first).record;
      auto worker = workers_.find(it->second.worker_id);
      if (worker != workers_.end()) worker->second.running.erase(model.id);
      LOG(WARNING) << "lease of child " << model.id << " on worker "
                   << it->second.worker_id << " expired (attempt "
                   << model.attempts << ")";
      if (model.attempts >= options_.max_attempts) {
        model.state = ModelState::kFailed;
        model.failure = absl::StrFormat(
            "given up after %d attempts: worker %s went silent",
            model.attempts, it->second.worker_id);
        ++failed_;
        Publish(v1::SearchEvent::FAILED, model, model.failure);
        writes.push_back(store_->UpdateModelLater(model));
        unfinished_.erase(model.id);
      } else {
        model.state = ModelState::kPending;
        writes.push_back(store_->UpdateModelLater(model));
        queue_.push_front(model.id);
      }
      it = leases_.erase(it);
    }
  }
  for (auto& w : writes) CheckDurable(w.get(), "expiring a lease");
}

}  // namespace amoeba
