// The operator side of Search: status, listings, events and the run state.
// The scheduling side (workers, leases, results) is in search.cc.
#include "controller/search.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "controller/paging.h"
#include "genotype/genotype_proto.h"
#include "genotype/text.h"
#include "glog/logging.h"

namespace amoeba {
namespace {

constexpr int kMaxPageSize = 1000;

v1::ModelState ModelStateToProto(ModelState state) {
  switch (state) {
    case ModelState::kPending:
      return v1::MODEL_PENDING;
    case ModelState::kRunning:
      return v1::MODEL_RUNNING;
    case ModelState::kDone:
      return v1::MODEL_DONE;
    case ModelState::kFailed:
      return v1::MODEL_FAILED;
  }
  return v1::MODEL_STATE_UNSPECIFIED;
}

void ToSummary(const ModelRecord& m, v1::ModelSummary* out) {
  out->set_id(m.id);
  out->set_genotype_text(m.genotype);
  out->set_fingerprint(m.fingerprint);
  out->set_parent_id(m.parent_id);
  out->set_mutation(m.mutation);
  out->set_state(ModelStateToProto(m.state));
  out->set_fitness(m.fitness);
  out->set_attempts(m.attempts);
  out->set_worker_id(m.worker_id);
  out->set_parameters(m.parameters);
  out->set_multiply_adds(m.multiply_adds);
  out->set_train_seconds(m.train_seconds);
  out->set_created_at(m.created_at);
  out->set_finished_at(m.finished_at);
  out->set_alive(m.alive);
  out->set_failure(m.failure);
  out->set_evaluator(m.evaluator);
  out->set_epoch(m.epoch);
  out->set_failures(m.failures);
  out->set_inherited_parameters(m.inherited_parameters);
  out->set_stopped_epoch(m.stopped_epoch);
}

}  // namespace

std::string Search::StateName() const {
  if (DoneLocked()) return "finished";
  switch (run_state_) {
    case RunState::kRunning:
      return "running";
    case RunState::kPaused:
      return "paused";
    case RunState::kStopped:
      return "stopped";
  }
  return "unknown";
}

v1::SearchState SearchStateFromName(const std::string& name) {
  if (name == "running") return v1::RUNNING;
  if (name == "paused") return v1::PAUSED;
  if (name == "stopped") return v1::STOPPED;
  if (name == "finished") return v1::FINISHED;
  return v1::SEARCH_STATE_UNSPECIFIED;
}

absl::Status Search::CheckHolder(const std::string& worker_id, int64_t child,
                                 int attempt) {
  absl::MutexLock lock(&mu_);
  const Lease* lease = leases_.Find(child);
  if (lease == nullptr || lease->worker_id != worker_id ||
      lease->attempt != attempt) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "worker '%s' does not hold attempt %d of child %d of search '%s' now",
        worker_id, attempt, child, search_id_));
  }
  return absl::OkStatus();
}

bool Search::IsUnfinished(int64_t child) {
  absl::MutexLock lock(&mu_);
  return unfinished_.count(child) > 0;
}

std::vector<int64_t> Search::WeightsNotNeeded(
    const std::vector<int64_t>& models) {
  absl::MutexLock lock(&mu_);
  std::set<int64_t> needed;
  for (const Member& member : engine_.population()) needed.insert(member.id);
  for (const auto& [id, child] : unfinished_) {
    needed.insert(id);
    if (options_.inheritance.enabled && child.record.parent_id > 0) {
      needed.insert(child.record.parent_id);
    }
  }
  std::vector<int64_t> not_needed;
  for (int64_t id : models) {
    if (needed.count(id) == 0) not_needed.push_back(id);
  }
  return not_needed;
}

int64_t Search::InheritsFrom(int64_t child) {
  absl::MutexLock lock(&mu_);
  auto it = unfinished_.find(child);
  if (!options_.inheritance.enabled || it == unfinished_.end()) return 0;
  return std::max<int64_t>(0, it->second.record.parent_id);
}

bool Search::Finished() {
  absl::MutexLock lock(&mu_);
  return DoneLocked();
}

bool Search::WorkerOnline(const WorkerState& w, absl::Time now) const {
  return now - w.last_seen < options_.lease_timeout;
}

void Search::Publish(v1::SearchEvent::Kind kind, const ModelRecord& model,
                     const std::string& message) {
  v1::SearchEvent event;
  event.set_kind(kind);
  ToSummary(model, event.mutable_model());
  event.set_message(message);
  events_.Publish(std::move(event));
}

v1::SearchStatus Search::Status() {
  absl::MutexLock lock(&mu_);
  v1::SearchStatus status;
  *status.mutable_config() = SearchConfigFromOptions(options_);
  status.set_state(SearchStateFromName(StateName()));
  status.set_done(engine_.completed());
  status.set_budget_left(
      std::max<int64_t>(0, options_.engine.budget - engine_.completed()));
  status.set_pending(static_cast<int64_t>(queue_.size()));
  status.set_running(static_cast<int64_t>(leases_.size()));
  status.set_search_id(search_id_);
  status.set_failed(failed_);
  if (best_.has_value()) ToSummary(*best_, status.mutable_best());
  std::vector<double> fitness;
  for (const Member& m : engine_.population()) fitness.push_back(m.fitness);
  status.set_population_members(static_cast<int32_t>(fitness.size()));
  if (!fitness.empty()) {
    std::sort(fitness.begin(), fitness.end());
    status.set_population_min(fitness.front());
    status.set_population_max(fitness.back());
    status.set_population_median(fitness[fitness.size() / 2]);
  }
  const absl::Time now = clock_->Now();
  if (completion_times_.size() >= 2) {
    const double span = UnixSeconds(now) - completion_times_.front();
    if (span > 0) {
      const double per_hour = 3600.0 * completion_times_.size() / span;
      status.set_evaluations_per_hour(per_hour);
      // Only a running search is getting closer to its end.
      if (run_state_ == RunState::kRunning && !DoneLocked()) {
        status.set_estimated_seconds_left(3600.0 * status.budget_left() /
                                          per_hour);
      }
    }
  }
  int online = 0;
  int busy = 0;
  int without_data = 0;
  int without_recipe = 0;
  for (const auto& [id, w] : workers_) {
    if (WorkerOnline(w, now)) {
      ++online;
      if (w.lacks_data) ++without_data;
      if (LacksRecipeSupport(w)) ++without_recipe;
    }
    if (!leases_.ChildrenOf(id).empty()) ++busy;
  }
  status.set_workers_online(online);
  status.set_workers_busy(busy);
  status.set_workers_without_data(without_data);
  status.set_workers_without_recipe(without_recipe);
  status.set_leases_granted(leases_granted_);
  status.set_leases_expired(leases_expired_);
  status.set_leases_returned(leases_returned_);
  for (const std::string& e : evaluators_) status.add_evaluators(e);
  for (int epoch : options_.early_stopping.epochs) {
    v1::HurdleStatus* hurdle = status.add_hurdles();
    hurdle->set_epoch(epoch);
    if (auto threshold = stopper_.Threshold(epoch)) {
      hurdle->set_threshold(*threshold);
    }
    hurdle->set_reported(stopper_.Reported(epoch));
    hurdle->set_stopped(stopper_.Stopped(epoch));
  }
  return status;
}

void Search::FillStoppedEpochs(absl::Span<ModelRecord> models) {
  if (!options_.early_stopping.epochs.empty()) {
    absl::MutexLock lock(&mu_);
    for (ModelRecord& m : models) {
      if (auto stopped = stopper_.StoppedAt(m.id)) {
        m.stopped_epoch = stopped->epoch;
      }
    }
  }
}

absl::StatusOr<v1::ListModelsResponse> Search::ListModels(
    const v1::ListModelsRequest& request) {
  ASSIGN_OR_RETURN(const Page requested,
                   ParsePage(request.page_token(), request.page_size(), 50));
  const int64_t offset = requested.offset;
  const int64_t page = requested.size;
  std::string where;
  std::string order = "id";
  switch (request.filter()) {
    case v1::ListModelsRequest::POPULATION:
      where = "state = 'done' AND alive = 1";
      order = "completion_seq";
      break;
    case v1::ListModelsRequest::HISTORY:
      where = "state = 'done'";
      order = "completion_seq";
      break;
    case v1::ListModelsRequest::FAILED:
      where = "state = 'failed'";
      break;
    default:
      break;
  }
  if (request.order() == v1::ListModelsRequest::BY_FITNESS) {
    order = "fitness DESC, id";
  } else if (request.order() == v1::ListModelsRequest::BY_TIME) {
    order = "finished_at DESC, id";
  }
  ASSIGN_OR_RETURN(auto models, store_->QueryModels(where, order, page, offset));
  FillStoppedEpochs(absl::MakeSpan(models));
  ASSIGN_OR_RETURN(const int64_t total, store_->CountModels(where));
  v1::ListModelsResponse response;
  for (const ModelRecord& m : models) ToSummary(m, response.add_models());
  response.set_total(total);
  if (offset + static_cast<int64_t>(models.size()) < total) {
    response.set_next_page_token(absl::StrCat(offset + models.size()));
  }
  return response;
}

absl::StatusOr<v1::GetModelResponse> Search::GetModel(int64_t id) {
  ASSIGN_OR_RETURN(std::optional<ModelRecord> model, store_->GetModel(id));
  if (!model.has_value()) {
    return absl::NotFoundError(absl::StrCat("no model with id ", id));
  }
  FillStoppedEpochs(absl::MakeSpan(&*model, 1));
  v1::GetModelResponse response;
  ToSummary(*model, response.mutable_model());
  auto genotype = ParseGenotype(model->genotype);
  if (genotype.ok()) GenotypeToProto(*genotype, response.mutable_genotype());
  int64_t parent = model->parent_id;
  // Parent ids always decrease, so the walk ends; the bound is a guard.
  for (int steps = 0; parent > 0 && steps < 100000; ++steps) {
    ASSIGN_OR_RETURN(std::optional<ModelRecord> ancestor, store_->GetModel(parent));
    if (!ancestor.has_value()) break;
    ToSummary(*ancestor, response.add_lineage());
    parent = ancestor->parent_id;
  }
  return response;
}

absl::StatusOr<v1::ListWorkersResponse> Search::ListWorkers(
    const v1::ListWorkersRequest& request) {
  ASSIGN_OR_RETURN(const Page requested,
                   ParsePage(request.page_token(), request.page_size(),
                             kMaxPageSize, kMaxPageSize));
  const int64_t offset = requested.offset;
  const int64_t page = requested.size;
  absl::MutexLock lock(&mu_);
  v1::ListWorkersResponse response;
  const absl::Time now = clock_->Now();
  int64_t index = 0;
  for (const auto& [id, w] : workers_) {
    if (index++ < offset) continue;
    if (response.workers_size() >= page) break;
    v1::WorkerInfo* info = response.add_workers();
    info->set_worker_id(id);
    info->set_host(w.registration.host());
    info->set_device(w.registration.device());
    info->set_capacity(w.registration.capacity());
    info->set_evaluator(w.registration.evaluator());
    info->set_online(WorkerOnline(w, now));
    for (int64_t r : leases_.ChildrenOf(id)) {
      info->add_running(r);
      info->add_running_search_ids(search_id_);
    }
    info->set_last_seen(UnixSeconds(w.last_seen));
    info->set_completed(w.completed);
  }
  const int64_t total = static_cast<int64_t>(workers_.size());
  response.set_total(total);
  if (offset + response.workers_size() < total) {
    response.set_next_page_token(absl::StrCat(offset + response.workers_size()));
  }
  return response;
}

absl::StatusOr<std::string> Search::SetRunState(RunState state) {
  std::string name;
  Writes writes;
  {
    absl::MutexLock lock(&mu_);
    if (run_state_ == RunState::kStopped && state != RunState::kStopped) {
      return absl::FailedPreconditionError(
          "the search was stopped; it cannot be resumed (create a new "
          "search)");
    }
    run_state_ = state;
    name = StateName();
    if (state == RunState::kStopped) {
      // Nothing runs on after Stop: each holder is told to cancel at its
      // next report, and the children wait, pending, uncharged.
      for (const Lease& lease : leases_.ReleaseAll()) {
        ReturnToQueueLocked(lease, /*charge=*/false, "the search was stopped",
                            &writes);
      }
    }
    // Queued under mu_, so concurrent changes commit in the order they
    // were made and a restart restores the last one.
    writes.push_back(
        store_->PutStateLater(name == "finished" ? "running" : name));
    ModelRecord none;
    Publish(v1::SearchEvent::STATE_CHANGED, none, name);
  }
  // Between releasing the lock and waiting: where another operator's call
  // can overtake this one (tests use it to make that happen).
  if (after_state_change_for_test_) after_state_change_for_test_();
  WaitDurable(writes, "changing the run state");
  LOG(INFO) << "search " << name;
  return name;
}

absl::StatusOr<std::string> Search::Pause() { return SetRunState(RunState::kPaused); }
absl::StatusOr<std::string> Search::Resume() { return SetRunState(RunState::kRunning); }
absl::StatusOr<std::string> Search::Stop() { return SetRunState(RunState::kStopped); }

int64_t Search::LatestEventSequence() { return events_.Latest(); }

std::vector<v1::SearchEvent> Search::WaitEvents(int64_t* after,
                                                absl::Duration timeout) {
  return events_.Wait(after, timeout);
}

}  // namespace amoeba
