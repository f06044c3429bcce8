#include "simulation/simulation.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/search.h"
#include "controller/store.h"
#include "genotype/text.h"
#include "simulation/network.h"
#include "simulation/sim_worker.h"
#include "simulation/world.h"

namespace amoeba::sim {
namespace {

constexpr int64_t kMaxSteps = 5000000;
constexpr char kIntruder[] = "intruder";

class Harness {
 public:
  explicit Harness(const SimulationOptions& options);
  SimulationReport Run();

 private:
  void Violation(const std::string& what) {
    if (violation_.ok()) {
      violation_ = absl::InternalError(
          absl::StrCat("seed ", o_.seed, " at ",
                       absl::SixDigits(world_.seconds()), "s: ", what));
    }
  }
  void OpenController();
  void CrashController();
  std::pair<absl::Status, std::string> Handle(Rpc rpc,
                                              const std::string& bytes);
  std::pair<absl::Status, std::string> HandleResult(const std::string& bytes);
  void OnAck(const v1::ResultReport& report, const v1::ResultAck& ack);
  void OnTake(const std::string& worker, const v1::Task& task);
  // The shadow engine: the same Engine, fed the calls the controller's must
  // have made (a new child for every new id handed out, a result for every
  // recorded success), so the population and every child are checked
  // against what the algorithm says from the same history.
  void ObserveTask(const v1::Task& task);
  void ObserveSuccess(const v1::ResultReport& report);
  void ChaosTick();
  void ExpireTick();
  void EndFaults();
  void Intrude();
  void RestartLater(SimWorker* worker);
  void CheckStep();
  void CheckStore(bool at_end);
  SimWorker* WorkerNamed(const std::string& id);
  std::optional<Lease> LeaseOf(int64_t child);

  const SimulationOptions o_;
  World world_;
  Network network_;
  SearchOptions search_options_;
  std::string store_path_;
  std::unique_ptr<Search> search_;
  std::vector<std::unique_ptr<SimWorker>> workers_;
  bool faults_on_ = true;
  bool paused_ = false;
  bool stopped_ = false;
  absl::Time stop_time_;
  bool intruder_registered_ = false;
  int64_t highest_child_ = 0;
  std::unique_ptr<Engine> shadow_;
  std::map<int64_t, Genotype> shadow_genotypes_;
  // Children a worker saw acknowledged as recorded, with their fitness.
  std::map<int64_t, double> acked_;
  std::map<std::pair<int64_t, int>, absl::Time> orphan_since_;
  absl::Status violation_;
  SimulationReport report_;
};

Harness::Harness(const SimulationOptions& options)
    : o_(options), world_(options.seed), network_(&world_, absl::Seconds(3)) {
  // The search's shape comes from the seed too.
  EngineConfig& e = search_options_.engine;
  const Algorithm algorithms[] = {Algorithm::kAging, Algorithm::kNonAging,
                                  Algorithm::kRandom};
  e.algorithm = algorithms[world_.Uniform(3)];
  e.population_size = 3 + static_cast<int>(world_.Uniform(4));
  e.sample_size = 2;
  e.budget = e.population_size + 4 + static_cast<int64_t>(world_.Uniform(10));
  e.seed = options.seed;
  search_options_.settings.set_dataset("fashion_mnist");
  search_options_.settings.set_cells_per_stack(1);
  search_options_.settings.set_filters(8);
  search_options_.settings.set_epochs(1);
  search_options_.settings.set_batch_size(16);
  search_options_.lease_timeout = absl::Seconds(20);
  search_options_.heartbeat_interval = absl::Seconds(5);
  search_options_.max_attempts = 2 + static_cast<int>(world_.Uniform(2));
  search_options_.retry_after = absl::Seconds(1);
  store_path_ = o_.dir + "/search.db";
  shadow_ = std::make_unique<Engine>(search_options_.engine);

  WorkerBehaviour behaviour;
  behaviour.spool_write_fails = o_.spool_write_fails;
  WorkerObserver observer;
  observer.on_ack = [this](const v1::ResultReport& r, const v1::ResultAck& a) {
    OnAck(r, a);
  };
  observer.on_take = [this](const std::string& worker, const v1::Task& task) {
    OnTake(worker, task);
  };
  const int workers =
      o_.workers > 0 ? o_.workers : 1 + static_cast<int>(world_.Uniform(4));
  for (int i = 0; i < workers; ++i) {
    const int slots = 1 + static_cast<int>(world_.Uniform(4));
    workers_.push_back(std::make_unique<SimWorker>(
        &world_, &network_, absl::StrCat("w", i), slots,
        absl::StrCat(o_.dir, "/spool-w", i), behaviour, observer));
  }
  NetworkFaults faults;
  faults.drop_request = faults.drop_response = faults.duplicate_request =
      faults.late = o_.message_fault;
  network_.set_faults(faults);
  network_.set_handler(
      [this](Rpc rpc, const std::string& bytes) { return Handle(rpc, bytes); });
}

void Harness::OpenController() {
  auto store = Store::Open(store_path_);
  if (!store.ok()) {
    Violation(
        absl::StrCat("the store does not reopen: ", store.status().message()));
    return;
  }
  auto search =
      Search::Open(search_options_, *std::move(store), &world_.clock());
  if (!search.ok()) {
    Violation(absl::StrCat("the search does not reopen: ",
                           search.status().message()));
    return;
  }
  search_ = *std::move(search);
  intruder_registered_ = false;
  // The reopened engine continues exactly where the shadow is: same
  // counters, same random state, same members with the same genotypes.
  const EngineState restored = search_->EngineSnapshot();
  const EngineState expected = shadow_->state();
  bool same_members = restored.population.size() == expected.population.size();
  for (size_t i = 0; same_members && i < restored.population.size(); ++i) {
    same_members = restored.population[i].id == expected.population[i].id &&
                   restored.population[i].fitness == expected.population[i].fitness &&
                   restored.population[i].genotype == expected.population[i].genotype;
  }
  if (restored.rng != expected.rng || restored.next_id != expected.next_id ||
      restored.completed != expected.completed || !same_members) {
    Violation(absl::StrCat(
        "the reopened engine differs from the one before (", restored.completed,
        " vs ", expected.completed, " completed, next id ", restored.next_id,
        " vs ", expected.next_id, ", random state ",
        restored.rng == expected.rng ? "same" : "different", ", members ",
        same_members ? "same" : "different", ")"));
  }
  // A reopened controller restores running children's leases with a fresh
  // timeout: the orphan clocks start again.
  orphan_since_.clear();
  network_.set_controller_up(true);
  world_.Trace("controller up");
}

void Harness::CrashController() {
  if (search_ == nullptr) return;
  world_.Trace("controller crashes");
  ++report_.controller_crashes;
  search_.reset();
  network_.set_controller_up(false);
  CheckStore(/*at_end=*/false);
  world_.After(world_.Between(absl::Seconds(1), absl::Seconds(30)), [this] {
    if (search_ == nullptr) OpenController();
  });
}

std::optional<Lease> Harness::LeaseOf(int64_t child) {
  for (const Lease& lease : search_->Leases()) {
    if (lease.child == child) return lease;
  }
  return std::nullopt;
}

std::pair<absl::Status, std::string> Harness::Handle(Rpc rpc,
                                                     const std::string& bytes) {
  switch (rpc) {
    case Rpc::kRegister: {
      v1::RegisterRequest request;
      request.ParseFromString(bytes);
      absl::Status s = search_->Register(request);
      v1::RegisterResponse response;
      response.set_search_id(search_->search_id());
      return {s, response.SerializeAsString()};
    }
    case Rpc::kGetTask: {
      v1::GetTaskRequest request;
      request.ParseFromString(bytes);
      auto response = search_->GetTask(request);
      if (!response.ok()) return {response.status(), ""};
      if (response->has_task()) {
        ObserveTask(response->task());
        world_.Trace("controller: child ", response->task().model_id(),
                     " attempt ", response->task().attempt(), " -> ",
                     request.worker_id(), " (request ",
                     request.view().sequence(), ")");
      }
      return {absl::OkStatus(), response->SerializeAsString()};
    }
    case Rpc::kProgress: {
      v1::ProgressReport request;
      request.ParseFromString(bytes);
      auto cancel = search_->ReportProgress(request);
      if (!cancel.ok()) return {cancel.status(), ""};
      v1::ProgressAck ack;
      ack.set_cancel(*cancel);
      return {absl::OkStatus(), ack.SerializeAsString()};
    }
    case Rpc::kResult:
      return HandleResult(bytes);
    case Rpc::kHeartbeat: {
      v1::HeartbeatRequest request;
      request.ParseFromString(bytes);
      auto response = search_->Heartbeat(request);
      if (!response.ok()) return {response.status(), ""};
      return {absl::OkStatus(), response->SerializeAsString()};
    }
  }
  return {absl::InternalError("unknown rpc"), ""};
}

std::pair<absl::Status, std::string> Harness::HandleResult(
    const std::string& bytes) {
  v1::ResultReport report;
  report.ParseFromString(bytes);
  // A failure may act only on the current lease: another worker's lease of
  // the child must come through untouched.
  const std::optional<Lease> before = LeaseOf(report.model_id());
  v1::ResultAck ack;
  auto recorded = search_->ReportResult(
      report, report.next_task() ? ack.mutable_next() : nullptr);
  if (!report.ok() && before.has_value() &&
      before->worker_id != report.worker_id()) {
    const std::optional<Lease> after = LeaseOf(report.model_id());
    if (!after.has_value() || after->worker_id != before->worker_id ||
        after->attempt != before->attempt) {
      Violation(absl::StrCat("a failure of child ", report.model_id(),
                             " attempt ", report.attempt(), " from ",
                             report.worker_id(), " disturbed attempt ",
                             before->attempt, " on ", before->worker_id));
    }
  }
  if (recorded.ok() && *recorded && report.ok()) ObserveSuccess(report);
  if (recorded.ok() && ack.next().has_task()) {
    ObserveTask(ack.next().task());
    world_.Trace("controller: child ", ack.next().task().model_id(),
                 " attempt ", ack.next().task().attempt(), " -> ",
                 report.worker_id(), " (in an ack)");
  }
  world_.Trace("controller: result of child ", report.model_id(), " attempt ",
               report.attempt(), " from ", report.worker_id(),
               report.ok() ? " ok" : " failed",
               report.preempted() ? " (preempted)" : "", ": ",
               recorded.ok() ? (*recorded ? "recorded" : "not recorded")
                             : recorded.status().ToString());
  if (!recorded.ok()) return {recorded.status(), ""};
  ack.set_recorded(*recorded);
  return {absl::OkStatus(), ack.SerializeAsString()};
}

void Harness::OnAck(const v1::ResultReport& report, const v1::ResultAck& ack) {
  if (!report.ok() || !ack.recorded()) return;
  if (acked_.count(report.model_id()) > 0) {
    Violation(absl::StrCat("child ", report.model_id(),
                           " was acknowledged as recorded twice"));
  }
  acked_[report.model_id()] = report.fitness();
}

void Harness::ObserveTask(const v1::Task& task) {
  if (task.model_id() <= highest_child_) return;  // handed out before
  if (task.model_id() != highest_child_ + 1) {
    Violation(absl::StrCat("child ", task.model_id(), " handed out after child ",
                           highest_child_, ": ids skipped"));
    return;
  }
  highest_child_ = task.model_id();
  NewChild expected = shadow_->CreateChild();
  if (expected.id != task.model_id() ||
      CanonicalText(expected.genotype) != task.genotype_text()) {
    Violation(absl::StrCat("child ", task.model_id(),
                           " is not the child the algorithm makes from the same "
                           "history (expected id ", expected.id, ")"));
  }
  shadow_genotypes_[expected.id] = std::move(expected.genotype);
}

void Harness::ObserveSuccess(const v1::ResultReport& report) {
  auto it = shadow_genotypes_.find(report.model_id());
  if (it == shadow_genotypes_.end()) {
    Violation(absl::StrCat("a result for child ", report.model_id(),
                           ", which was never handed out, was recorded"));
    return;
  }
  shadow_->AddResult(report.model_id(), it->second, report.fitness());
}

// A task a worker accepts from an answer is still its lease: nothing may
// release a lease while its answer is on the way (the grant is not settled
// until the task is held), unless the child finished meanwhile or an
// operator stopped the search.
void Harness::OnTake(const std::string& worker, const v1::Task& task) {
  if (search_ == nullptr || stopped_) return;
  const std::optional<Lease> lease = LeaseOf(task.model_id());
  if (lease.has_value() && lease->worker_id == worker &&
      lease->attempt == task.attempt()) {
    return;
  }
  auto model = search_->GetModel(task.model_id());
  if (model.ok() && (model->model().state() == v1::MODEL_DONE ||
                     model->model().state() == v1::MODEL_FAILED)) {
    return;
  }
  Violation(absl::StrCat(worker, " took child ", task.model_id(), " attempt ",
                         task.attempt(), " whose lease was already released"));
}

void Harness::Intrude() {
  if (search_ == nullptr || highest_child_ == 0) return;
  ++report_.intruder_reports;
  if (!intruder_registered_) {
    v1::RegisterRequest request;
    request.set_worker_id(kIntruder);
    if (!search_->Register(request).ok())
      Violation("the intruder cannot register");
    intruder_registered_ = true;
  }
  v1::ResultReport report;
  report.set_worker_id(kIntruder);
  report.set_search_id(search_->search_id());
  report.set_model_id(1 + static_cast<int64_t>(world_.Uniform(highest_child_)));
  report.set_attempt(1 + static_cast<int>(world_.Uniform(3)));
  report.set_ok(world_.Chance(0.5));
  report.set_fitness(0.999);
  report.set_diverged(!report.ok() && world_.Chance(0.5));
  const std::optional<Lease> before = LeaseOf(report.model_id());
  auto recorded = search_->ReportResult(report);
  world_.Trace("intruder reports child ", report.model_id(), " attempt ",
               report.attempt(), ": ",
               recorded.ok() ? (*recorded ? "recorded" : "not recorded")
                             : recorded.status().ToString());
  if (recorded.ok() && *recorded) {
    Violation(absl::StrCat("a result for child ", report.model_id(),
                           " from a worker that never held it was recorded"));
  }
  const std::optional<Lease> after = LeaseOf(report.model_id());
  if (before.has_value() &&
      (!after.has_value() || after->worker_id != before->worker_id ||
       after->attempt != before->attempt)) {
    Violation(absl::StrCat("the intruder disturbed the lease of child ",
                           report.model_id()));
  }
}

void Harness::RestartLater(SimWorker* worker) {
  world_.After(world_.Between(absl::Seconds(1), absl::Seconds(60)), [worker] {
    if (!worker->alive()) worker->Start();
  });
}

void Harness::ChaosTick() {
  if (!faults_on_) return;
  for (auto& w : workers_) {
    if (!w->alive()) continue;
    if (world_.Chance(o_.worker_crash)) {
      ++report_.worker_crashes;
      w->Crash();
      RestartLater(w.get());
    } else if (world_.Chance(o_.worker_stop)) {
      ++report_.worker_stops;
      w->Stop();
      RestartLater(w.get());
    } else if (world_.Chance(o_.partition)) {
      const absl::Duration cut =
          world_.Between(absl::Seconds(5), absl::Seconds(60));
      world_.Trace(w->id(), " cut off for ", absl::FormatDuration(cut));
      network_.Partition(w->id(), cut);
    }
  }
  if (search_ != nullptr) {
    if (world_.Chance(o_.controller_crash)) {
      CrashController();
    } else if (world_.Chance(o_.pause)) {
      ++report_.operator_actions;
      auto state = paused_ ? search_->Resume() : search_->Pause();
      world_.Trace("operator: ", paused_ ? "resume" : "pause", " -> ",
                   state.ok() ? *state : state.status().ToString());
      if (state.ok()) paused_ = !paused_;
    } else if (!stopped_ && world_.Chance(o_.stop)) {
      ++report_.operator_actions;
      auto state = search_->Stop();
      world_.Trace("operator: stop -> ",
                   state.ok() ? *state : state.status().ToString());
      if (state.ok() && *state == "stopped") {
        stopped_ = true;
        stop_time_ = world_.now();
      }
    } else if (world_.Chance(o_.intruder)) {
      Intrude();
    }
  }
  world_.After(absl::Seconds(1), [this] { ChaosTick(); });
}

void Harness::ExpireTick() {
  if (search_ != nullptr) search_->ExpireLeases();
  world_.After(search_options_.lease_timeout / 4, [this] { ExpireTick(); });
}

void Harness::EndFaults() {
  faults_on_ = false;
  network_.set_faults(NetworkFaults{});
  for (auto& w : workers_) network_.Partition(w->id(), absl::ZeroDuration());
  world_.Trace("faults end");
  if (search_ == nullptr) OpenController();
  if (paused_ && search_ != nullptr && search_->Resume().ok()) paused_ = false;
  for (auto& w : workers_) {
    if (!w->alive()) w->Start();
  }
}

SimWorker* Harness::WorkerNamed(const std::string& id) {
  for (auto& w : workers_) {
    if (w->id() == id) return w.get();
  }
  return nullptr;
}

void Harness::CheckStep() {
  for (auto& w : workers_) {
    for (int64_t child : w->ChildrenInTwoSlots()) {
      Violation(
          absl::StrCat("child ", child, " runs in two slots of ", w->id()));
    }
  }
  if (search_ == nullptr) return;
  if (absl::Status s = search_->CheckInvariants(); !s.ok()) {
    Violation(std::string(s.message()));
    return;
  }
  // No lease outlives its holder: a lease its worker does not hold, once
  // the request that granted it has returned, goes away within the lease
  // timeout (twice, for one renewal by a delayed duplicate).
  const absl::Time now = world_.now();
  std::set<std::pair<int64_t, int>> current;
  for (const Lease& lease : search_->Leases()) {
    const std::pair<int64_t, int> key{lease.child, lease.attempt};
    current.insert(key);
    SimWorker* w = WorkerNamed(lease.worker_id);
    bool holds = false;
    if (w != nullptr && w->alive()) {
      for (const auto& held : w->core()->Held()) holds = holds || held == key;
      if (lease.incarnation == 0) {
        holds = holds || w->outstanding() > 0;  // restored: granted by whom?
      } else if (lease.incarnation == w->core()->incarnation()) {
        holds = holds || !w->core()->Settled(lease.grant_sequence);
      }
    }
    if (holds) {
      orphan_since_.erase(key);
      continue;
    }
    auto [it, added] = orphan_since_.emplace(key, now);
    if (now - it->second >
        2 * search_options_.lease_timeout + absl::Seconds(5)) {
      Violation(absl::StrCat("the lease of child ", lease.child, " attempt ",
                             lease.attempt, " on ", lease.worker_id,
                             " outlived its holder"));
    }
  }
  for (auto it = orphan_since_.begin(); it != orphan_since_.end();) {
    it = current.count(it->first) > 0 ? std::next(it) : orphan_since_.erase(it);
  }
  // After Stop nothing runs on.
  if (stopped_ && now - stop_time_ > 2 * search_options_.lease_timeout) {
    if (!current.empty()) Violation("a lease exists long after Stop");
    for (auto& w : workers_) {
      if (w->RunningNotCancelled() > 0) {
        Violation(absl::StrCat(w->id(), " still trains long after Stop"));
      }
    }
  }
}

void Harness::CheckStore(bool at_end) {
  auto store = Store::Open(store_path_);
  if (!store.ok()) {
    Violation(
        absl::StrCat("the store does not open: ", store.status().message()));
    return;
  }
  auto models = (*store)->LoadModels();
  if (!models.ok()) {
    Violation(
        absl::StrCat("the store does not read: ", models.status().message()));
    return;
  }
  std::map<int64_t, const ModelRecord*> by_id;
  std::set<int64_t> completion_seqs;
  std::vector<const ModelRecord*> done;
  for (const ModelRecord& m : *models) {
    by_id[m.id] = &m;
    if (m.failures > search_options_.max_attempts) {
      Violation(absl::StrCat("child ", m.id, " was charged ", m.failures,
                             " failures; max_attempts is ",
                             search_options_.max_attempts));
    }
    if (m.state != ModelState::kDone) continue;
    done.push_back(&m);
    if (!completion_seqs.insert(m.completion_seq).second) {
      Violation(
          absl::StrCat("completion ", m.completion_seq, " is stored twice"));
    }
  }
  // Every acknowledged result survives, with its fitness.
  for (const auto& [child, fitness] : acked_) {
    auto it = by_id.find(child);
    if (it == by_id.end() || it->second->state != ModelState::kDone ||
        it->second->fitness != fitness) {
      Violation(absl::StrCat("the acknowledged result of child ", child,
                             " is not in the store"));
    }
  }
  const int64_t budget = search_options_.engine.budget;
  if (static_cast<int64_t>(done.size()) > budget) {
    Violation(
        absl::StrCat(done.size(), " children completed; budget ", budget));
  }
  report_.completed = static_cast<int64_t>(done.size());
  if (!at_end || stopped_) return;
  if (static_cast<int64_t>(done.size()) != budget) {
    Violation(absl::StrCat("the search ended with ", done.size(), " of ",
                           budget, " children completed"));
  }
  for (const ModelRecord& m : *models) {
    if (m.state == ModelState::kPending || m.state == ModelState::kRunning) {
      Violation(absl::StrCat("child ", m.id, " is still ",
                             ModelStateName(m.state),
                             " after the search finished"));
    }
  }
  // The population: aging (and random search, which keeps an aging
  // population) holds exactly the last P completions; non-aging holds P.
  const size_t p = static_cast<size_t>(search_options_.engine.population_size);
  std::set<int64_t> alive;
  for (const ModelRecord* m : done) {
    if (m->alive) alive.insert(m->completion_seq);
  }
  if (alive.size() != std::min(p, done.size())) {
    Violation(absl::StrCat("the population has ", alive.size(),
                           " members; P is ", p));
  }
  if (search_options_.engine.algorithm != Algorithm::kNonAging) {
    std::set<int64_t> last;
    for (int64_t seq = budget;
         seq > budget - static_cast<int64_t>(p) && seq > 0; --seq) {
      last.insert(seq);
    }
    if (alive != last)
      Violation("the population is not the last P completions");
  }
  // Exactly the members the algorithm keeps, for every algorithm: the
  // shadow engine saw the same children and results in the same order.
  std::vector<int64_t> stored_members;
  std::vector<const ModelRecord*> alive_rows;
  for (const ModelRecord* m : done) {
    if (m->alive) alive_rows.push_back(m);
  }
  std::sort(alive_rows.begin(), alive_rows.end(),
            [](const ModelRecord* a, const ModelRecord* b) {
              return a->completion_seq < b->completion_seq;
            });
  for (const ModelRecord* m : alive_rows) stored_members.push_back(m->id);
  std::vector<int64_t> expected_members;
  for (const Member& m : shadow_->population()) expected_members.push_back(m.id);
  if (stored_members != expected_members) {
    Violation("the population is not the one the algorithm keeps from the same "
              "history");
  }
}

SimulationReport Harness::Run() {
  std::filesystem::remove_all(o_.dir);
  std::filesystem::create_directories(o_.dir);
  OpenController();
  for (auto& w : workers_) {
    SimWorker* worker = w.get();
    world_.After(world_.Between(absl::ZeroDuration(), absl::Seconds(2)),
                 [worker] { worker->Start(); });
  }
  world_.After(absl::Seconds(1), [this] { ChaosTick(); });
  world_.After(search_options_.lease_timeout / 4, [this] { ExpireTick(); });
  world_.After(o_.fault_time, [this] { EndFaults(); });
  const absl::Time deadline = world_.now() + o_.fault_time + o_.settle_time;
  while (violation_.ok() && world_.Step()) {
    CheckStep();
    if (search_ != nullptr && search_->Finished() && !stopped_) break;
    if (stopped_ && !faults_on_ &&
        world_.now() - stop_time_ > 3 * search_options_.lease_timeout) {
      break;
    }
    if (world_.now() > deadline) {
      Violation(absl::StrCat("the search did not finish within ",
                             absl::FormatDuration(o_.settle_time),
                             " of simulated time after the faults ended"));
    }
    if (world_.steps() > kMaxSteps) Violation("too many steps");
  }
  if (search_ != nullptr && violation_.ok()) {
    if (!stopped_ && !search_->Leases().empty()) {
      Violation("leases remain after the search finished");
    }
  }
  search_.reset();
  if (violation_.ok()) CheckStore(/*at_end=*/true);
  report_.status = violation_;
  if (!violation_.ok()) report_.trace = world_.TraceText();
  report_.steps = world_.steps();
  report_.simulated_seconds = world_.seconds();
  report_.stopped = stopped_;
  const NetworkCounts& n = network_.counts();
  report_.dropped = n.dropped_requests + n.dropped_responses;
  report_.duplicated = n.duplicated_requests;
  report_.late = n.late_messages;
  report_.timeouts = n.timeouts;
  report_.partitions = n.partitions;
  workers_.clear();
  std::filesystem::remove_all(o_.dir);
  return report_;
}

}  // namespace

void Accumulate(const SimulationReport& one, SimulationReport* total) {
  total->steps += one.steps;
  total->simulated_seconds += one.simulated_seconds;
  total->completed += one.completed;
  total->dropped += one.dropped;
  total->duplicated += one.duplicated;
  total->late += one.late;
  total->timeouts += one.timeouts;
  total->worker_crashes += one.worker_crashes;
  total->worker_stops += one.worker_stops;
  total->partitions += one.partitions;
  total->controller_crashes += one.controller_crashes;
  total->operator_actions += one.operator_actions;
  total->intruder_reports += one.intruder_reports;
}

SimulationReport RunSimulation(const SimulationOptions& options) {
  Harness harness(options);
  return harness.Run();
}

}  // namespace amoeba::sim
