#include "controller/controller.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "controller/paging.h"
#include "glog/logging.h"

namespace amoeba {
namespace {

constexpr int kMaxWorkersPage = 1000;

// A generated search id: short, readable, and unlikely to repeat, so a
// worker's spooled result of an earlier search on the same host is never
// taken for one of this search.
std::string NewSearchId() {
  std::random_device entropy;
  const uint64_t bits = (uint64_t{entropy()} << 32) ^ entropy();
  return absl::StrFormat("s-%012x", bits & 0xffffffffffffULL);
}

double UnixSeconds(absl::Time t) {
  return absl::ToDoubleSeconds(t - absl::UnixEpoch());
}

}  // namespace

absl::StatusOr<std::unique_ptr<Controller>> Controller::Open(
    std::unique_ptr<Store> store, const ControllerDefaults& defaults,
    Clock* clock, std::unique_ptr<CheckpointStore> checkpoints,
    std::unique_ptr<CheckpointStore> weights) {
  std::unique_ptr<Controller> controller(new Controller(
      std::move(store), defaults, clock, std::move(checkpoints),
      std::move(weights)));
  ASSIGN_OR_RETURN(std::vector<StoredSearch> stored,
                   controller->store_->ListSearches());
  for (const StoredSearch& s : stored) {
    absl::StatusOr<v1::SearchConfig> config = SearchConfigFromJson(s.config);
    if (!config.ok()) {
      return absl::DataLossError(
          absl::StrCat("search ", s.name, ": ", config.status().message()));
    }
    absl::StatusOr<SearchOptions> options =
        SearchOptionsFromConfig(*config, defaults);
    if (!options.ok()) {
      return absl::DataLossError(absl::StrCat(
          "search ", s.name, ": stored ", options.status().message()));
    }
    absl::StatusOr<Search*> added = controller->AddSearch(s, *options);
    if (!added.ok()) {
      return absl::Status(added.status().code(),
                          absl::StrCat("search ", s.name, ": ",
                                       added.status().message()));
    }
  }
  LOG(INFO) << "controller opened with " << stored.size() << " search(es)";
  controller->SweepCheckpoints();
  controller->NoteKeptCheckpoints();
  controller->SweepWeights();
  return controller;
}

void Controller::NoteCheckpoint(v1::GetTaskResponse* response) {
  if (checkpoints_ == nullptr || !response->has_task()) return;
  v1::Task* task = response->mutable_task();
  if (task->settings().checkpoint_every() <= 0) return;
  task->set_checkpoint_epoch(
      checkpoints_->Epoch(task->search_id(), task->model_id()));
}

void Controller::ForgetFinishedCheckpoint(Search& search, int64_t child) {
  if (checkpoints_ == nullptr ||
      search.options().settings.checkpoint_every() <= 0 ||
      search.IsUnfinished(child)) {
    return;
  }
  checkpoints_->Remove(search.search_id(), child);
}

void Controller::NoteKeptCheckpoints() {
  if (checkpoints_ == nullptr) return;
  for (const auto& [search_id, child] : checkpoints_->List()) {
    absl::StatusOr<Search*> search = Find(search_id);
    if (search.ok()) (*search)->NoteCheckpoint(child);
  }
}

void Controller::SweepCheckpoints() {
  if (checkpoints_ == nullptr) return;
  int removed = 0;
  for (const auto& [search_id, child] : checkpoints_->List()) {
    absl::StatusOr<Search*> search = Find(search_id);
    if (search.ok() && (*search)->IsUnfinished(child)) continue;
    checkpoints_->Remove(search_id, child);
    ++removed;
  }
  if (removed > 0) {
    LOG(INFO) << "removed " << removed
              << " checkpoint(s) of children that have finished";
  }
}

absl::StatusOr<Search*> Controller::CheckpointHolderCheck(
    const v1::CheckpointHeader& h) {
  if (StoreFor(h.weights()) == nullptr) {
    return absl::FailedPreconditionError(
        h.weights() ? "this controller keeps no weights (no --weights_dir)"
                    : "this controller keeps no checkpoints (give it "
                      "--checkpoint_dir, or give the workers a shared "
                      "--checkpoint_dir)");
  }
  absl::StatusOr<Search*> search = Find(h.search_id());
  if (!search.ok() || h.search_id().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint of unknown search '",
        absl::CHexEscape(h.search_id().substr(0, 64)), "'"));
  }
  if (h.weights()) RETURN_IF_ERROR(CheckInherits(**search));
  RETURN_IF_ERROR((*search)->CheckHolder(h.worker_id(), h.model_id(),
                                         h.attempt()));
  return *search;
}

absl::StatusOr<std::unique_ptr<CheckpointStore::Upload>>
Controller::BeginCheckpoint(const v1::CheckpointHeader& h) {
  RETURN_IF_ERROR(CheckpointHolderCheck(h).status());
  if (h.epoch() < 1) {
    return absl::InvalidArgumentError("checkpoint epoch must be >= 1");
  }
  absl::StatusOr<std::unique_ptr<CheckpointStore::Upload>> upload =
      StoreFor(h.weights())
          ->BeginUpload(h.search_id(), h.model_id(), h.epoch(), h.size(),
                        h.crc32());
  if (absl::IsAlreadyExists(upload.status())) {
    return std::unique_ptr<CheckpointStore::Upload>();
  }
  return upload;
}

absl::StatusOr<int> Controller::CommitCheckpoint(
    const v1::CheckpointHeader& h,
    std::unique_ptr<CheckpointStore::Upload> upload) {
  ASSIGN_OR_RETURN(Search* const search, CheckpointHolderCheck(h));
  CheckpointStore* const store = StoreFor(h.weights());
  if (upload == nullptr) return store->Epoch(h.search_id(), h.model_id());
  ASSIGN_OR_RETURN(const int kept, store->Commit(std::move(upload)));
  if (h.weights()) {
    // As below, for weights: kept only while needed. Either this sees the
    // child not needed, or the removal after its result (or its parent's
    // death) runs after the rename above.
    if (!search->WeightsNotNeeded({h.model_id()}).empty()) {
      store->Remove(h.search_id(), h.model_id());
      return absl::FailedPreconditionError(absl::StrCat(
          "child ", h.model_id(), " left the population while its weights "
          "arrived"));
    }
    LOG(INFO) << "weights of " << h.search_id() << " child " << h.model_id()
              << " after " << h.epoch() << " epoch(s) from worker "
              << h.worker_id() << " (" << h.size() << " bytes)";
    return kept;
  }
  // The result may have become durable (and its checkpoint been removed)
  // between the holder check and the rename: a checkpoint of a finished
  // child is never kept. Either this sees the child finished, or the
  // removal after its result runs after the rename above.
  if (!search->IsUnfinished(h.model_id())) {
    checkpoints_->Remove(h.search_id(), h.model_id());
    return absl::FailedPreconditionError(absl::StrCat(
        "child ", h.model_id(), " finished while its checkpoint arrived"));
  }
  search->NoteCheckpoint(h.model_id());
  LOG(INFO) << "checkpoint of " << h.search_id() << " child " << h.model_id()
            << " at epoch " << h.epoch() << " from worker " << h.worker_id()
            << " (" << h.size() << " bytes)"
            << (kept == h.epoch() ? "" : "; a newer one is kept");
  return kept;
}

absl::StatusOr<int> Controller::PutCheckpoint(const v1::CheckpointHeader& h,
                                              std::string_view payload) {
  ASSIGN_OR_RETURN(std::unique_ptr<CheckpointStore::Upload> upload,
                   BeginCheckpoint(h));
  if (upload != nullptr) RETURN_IF_ERROR(upload->Append(payload));
  return CommitCheckpoint(h, std::move(upload));
}

absl::Status Controller::CheckCheckpointReader(
    const v1::CheckpointRequest& request) {
  if (checkpoints_ == nullptr) {
    return absl::FailedPreconditionError("this controller keeps no checkpoints");
  }
  absl::StatusOr<Search*> search = Find(request.search_id());
  if (!search.ok() || request.search_id().empty()) {
    return absl::InvalidArgumentError("checkpoint of an unknown search");
  }
  return (*search)->CheckHolder(request.worker_id(), request.model_id(),
                                request.attempt());
}

absl::StatusOr<CheckpointData> Controller::GetCheckpoint(
    const v1::CheckpointRequest& request) {
  if (request.parent_weights()) {
    ASSIGN_OR_RETURN(const auto key, ParentWeightsKey(request));
    return weights_->Get(key.first, key.second);
  }
  RETURN_IF_ERROR(CheckCheckpointReader(request));
  return checkpoints_->Get(request.search_id(), request.model_id());
}

absl::StatusOr<std::unique_ptr<CheckpointStore::Reader>>
Controller::OpenCheckpoint(const v1::CheckpointRequest& request) {
  if (request.parent_weights()) {
    ASSIGN_OR_RETURN(const auto key, ParentWeightsKey(request));
    return weights_->OpenReader(key.first, key.second);
  }
  RETURN_IF_ERROR(CheckCheckpointReader(request));
  return checkpoints_->OpenReader(request.search_id(), request.model_id());
}

Controller::~Controller() {
  absl::MutexLock lock(&mu_);
  searches_.clear();  // before store_ goes
}

absl::StatusOr<Search*> Controller::AddSearch(const StoredSearch& stored,
                                              const SearchOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Search> search,
                   Search::Open(options, store_->OpenSearch(stored), clock_));
  absl::MutexLock lock(&mu_);
  // Under mu_, so that a registration arriving now is either replayed here
  // or forwarded by Register to this search.
  for (const auto& [id, registration] : registrations_) {
    search->Register(registration).IgnoreError();
  }
  searches_.push_back(std::move(search));
  return searches_.back().get();
}

absl::StatusOr<Search*> Controller::CreateSearch(
    const std::string& search_id, const v1::SearchConfig& config) {
  ASSIGN_OR_RETURN(SearchOptions options,
                   SearchOptionsFromConfig(config, defaults_));
  absl::MutexLock create(&create_mu_);
  if (Searches().size() >= kMaxSearches) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "this controller holds ", kMaxSearches,
        " searches, the most it takes; use another store"));
  }
  std::string name = search_id;
  for (int tries = 0; name.empty() && tries < 100; ++tries) {
    std::string candidate = NewSearchId();
    if (!Find(candidate).ok()) name = std::move(candidate);
  }
  RETURN_IF_ERROR(ValidateSearchName(name));
  // The stored config is complete: later changes of the controller's
  // defaults do not change a search.
  ASSIGN_OR_RETURN(
      StoredSearch stored,
      store_->CreateSearch(name,
                           SearchConfigToJson(SearchConfigFromOptions(options)),
                           UnixSeconds(clock_->Now())));
  LOG(INFO) << "search created: " << name << " ("
            << AlgorithmName(options.engine.algorithm)
            << ", P=" << options.engine.population_size
            << ", S=" << options.engine.sample_size
            << ", budget " << options.engine.budget << ", "
            << options.settings.dataset() << ", weight " << options.weight
            << ")";
  return AddSearch(stored, options);
}

absl::StatusOr<Search*> Controller::CreateOrCheckFirstSearch(
    const std::string& search_id, const SearchOptions& options) {
  std::vector<Search*> searches = Searches();
  if (searches.empty()) {
    RETURN_IF_ERROR(ValidateSearchOptions(options));
    return CreateSearch(search_id, SearchConfigFromOptions(options));
  }
  Search* search = searches.front();
  if (!search_id.empty()) {
    absl::StatusOr<Search*> named = Find(search_id);
    if (!named.ok()) {
      // A store of other searches: this one is new.
      if (!absl::IsNotFound(named.status())) return named.status();
      RETURN_IF_ERROR(ValidateSearchOptions(options));
      return CreateSearch(search_id, SearchConfigFromOptions(options));
    }
    search = *named;
  }
  RETURN_IF_ERROR(CheckSameSearch(search->options(), options));
  return search;
}

absl::StatusOr<Search*> Controller::Find(const std::string& search_id) {
  absl::ReaderMutexLock lock(&mu_);
  if (search_id.empty()) {
    if (searches_.size() == 1) return searches_.front().get();
    return absl::InvalidArgumentError(
        searches_.empty()
            ? "this controller runs no search yet (CreateSearch)"
            : absl::StrCat("search_id is required: this controller runs ",
                           searches_.size(), " searches (ListSearches)"));
  }
  std::vector<std::string> names;
  for (const auto& search : searches_) {
    if (search->search_id() == search_id) return search.get();
    if (names.size() < 10) names.push_back(search->search_id());
  }
  return absl::NotFoundError(absl::StrCat(
      "no search '", absl::CHexEscape(search_id.substr(0, 64)),
      "' on this controller",
      names.empty() ? "" : absl::StrCat(" (it runs ", absl::StrJoin(names, ", "),
                                        searches_.size() > names.size()
                                            ? ", ..."
                                            : "",
                                        ")")));
}

std::vector<Search*> Controller::Searches() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<Search*> out;
  out.reserve(searches_.size());
  for (const auto& search : searches_) out.push_back(search.get());
  return out;
}

bool Controller::AllFinished() {
  std::vector<Search*> searches = Searches();
  if (searches.empty()) return false;
  for (Search* s : searches) {
    if (!s->Finished()) return false;
  }
  return true;
}

std::vector<Search*> Controller::FairShareOrder(const Search* discount) {
  struct Candidate {
    double share;   // children leased per unit of weight
    double served;  // children created per unit of weight
    double weight;
    size_t age;
    Search* search;
    bool trained_waiting;
  };
  std::vector<Candidate> candidates;
  std::vector<Search*> searches = Searches();
  for (size_t i = 0; i < searches.size(); ++i) {
    Search* s = searches[i];
    const Search::ShareState share = s->Share();
    if (!share.wants_worker) continue;
    const int64_t leased = share.leased - (s == discount ? 1 : 0);
    const double weight = s->options().weight;
    candidates.push_back(
        Candidate{static_cast<double>(std::max<int64_t>(0, leased)) / weight,
                  static_cast<double>(share.created) / weight, weight, i, s,
                  share.trained_waiting});
  }
  // A search with a child that already trained and waits first: its next
  // holder resumes from a checkpoint, and a job preempted late would
  // otherwise wait behind every fresh child of every search. (Bounded: a
  // child becomes trained-and-waiting only by losing its worker.) Then the
  // search furthest below its share of the fleet; among equals
  // the one served least so far (per unit of weight), then the heavier, then
  // the older. Without the second key, a fleet smaller than the number of
  // searches would serve the oldest searches only: most searches lease
  // nothing at any moment, and the oldest would win every tie.
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) {
              if (a.trained_waiting != b.trained_waiting) {
                return a.trained_waiting;
              }
              if (a.share != b.share) return a.share < b.share;
              if (a.served != b.served) return a.served < b.served;
              if (a.weight != b.weight) return a.weight > b.weight;
              return a.age < b.age;
            });
  std::vector<Search*> order;
  order.reserve(candidates.size());
  for (const Candidate& c : candidates) order.push_back(c.search);
  return order;
}

absl::Status Controller::Register(const v1::RegisterRequest& request) {
  std::vector<Search*> searches;
  {
    absl::MutexLock lock(&mu_);
    auto it = registrations_.find(request.worker_id());
    if (it == registrations_.end() || request.incarnation() == 0 ||
        request.incarnation() >= it->second.incarnation()) {
      registrations_[request.worker_id()] = request;
    }
    for (const auto& search : searches_) searches.push_back(search.get());
  }
  if (searches.empty()) {
    LOG(INFO) << "worker registered: " << request.worker_id()
              << " (no search yet)";
  }
  for (Search* search : searches) RETURN_IF_ERROR(search->Register(request));
  return absl::OkStatus();
}

absl::Status Controller::ReconcileAll(const std::string& worker_id,
                                      const v1::WorkerView& view,
                                      const Search* skip,
                                      v1::GetTaskResponse* response) {
  v1::HeartbeatRequest heartbeat;
  heartbeat.set_worker_id(worker_id);
  *heartbeat.mutable_view() = view;
  for (Search* search : Searches()) {
    if (search == skip) continue;
    ASSIGN_OR_RETURN(v1::HeartbeatResponse answer, search->Heartbeat(heartbeat));
    for (v1::HeldTask& cancel : *answer.mutable_cancel()) {
      *response->add_cancel() = std::move(cancel);
    }
  }
  return absl::OkStatus();
}

absl::Status Controller::AssignFrom(const std::vector<Search*>& order,
                                    const v1::GetTaskRequest& request,
                                    v1::GetTaskResponse* response) {
  for (Search* search : order) {
    absl::StatusOr<v1::GetTaskResponse> answer = search->Assign(request);
    if (absl::IsAborted(answer.status())) return answer.status();
    if (!answer.ok()) continue;  // e.g. registration not yet replayed
    if (answer->has_task()) {
      *response->mutable_task() = std::move(*answer->mutable_task());
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GetTaskResponse> Controller::GetTask(
    const v1::GetTaskRequest& request) {
  absl::StatusOr<v1::GetTaskResponse> response = AssignTask(request);
  if (response.ok()) NoteCheckpoint(&*response);
  return response;
}

absl::StatusOr<v1::GetTaskResponse> Controller::AssignTask(
    const v1::GetTaskRequest& request) {
  std::vector<Search*> searches = Searches();
  // One search: exactly its own protocol (one lock, one durable wait).
  if (searches.size() == 1) return searches.front()->GetTask(request);
  v1::GetTaskResponse response;
  if (searches.empty()) {
    absl::ReaderMutexLock lock(&mu_);
    if (registrations_.count(request.worker_id()) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "unknown worker '", request.worker_id(), "'; call Register first"));
    }
  }
  RETURN_IF_ERROR(
      ReconcileAll(request.worker_id(), request.view(), nullptr, &response));
  RETURN_IF_ERROR(AssignFrom(FairShareOrder(), request, &response));
  if (!response.has_task()) {
    response.set_retry_after_ms(static_cast<int32_t>(
        absl::ToInt64Milliseconds(defaults_.retry_after)));
    response.set_search_finished(AllFinished());
  }
  return response;
}

absl::StatusOr<Search::ProgressAnswer> Controller::ReportProgress(
    const v1::ProgressReport& report) {
  absl::StatusOr<Search*> search = Find(report.search_id());
  if (!search.ok()) return Search::ProgressAnswer{true, false};  // moot
  return (*search)->ReportProgress(report);
}

absl::StatusOr<bool> Controller::ReportResult(const v1::ResultReport& report,
                                              v1::GetTaskResponse* next) {
  Search* owner = nullptr;
  absl::StatusOr<bool> recorded = RecordResult(report, next, &owner);
  if (recorded.ok()) {
    ForgetFinishedCheckpoint(*owner, report.model_id());
    DropUnneededWeights(*owner);
    if (next != nullptr) NoteCheckpoint(next);
  }
  return recorded;
}

absl::StatusOr<bool> Controller::RecordResult(const v1::ResultReport& report,
                                              v1::GetTaskResponse* next,
                                              Search** owner_out) {
  absl::StatusOr<Search*> found =
      report.search_id().empty()
          ? absl::StatusOr<Search*>(absl::NotFoundError(""))
          : Find(report.search_id());
  if (!found.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the result of child ", report.model_id(), " belongs to search '",
        absl::CHexEscape(report.search_id().substr(0, 64)),
        "', which this controller does not run"));
  }
  Search* owner = *found;
  *owner_out = owner;
  if (next == nullptr || Searches().size() == 1) {
    return owner->ReportResult(report, next);
  }
  // The owner's leased count drops by this result: if it is then the search
  // most lacking its share, its next child comes in the same durable step.
  const std::vector<Search*> order = FairShareOrder(owner);
  const bool combined = !order.empty() && order.front() == owner;
  v1::GetTaskResponse answer;
  absl::StatusOr<bool> recorded =
      owner->ReportResult(report, combined ? &answer : nullptr);
  if (!recorded.ok()) return recorded;
  *next = std::move(answer);
  next->set_search_finished(false);
  if (!next->has_task()) {
    v1::GetTaskRequest request;
    request.set_worker_id(report.worker_id());
    *request.mutable_view() = report.view();
    std::vector<Search*> rest;
    for (Search* s : order) {
      if (!combined || s != owner) rest.push_back(s);
    }
    absl::Status assigned = AssignFrom(rest, request, next);
    if (!assigned.ok() && !absl::IsAborted(assigned)) return assigned;
  }
  if (!next->has_task()) {
    next->set_retry_after_ms(static_cast<int32_t>(
        absl::ToInt64Milliseconds(defaults_.retry_after)));
    next->set_search_finished(AllFinished());
  }
  return recorded;
}

absl::StatusOr<v1::HeartbeatResponse> Controller::Heartbeat(
    const v1::HeartbeatRequest& request) {
  std::vector<Search*> searches = Searches();
  if (searches.size() == 1) return searches.front()->Heartbeat(request);
  if (searches.empty()) {
    absl::ReaderMutexLock lock(&mu_);
    if (registrations_.count(request.worker_id()) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "unknown worker '", request.worker_id(), "'; call Register first"));
    }
  }
  v1::GetTaskResponse reconciled;
  RETURN_IF_ERROR(
      ReconcileAll(request.worker_id(), request.view(), nullptr, &reconciled));
  v1::HeartbeatResponse response;
  *response.mutable_cancel() = std::move(*reconciled.mutable_cancel());
  response.set_search_finished(AllFinished());
  return response;
}

absl::StatusOr<v1::ListWorkersResponse> Controller::ListWorkers(
    const v1::ListWorkersRequest& request) {
  ASSIGN_OR_RETURN(const Page requested,
                   ParsePage(request.page_token(), request.page_size(),
                             kMaxWorkersPage, kMaxWorkersPage));
  const int64_t offset = requested.offset;
  const int64_t page = requested.size;
  // Every search knows every worker; each adds the children it leases.
  std::map<std::string, v1::WorkerInfo> merged;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [id, registration] : registrations_) {
      v1::WorkerInfo& info = merged[id];
      info.set_worker_id(id);
      info.set_host(registration.host());
      info.set_device(registration.device());
      info.set_capacity(registration.capacity());
      info.set_evaluator(registration.evaluator());
    }
  }
  for (Search* search : Searches()) {
    v1::ListWorkersRequest all;
    all.set_page_size(kMaxWorkersPage);
    // Bounded: a search lists at most every worker once.
    for (int pages = 0; pages < 1000000; ++pages) {
      ASSIGN_OR_RETURN(v1::ListWorkersResponse part, search->ListWorkers(all));
      for (const v1::WorkerInfo& w : part.workers()) {
        v1::WorkerInfo& info = merged[w.worker_id()];
        if (info.worker_id().empty()) info = w;  // known to this search only
        else {
          info.mutable_running()->MergeFrom(w.running());
          info.mutable_running_search_ids()->MergeFrom(w.running_search_ids());
          info.set_completed(info.completed() + w.completed());
          info.set_online(info.online() || w.online());
          info.set_last_seen(std::max(info.last_seen(), w.last_seen()));
        }
      }
      if (part.next_page_token().empty()) break;
      all.set_page_token(part.next_page_token());
    }
  }
  v1::ListWorkersResponse response;
  response.set_total(static_cast<int64_t>(merged.size()));
  int64_t index = 0;
  for (auto& [id, info] : merged) {
    if (index++ < offset) continue;
    if (response.workers_size() >= page) break;
    *response.add_workers() = std::move(info);
  }
  if (offset + response.workers_size() < static_cast<int64_t>(merged.size())) {
    response.set_next_page_token(absl::StrCat(offset + response.workers_size()));
  }
  return response;
}

void Controller::ExpireLeases() {
  for (Search* search : Searches()) {
    // A child whose last attempt expires is failed for good: its
    // checkpoint and weights go, as after a result (and so may its dead
    // parent's weights). Only then: no file is looked at on other ticks.
    const SearchOptions& o = search->options();
    std::vector<int64_t> held;
    if ((checkpoints_ != nullptr && o.settings.checkpoint_every() > 0) ||
        (weights_ != nullptr && o.inheritance.enabled)) {
      for (const Lease& lease : search->Leases()) held.push_back(lease.child);
    }
    search->ExpireLeases();
    bool ended = false;
    for (int64_t child : held) {
      if (search->IsUnfinished(child)) continue;
      ended = true;
      ForgetFinishedCheckpoint(*search, child);
    }
    if (ended) DropUnneededWeights(*search);
  }
}

absl::Duration Controller::ExpiryPeriod() {
  absl::Duration shortest = defaults_.lease_timeout;
  for (Search* search : Searches()) {
    shortest = std::min(shortest, search->options().lease_timeout);
  }
  return std::max(absl::Milliseconds(20), shortest / 4);
}

absl::StatusOr<std::unique_ptr<Controller>> OpenSingleSearchController(
    const std::string& path, const SearchOptions& options, Clock* clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(path));
  ASSIGN_OR_RETURN(
      std::unique_ptr<Controller> controller,
      Controller::Open(std::move(store), DefaultsOf(options), clock));
  RETURN_IF_ERROR(controller->CreateOrCheckFirstSearch("", options).status());
  return controller;
}

}  // namespace amoeba
