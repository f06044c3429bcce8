#include "simulation/simulation.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "common/checkpoint_file.h"
#include "controller/controller.h"
#include "controller/search.h"
#include "store/store.h"
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
  // One search of the controller, with what the harness knows of it.
  struct SimSearch {
    std::string name;
    SearchOptions options;
    bool created = false;
    bool paused = false;
    bool stopped = false;
    absl::Time stop_time;
    int64_t highest_child = 0;
    // The shadow engine: the same Engine, fed the calls the controller's
    // must have made (a new child for every new id handed out, a result for
    // every recorded success), so the population and every child are
    // checked against what the algorithm says from the same history.
    std::unique_ptr<Engine> shadow;
    std::map<int64_t, Genotype> shadow_genotypes;
    // Children a worker saw acknowledged as recorded, with their fitness.
    std::map<int64_t, double> acked;
    // Early stopping: every answer given to a hurdle report, by child and
    // epoch (it may never change, restarts included), and the report at
    // which each child was first told to stop (its fitness is what the
    // child must be recorded with).
    std::map<std::pair<int64_t, int>, bool> hurdle_answers;
    std::map<int64_t, HurdleReport> stopped_early;
    // Final training (CreateFinal of the search `final_of` once it is
    // finished; never when that search was stopped or yields no model).
    std::string final_of;
    v1::CreateFinalRequest final_request;
    bool abandoned = false;
    // Long tasks: the newest checkpoint epoch acknowledged to any worker,
    // by child.
    std::map<int64_t, int> checkpoint_acked;
    // The fitness a success of `report` must be recorded with.
    double RecordedFitness(const v1::ResultReport& report) const {
      auto it = stopped_early.find(report.model_id());
      return it != stopped_early.end() ? it->second.fitness : report.fitness();
    }
  };

  void OpenController();
  void CrashController();
  // Creates searches_[index] on the controller (retried while it is down).
  void CreateSearchLater(size_t index, absl::Duration after);
  // Creates the final training searches_[index] once its source search is
  // finished (polled).
  void CreateFinalLater(size_t index, absl::Duration after);
  std::pair<absl::Status, std::string> HandleCheckpoint(
      Rpc rpc, const std::string& bytes);
  // SimulationOptions::slow_upload: opens the upload now, ends it later.
  std::pair<absl::Status, std::string> StartSlowUpload(
      const v1::CheckpointChunk& chunk, bool holder);
  void FinishSlowUpload(uint64_t id);
  // A task handed out must name the newest checkpoint acknowledged for its
  // child (or a newer one): never less.
  void ObserveCheckpointEpoch(SimSearch& search, const v1::Task& task);
  void OnResume(const std::string& worker, const v1::Task& task,
                const v1::CheckpointChunk& checkpoint);
  SimSearch* SimSearchNamed(const std::string& name);
  Search* Live(const SimSearch& search);
  std::pair<absl::Status, std::string> Handle(Rpc rpc,
                                              const std::string& bytes);
  std::pair<absl::Status, std::string> HandleResult(const std::string& bytes);
  void OnAck(const v1::ResultReport& report, const v1::ResultAck& ack);
  // A progress report answered by the controller: its early-stopping answer
  // is checked against every earlier one.
  void ObserveProgress(const v1::ProgressReport& report,
                       const Search::ProgressAnswer& answer);
  void OnTake(const std::string& worker, const v1::Task& task);
  // The shadow engine: the same Engine, fed the calls the controller's must
  // have made (a new child for every new id handed out, a result for every
  // recorded success), so the population and every child are checked
  // against what the algorithm says from the same history.
  void ObserveTask(SimSearch& search, const v1::Task& task);
  void ObserveSuccess(SimSearch& search, const v1::ResultReport& report);
  void ChaosTick();
  void ExpireTick();
  void EndFaults();
  void Intrude();
  void RestartLater(SimWorker* worker);
  void CheckStep();
  void CheckStore(bool at_end);
  void CheckSearchRows(SimSearch& search, const std::vector<ModelRecord>& models,
                       bool at_end);
  SimWorker* WorkerNamed(const std::string& id);
  std::optional<Lease> LeaseOf(const std::string& search, int64_t child);
  bool AllDone();

  const SimulationOptions o_;
  World world_;
  Network network_;
  ControllerDefaults defaults_;
  std::string store_path_;
  std::unique_ptr<Controller> controller_;
  std::vector<SimSearch> searches_;
  std::vector<std::unique_ptr<SimWorker>> workers_;
  bool faults_on_ = true;
  bool intruder_registered_ = false;
  std::map<std::tuple<std::string, int64_t, int>, absl::Time> orphan_since_;
  absl::Status violation_;
  SimulationReport report_;
  // Uploads whose stream has not ended (slow_upload), by id. Declared after
  // controller_: they hold its checkpoint store and go first.
  struct OpenUpload {
    v1::CheckpointHeader header;
    std::unique_ptr<CheckpointStore::Upload> upload;  // null: newer kept
  };
  std::map<uint64_t, OpenUpload> open_uploads_;
  uint64_t next_upload_ = 0;
};

Harness::Harness(const SimulationOptions& options)
    : o_(options), world_(options.seed), network_(&world_, absl::Seconds(3)) {
  defaults_.lease_timeout = absl::Seconds(20);
  defaults_.heartbeat_interval = absl::Seconds(5);
  defaults_.max_attempts = 2 + static_cast<int>(world_.Uniform(2));
  defaults_.retry_after = absl::Seconds(1);
  // The searches' number and shapes come from the seed too.
  const int searches =
      o_.searches > 0 ? o_.searches : 1 + static_cast<int>(world_.Uniform(3));
  for (int i = 0; i < searches; ++i) {
    SimSearch search;
    search.name = absl::StrCat("search-", i);
    SearchOptions& so = search.options;
    EngineConfig& e = so.engine;
    const Algorithm algorithms[] = {Algorithm::kAging, Algorithm::kNonAging,
                                    Algorithm::kRandom, Algorithm::kReinforce};
    e.algorithm = algorithms[world_.Uniform(4)];
    e.population_size = 3 + static_cast<int>(world_.Uniform(4));
    e.sample_size = 2;
    e.budget = e.population_size + 4 + static_cast<int64_t>(world_.Uniform(10));
    e.seed = options.seed * 7 + static_cast<uint64_t>(i);
    so.settings = DefaultTrainingSettings();
    so.settings.set_batch_size(16 + i);
    so.lease_timeout = defaults_.lease_timeout;
    so.heartbeat_interval = defaults_.heartbeat_interval;
    so.max_attempts = defaults_.max_attempts;
    so.retry_after = defaults_.retry_after;
    so.weight = 1 + static_cast<double>(world_.Uniform(3));
    // One search in three stops children early (hurdles or median, with or
    // without a window, at epochs 1 and 2 of 3).
    if (world_.Uniform(3) == 0) {
      so.settings.set_epochs(3);
      so.early_stopping.rule = world_.Uniform(2) == 0 ? StoppingRule::kHurdles
                                                      : StoppingRule::kMedian;
      so.early_stopping.epochs = {1, 2};
      so.early_stopping.children = 2;
      // Half the median searches count only the last 3 children.
      if (so.early_stopping.rule == StoppingRule::kMedian &&
          world_.Uniform(2) == 0) {
        so.early_stopping.window = 3;
      }
    }
    // Long children (checkpointed every epoch) in a quarter of the others.
    if (so.early_stopping.rule == StoppingRule::kNone &&
        world_.Uniform(4) == 0) {
      so.settings.set_epochs(3);
      so.settings.set_checkpoint_every(1);
    }
    search.shadow = std::make_unique<Engine>(so.engine);
    searches_.push_back(std::move(search));
  }
  // Half the schedules finalize the first search's best models: long
  // tasks with checkpoints, resumed by the next holder.
  if (world_.Uniform(2) == 0) {
    SimSearch final_search;
    final_search.name = "search-0-final";
    final_search.final_of = searches_[0].name;
    v1::CreateFinalRequest& r = final_search.final_request;
    r.set_search_id(final_search.name);
    r.add_source_search_ids(final_search.final_of);
    r.set_top_k(1 + static_cast<int>(world_.Uniform(3)));
    r.set_seeds(1 + static_cast<int>(world_.Uniform(2)));
    r.mutable_settings()->set_epochs(4 + static_cast<int>(world_.Uniform(5)));
    r.mutable_settings()->set_checkpoint_every(
        1 + static_cast<int>(world_.Uniform(2)));
    r.mutable_settings()->set_batch_size(99);
    r.set_weight(1 + static_cast<double>(world_.Uniform(3)));
    searches_.push_back(std::move(final_search));
  }
  store_path_ = o_.dir + "/search.db";

  WorkerBehaviour behaviour;
  behaviour.spool_write_fails = o_.spool_write_fails;
  WorkerObserver observer;
  observer.on_ack = [this](const v1::ResultReport& r, const v1::ResultAck& a) {
    OnAck(r, a);
  };
  observer.on_take = [this](const std::string& worker, const v1::Task& task) {
    OnTake(worker, task);
  };
  observer.on_checkpoint_ack = [this](const v1::Task& task, int epoch) {
    SimSearch* sim = SimSearchNamed(task.search_id());
    if (sim == nullptr) return;
    int& acked = sim->checkpoint_acked[task.model_id()];
    acked = std::max(acked, epoch);
    ++report_.checkpoints;
  };
  observer.on_resume = [this](const std::string& worker, const v1::Task& task,
                              const v1::CheckpointChunk& checkpoint) {
    OnResume(worker, task, checkpoint);
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
  auto checkpoints = CheckpointStore::Open({o_.dir + "/checkpoints", 1 << 20});
  if (!checkpoints.ok()) {
    Violation(absl::StrCat("the checkpoint folder does not open: ",
                           checkpoints.status().message()));
    return;
  }
  auto controller = Controller::Open(*std::move(store), defaults_,
                                     &world_.clock(), *std::move(checkpoints));
  if (!controller.ok()) {
    Violation(absl::StrCat("the controller does not reopen: ",
                           controller.status().message()));
    return;
  }
  controller_ = *std::move(controller);
  intruder_registered_ = false;
  if (controller_->Searches().size() !=
      static_cast<size_t>(std::count_if(
          searches_.begin(), searches_.end(),
          [](const SimSearch& s) { return s.created; }))) {
    Violation("the reopened controller does not have every created search");
  }
  for (SimSearch& sim : searches_) {
    if (!sim.created) continue;
    Search* search = Live(sim);
    if (search == nullptr) {
      Violation(absl::StrCat("search ", sim.name, " is gone after a restart"));
      continue;
    }
    // The reopened engine continues exactly where the shadow is: same
    // counters, same random state, same members with the same genotypes.
    const EngineState restored = search->EngineSnapshot();
    const EngineState expected = sim.shadow->state();
    bool same_members =
        restored.population.size() == expected.population.size();
    for (size_t i = 0; same_members && i < restored.population.size(); ++i) {
      same_members =
          restored.population[i].id == expected.population[i].id &&
          restored.population[i].fitness == expected.population[i].fitness &&
          restored.population[i].genotype == expected.population[i].genotype;
    }
    if (restored.rng != expected.rng || restored.next_id != expected.next_id ||
        restored.completed != expected.completed || !same_members ||
        restored.algorithm_state != expected.algorithm_state) {
      Violation(absl::StrCat(
          "the reopened engine of ", sim.name, " differs from the one before (",
          restored.completed, " vs ", expected.completed, " completed, next id ",
          restored.next_id, " vs ", expected.next_id, ", random state ",
          restored.rng == expected.rng ? "same" : "different", ", members ",
          same_members ? "same" : "different", ", algorithm state ",
          restored.algorithm_state == expected.algorithm_state ? "same"
                                                               : "different",
          ")"));
    }
  }
  // A reopened controller restores running children's leases with a fresh
  // timeout: the orphan clocks start again.
  orphan_since_.clear();
  network_.set_controller_up(true);
  world_.Trace("controller up");
}

void Harness::CreateSearchLater(size_t index, absl::Duration after) {
  world_.After(after, [this, index] {
    SimSearch& sim = searches_[index];
    if (sim.created) return;
    if (controller_ == nullptr) {
      CreateSearchLater(index, absl::Seconds(1));
      return;
    }
    auto search = controller_->CreateSearch(
        sim.name, SearchConfigFromOptions(sim.options));
    if (!search.ok()) {
      Violation(absl::StrCat("search ", sim.name, " cannot be created: ",
                             search.status().message()));
      return;
    }
    sim.created = true;
    world_.Trace("operator: created ", sim.name);
  });
}

void Harness::CreateFinalLater(size_t index, absl::Duration after) {
  world_.After(after, [this, index] {
    SimSearch& sim = searches_[index];
    if (sim.created || sim.abandoned) return;
    SimSearch* source = SimSearchNamed(sim.final_of);
    if (source->stopped) {
      sim.abandoned = true;  // a stopped search is never finished
      world_.Trace("operator: no final training of stopped ", source->name);
      return;
    }
    Search* live = Live(*source);
    if (live == nullptr || !live->Finished()) {
      CreateFinalLater(index, absl::Seconds(5));
      return;
    }
    auto search = controller_->CreateFinal(sim.final_request);
    if (!search.ok()) {
      if (absl::IsInvalidArgument(search.status()) &&
          absl::StrContains(search.status().message(),
                            "no model that trained every epoch")) {
        sim.abandoned = true;
        return;
      }
      Violation(absl::StrCat("final training ", sim.name,
                             " cannot be created: ",
                             search.status().message()));
      return;
    }
    sim.created = true;
    sim.options = (*search)->options();
    sim.shadow = std::make_unique<Engine>(sim.options.engine);
    report_.final_jobs += sim.options.engine.budget;
    world_.Trace("operator: created ", sim.name, " (",
                 sim.options.engine.budget, " jobs of ",
                 sim.options.settings.epochs(), " epochs, checkpoint every ",
                 sim.options.settings.checkpoint_every(), ")");
  });
}

void Harness::ObserveCheckpointEpoch(SimSearch& sim, const v1::Task& task) {
  if (task.settings().checkpoint_every() <= 0) return;
  auto it = sim.checkpoint_acked.find(task.model_id());
  if (it != sim.checkpoint_acked.end() &&
      task.checkpoint_epoch() < it->second) {
    Violation(absl::StrCat(sim.name, " child ", task.model_id(), " attempt ",
                           task.attempt(), " was handed out with checkpoint ",
                           task.checkpoint_epoch(),
                           " although epoch ", it->second,
                           " was acknowledged: work went back more than the "
                           "checkpoint interval"));
  }
}

void Harness::OnResume(const std::string& worker, const v1::Task& task,
                       const v1::CheckpointChunk& checkpoint) {
  ++report_.resumes;
  const int epoch = checkpoint.header().epoch();
  if (checkpoint.data() != SimulatedCheckpoint(task, epoch)) {
    Violation(absl::StrCat(worker, " resumed ", task.search_id(), " child ",
                           task.model_id(), " from a checkpoint of another "
                           "job or epoch: '", checkpoint.data(), "'"));
  }
  if (epoch < task.checkpoint_epoch() ||
      epoch >= task.settings().epochs()) {
    Violation(absl::StrCat(worker, " resumed ", task.search_id(), " child ",
                           task.model_id(), " at epoch ", epoch,
                           "; the task promised ", task.checkpoint_epoch()));
  }
}

std::pair<absl::Status, std::string> Harness::HandleCheckpoint(
    Rpc rpc, const std::string& bytes) {
  if (rpc == Rpc::kDownloadCheckpoint) {
    v1::CheckpointRequest request;
    request.ParseFromString(bytes);
    auto checkpoint = controller_->GetCheckpoint(request);
    if (!checkpoint.ok()) return {checkpoint.status(), ""};
    v1::CheckpointChunk chunk;
    chunk.mutable_header()->set_epoch(checkpoint->epoch);
    chunk.set_data(checkpoint->payload);
    return {absl::OkStatus(), chunk.SerializeAsString()};
  }
  v1::CheckpointChunk chunk;
  chunk.ParseFromString(bytes);
  const v1::CheckpointHeader& h = chunk.header();
  const std::optional<Lease> lease = LeaseOf(h.search_id(), h.model_id());
  const bool holder = lease.has_value() && lease->worker_id == h.worker_id() &&
                      lease->attempt == h.attempt();
  if (faults_on_ && world_.Chance(o_.slow_upload)) {
    return StartSlowUpload(chunk, holder);
  }
  auto kept = controller_->PutCheckpoint(h, chunk.data());
  world_.Trace("controller: checkpoint of ", h.search_id(), " child ",
               h.model_id(), " attempt ", h.attempt(), " epoch ", h.epoch(),
               " from ", h.worker_id(), ": ",
               kept.ok() ? absl::StrCat("keeps ", *kept)
                         : kept.status().ToString());
  if (kept.ok() && !holder) {
    Violation(absl::StrCat("a checkpoint of ", h.search_id(), " child ",
                           h.model_id(), " from ", h.worker_id(),
                           ", which does not hold it, was kept"));
  }
  if (!kept.ok()) return {kept.status(), ""};
  v1::CheckpointAck ack;
  ack.set_epoch(*kept);
  return {absl::OkStatus(), ack.SerializeAsString()};
}

std::pair<absl::Status, std::string> Harness::StartSlowUpload(
    const v1::CheckpointChunk& chunk, bool holder) {
  const v1::CheckpointHeader& h = chunk.header();
  auto upload = controller_->BeginCheckpoint(h);
  world_.Trace("controller: slow checkpoint upload of ", h.search_id(),
               " child ", h.model_id(), " attempt ", h.attempt(), " epoch ",
               h.epoch(), " from ", h.worker_id(), " opened: ",
               upload.ok() ? "ok" : upload.status().ToString());
  if (!upload.ok()) return {upload.status(), ""};
  if (!holder) {
    Violation(absl::StrCat("an upload of ", h.search_id(), " child ",
                           h.model_id(), " from ", h.worker_id(),
                           ", which does not hold it, was opened"));
  }
  if (*upload != nullptr) {
    if (absl::Status s = (*upload)->Append(chunk.data()); !s.ok()) {
      return {s, ""};
    }
  }
  const uint64_t id = next_upload_++;
  open_uploads_.emplace(id, OpenUpload{h, *std::move(upload)});
  ++report_.slow_uploads;
  world_.After(world_.Between(absl::Seconds(1), absl::Seconds(60)),
               [this, id] { FinishSlowUpload(id); });
  // The worker stops waiting before the stream ends.
  return {absl::DeadlineExceededError("the upload is still streaming"), ""};
}

void Harness::FinishSlowUpload(uint64_t id) {
  auto it = open_uploads_.find(id);
  if (it == open_uploads_.end()) return;  // the controller crashed meanwhile
  OpenUpload open = std::move(it->second);
  open_uploads_.erase(it);
  const v1::CheckpointHeader& h = open.header;
  auto kept = controller_->CommitCheckpoint(h, std::move(open.upload));
  world_.Trace("controller: slow checkpoint upload of ", h.search_id(),
               " child ", h.model_id(), " attempt ", h.attempt(), " ended: ",
               kept.ok() ? absl::StrCat("keeps ", *kept)
                         : kept.status().ToString());
  SimSearch* sim = SimSearchNamed(h.search_id());
  Search* search = sim != nullptr ? Live(*sim) : nullptr;
  if (search == nullptr || search->IsUnfinished(h.model_id())) return;
  if (kept.ok()) {
    Violation(absl::StrCat("a checkpoint of finished ", h.search_id(),
                           " child ", h.model_id(), " was acknowledged"));
  }
  // A done child keeps no checkpoint (one failed for good may until the
  // controller's next start).
  auto model = search->GetModel(h.model_id());
  if (model.ok() && model->model().state() == v1::MODEL_DONE &&
      std::filesystem::exists(absl::StrCat(o_.dir, "/checkpoints/",
                                           h.search_id(), "/", h.model_id(),
                                           ".ckpt"))) {
    Violation(absl::StrCat("a checkpoint of finished ", h.search_id(),
                           " child ", h.model_id(),
                           " is kept after an upload ended late"));
  }
}

Harness::SimSearch* Harness::SimSearchNamed(const std::string& name) {
  for (SimSearch& s : searches_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Search* Harness::Live(const SimSearch& sim) {
  if (controller_ == nullptr || !sim.created) return nullptr;
  auto search = controller_->Find(sim.name);
  return search.ok() ? *search : nullptr;
}

bool Harness::AllDone() {
  if (controller_ == nullptr) return false;
  for (SimSearch& sim : searches_) {
    if (!sim.final_of.empty() && sim.abandoned) continue;
    Search* search = Live(sim);
    if (search == nullptr) return false;
    if (sim.stopped) {
      if (faults_on_ ||
          world_.now() - sim.stop_time <= 3 * defaults_.lease_timeout) {
        return false;
      }
    } else if (!search->Finished()) {
      return false;
    }
  }
  return true;
}

void Harness::CrashController() {
  if (controller_ == nullptr) return;
  world_.Trace("controller crashes");
  ++report_.controller_crashes;
  open_uploads_.clear();  // their streams die with the process
  controller_.reset();
  network_.set_controller_up(false);
  CheckStore(/*at_end=*/false);
  world_.After(world_.Between(absl::Seconds(1), absl::Seconds(30)), [this] {
    if (controller_ == nullptr) OpenController();
  });
}

std::optional<Lease> Harness::LeaseOf(const std::string& search_id,
                                      int64_t child) {
  SimSearch* sim = SimSearchNamed(search_id);
  Search* search = sim != nullptr ? Live(*sim) : nullptr;
  if (search == nullptr) return std::nullopt;
  for (const Lease& lease : search->Leases()) {
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
      absl::Status s = controller_->Register(request);
      v1::RegisterResponse response;
      return {s, response.SerializeAsString()};
    }
    case Rpc::kGetTask: {
      v1::GetTaskRequest request;
      request.ParseFromString(bytes);
      auto response = controller_->GetTask(request);
      if (!response.ok()) return {response.status(), ""};
      if (response->has_task()) {
        SimSearch* sim = SimSearchNamed(response->task().search_id());
        if (sim == nullptr) {
          Violation("a task names no search of the controller");
          return {absl::OkStatus(), response->SerializeAsString()};
        }
        ObserveTask(*sim, response->task());
        ObserveCheckpointEpoch(*sim, response->task());
        world_.Trace("controller: ", response->task().search_id(), " child ",
                     response->task().model_id(),
                     " attempt ", response->task().attempt(), " -> ",
                     request.worker_id(), " (request ",
                     request.view().sequence(), ")");
      }
      return {absl::OkStatus(), response->SerializeAsString()};
    }
    case Rpc::kProgress: {
      v1::ProgressReport request;
      request.ParseFromString(bytes);
      auto answer = controller_->ReportProgress(request);
      if (!answer.ok()) return {answer.status(), ""};
      ObserveProgress(request, *answer);
      v1::ProgressAck ack;
      ack.set_cancel(answer->cancel);
      ack.set_stop(answer->stop);
      return {absl::OkStatus(), ack.SerializeAsString()};
    }
    case Rpc::kResult:
      return HandleResult(bytes);
    case Rpc::kUploadCheckpoint:
    case Rpc::kDownloadCheckpoint:
      return HandleCheckpoint(rpc, bytes);
    case Rpc::kHeartbeat: {
      v1::HeartbeatRequest request;
      request.ParseFromString(bytes);
      auto response = controller_->Heartbeat(request);
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
  const std::optional<Lease> before =
      LeaseOf(report.search_id(), report.model_id());
  v1::ResultAck ack;
  auto recorded = controller_->ReportResult(
      report, report.next_task() ? ack.mutable_next() : nullptr);
  if (!report.ok() && before.has_value() &&
      before->worker_id != report.worker_id()) {
    const std::optional<Lease> after =
        LeaseOf(report.search_id(), report.model_id());
    if (!after.has_value() || after->worker_id != before->worker_id ||
        after->attempt != before->attempt) {
      Violation(absl::StrCat("a failure of child ", report.model_id(),
                             " attempt ", report.attempt(), " from ",
                             report.worker_id(), " disturbed attempt ",
                             before->attempt, " on ", before->worker_id));
    }
  }
  SimSearch* owner = SimSearchNamed(report.search_id());
  if (recorded.ok() && *recorded && report.ok()) {
    if (owner == nullptr) {
      Violation("a result of no search was recorded");
    } else {
      ObserveSuccess(*owner, report);
    }
  }
  if (recorded.ok() && ack.next().has_task()) {
    SimSearch* next = SimSearchNamed(ack.next().task().search_id());
    if (next == nullptr) {
      Violation("a task names no search of the controller");
    } else {
      ObserveTask(*next, ack.next().task());
      ObserveCheckpointEpoch(*next, ack.next().task());
    }
    world_.Trace("controller: ", ack.next().task().search_id(), " child ",
                 ack.next().task().model_id(),
                 " attempt ", ack.next().task().attempt(), " -> ",
                 report.worker_id(), " (in an ack)");
  }
  world_.Trace("controller: result of ", report.search_id(), " child ",
               report.model_id(), " attempt ",
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
  SimSearch* sim = SimSearchNamed(report.search_id());
  if (sim == nullptr) {
    Violation("a result of no search was acknowledged as recorded");
    return;
  }
  if (sim->acked.count(report.model_id()) > 0) {
    Violation(absl::StrCat(sim->name, " child ", report.model_id(),
                           " was acknowledged as recorded twice"));
  }
  sim->acked[report.model_id()] = sim->RecordedFitness(report);
}

void Harness::ObserveTask(SimSearch& sim, const v1::Task& task) {
  if (task.model_id() <= sim.highest_child) return;  // handed out before
  if (task.model_id() != sim.highest_child + 1) {
    Violation(absl::StrCat(sim.name, " child ", task.model_id(),
                           " handed out after child ", sim.highest_child,
                           ": ids skipped"));
    return;
  }
  sim.highest_child = task.model_id();
  if (task.settings().batch_size() != sim.options.settings.batch_size()) {
    Violation(absl::StrCat(sim.name, " child ", task.model_id(),
                           " carries another search's settings"));
  }
  NewChild expected = sim.shadow->CreateChild();
  if (expected.id != task.model_id() ||
      CanonicalText(expected.genotype) != task.genotype_text()) {
    Violation(absl::StrCat("child ", task.model_id(),
                           " is not the child the algorithm makes from the same "
                           "history (expected id ", expected.id, ")"));
  }
  sim.shadow_genotypes[expected.id] = std::move(expected.genotype);
}

void Harness::ObserveSuccess(SimSearch& sim, const v1::ResultReport& report) {
  auto it = sim.shadow_genotypes.find(report.model_id());
  if (it == sim.shadow_genotypes.end()) {
    Violation(absl::StrCat("a result for child ", report.model_id(),
                           ", which was never handed out, was recorded"));
    return;
  }
  // A child told to stop is recorded with its fitness at the hurdle, even
  // when its worker never heard the stop and reports its final fitness.
  sim.shadow->AddResult(report.model_id(), it->second,
                        sim.RecordedFitness(report));
}

void Harness::ObserveProgress(const v1::ProgressReport& report,
                              const Search::ProgressAnswer& answer) {
  SimSearch* sim = SimSearchNamed(report.search_id());
  if (sim == nullptr || answer.cancel) return;
  const EarlyStoppingOptions& rule = sim->options.early_stopping;
  const bool hurdle =
      std::find(rule.epochs.begin(), rule.epochs.end(), report.epoch()) !=
      rule.epochs.end();
  if (answer.stop && (!hurdle || report.validation_accuracy() < 0)) {
    Violation(absl::StrCat(sim->name, " child ", report.model_id(),
                           " told to stop at epoch ", report.epoch(),
                           ", which is no hurdle with a fitness"));
    return;
  }
  if (!hurdle || report.validation_accuracy() < 0) return;
  world_.Trace("controller: ", sim->name, " child ", report.model_id(),
               " attempt ", report.attempt(), " at epoch ", report.epoch(),
               " fitness ", report.validation_accuracy(),
               answer.stop ? ": stop" : ": continue");
  const auto key = std::make_pair(report.model_id(), report.epoch());
  auto [it, first] = sim->hurdle_answers.emplace(key, answer.stop);
  // A child stopped at an earlier epoch is told to stop at every later one.
  auto stop = sim->stopped_early.find(report.model_id());
  const bool stopped_before =
      stop != sim->stopped_early.end() && stop->second.epoch < report.epoch();
  if ((!first && it->second != answer.stop) ||
      (stopped_before && !answer.stop)) {
    Violation(absl::StrCat(sim->name, " child ", report.model_id(),
                           " got another early-stopping answer at epoch ",
                           report.epoch(), " than before"));
    return;
  }
  if (answer.stop && stop == sim->stopped_early.end()) {
    sim->stopped_early[report.model_id()] = {report.model_id(), report.epoch(),
                                       report.validation_accuracy(), true};
  }
}

// A task a worker accepts from an answer is still its lease: nothing may
// release a lease while its answer is on the way (the grant is not settled
// until the task is held), unless the child finished meanwhile or an
// operator stopped the search.
void Harness::OnTake(const std::string& worker, const v1::Task& task) {
  SimSearch* sim = SimSearchNamed(task.search_id());
  Search* search = sim != nullptr ? Live(*sim) : nullptr;
  if (search == nullptr || sim->stopped) return;
  const std::optional<Lease> lease = LeaseOf(task.search_id(), task.model_id());
  if (lease.has_value() && lease->worker_id == worker &&
      lease->attempt == task.attempt()) {
    return;
  }
  auto model = search->GetModel(task.model_id());
  if (model.ok() && (model->model().state() == v1::MODEL_DONE ||
                     model->model().state() == v1::MODEL_FAILED)) {
    return;
  }
  Violation(absl::StrCat(worker, " took ", task.search_id(), " child ",
                         task.model_id(), " attempt ",
                         task.attempt(), " whose lease was already released"));
}

void Harness::Intrude() {
  SimSearch& sim = searches_[world_.Uniform(searches_.size())];
  if (Live(sim) == nullptr || sim.highest_child == 0) return;
  ++report_.intruder_reports;
  if (!intruder_registered_) {
    v1::RegisterRequest request;
    request.set_worker_id(kIntruder);
    if (!controller_->Register(request).ok())
      Violation("the intruder cannot register");
    intruder_registered_ = true;
  }
  v1::ResultReport report;
  report.set_worker_id(kIntruder);
  report.set_search_id(sim.name);
  report.set_model_id(1 +
                      static_cast<int64_t>(world_.Uniform(sim.highest_child)));
  report.set_attempt(1 + static_cast<int>(world_.Uniform(3)));
  report.set_ok(world_.Chance(0.5));
  report.set_fitness(0.999);
  report.set_diverged(!report.ok() && world_.Chance(0.5));
  const std::optional<Lease> before = LeaseOf(sim.name, report.model_id());
  auto recorded = controller_->ReportResult(report);
  world_.Trace("intruder reports ", sim.name, " child ", report.model_id(),
               " attempt ",
               report.attempt(), ": ",
               recorded.ok() ? (*recorded ? "recorded" : "not recorded")
                             : recorded.status().ToString());
  if (recorded.ok() && *recorded) {
    Violation(absl::StrCat("a result for child ", report.model_id(),
                           " from a worker that never held it was recorded"));
  }
  if (sim.options.settings.checkpoint_every() > 0) {
    // A checkpoint from a worker that holds nothing is refused too.
    v1::CheckpointHeader header;
    header.set_worker_id(kIntruder);
    header.set_search_id(sim.name);
    header.set_model_id(report.model_id());
    header.set_attempt(report.attempt());
    header.set_epoch(1);
    header.set_size(6);
    header.set_crc32(Crc32("forged"));
    if (controller_->PutCheckpoint(header, "forged").ok()) {
      Violation(absl::StrCat("the intruder's checkpoint of child ",
                             report.model_id(), " was kept"));
    }
  }
  const std::optional<Lease> after = LeaseOf(sim.name, report.model_id());
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
  if (controller_ != nullptr) {
    SimSearch& sim = searches_[world_.Uniform(searches_.size())];
    Search* search = Live(sim);
    if (world_.Chance(o_.controller_crash)) {
      CrashController();
    } else if (search != nullptr && world_.Chance(o_.pause)) {
      ++report_.operator_actions;
      auto state = sim.paused ? search->Resume() : search->Pause();
      world_.Trace("operator: ", sim.paused ? "resume " : "pause ", sim.name,
                   " -> ", state.ok() ? *state : state.status().ToString());
      if (state.ok()) sim.paused = !sim.paused;
    } else if (search != nullptr && !sim.stopped && world_.Chance(o_.stop)) {
      ++report_.operator_actions;
      auto state = search->Stop();
      world_.Trace("operator: stop ", sim.name, " -> ",
                   state.ok() ? *state : state.status().ToString());
      if (state.ok() && *state == "stopped") {
        sim.stopped = true;
        sim.stop_time = world_.now();
      }
    } else if (world_.Chance(o_.intruder)) {
      Intrude();
    }
  }
  world_.After(absl::Seconds(1), [this] { ChaosTick(); });
}

void Harness::ExpireTick() {
  if (controller_ != nullptr) controller_->ExpireLeases();
  world_.After(defaults_.lease_timeout / 4, [this] { ExpireTick(); });
}

void Harness::EndFaults() {
  faults_on_ = false;
  network_.set_faults(NetworkFaults{});
  for (auto& w : workers_) network_.Partition(w->id(), absl::ZeroDuration());
  world_.Trace("faults end");
  if (controller_ == nullptr) OpenController();
  for (SimSearch& sim : searches_) {
    Search* search = Live(sim);
    if (sim.paused && search != nullptr && search->Resume().ok()) {
      sim.paused = false;
    }
  }
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
    for (const std::string& child : w->ChildrenInTwoSlots()) {
      Violation(absl::StrCat(child, " runs in two slots of ", w->id()));
    }
  }
  if (controller_ == nullptr) return;
  const absl::Time now = world_.now();
  std::set<std::tuple<std::string, int64_t, int>> current;
  for (SimSearch& sim : searches_) {
    Search* search = Live(sim);
    if (search == nullptr) continue;
    if (absl::Status s = search->CheckInvariants(); !s.ok()) {
      Violation(absl::StrCat(sim.name, ": ", s.message()));
      return;
    }
    // No lease outlives its holder: a lease its worker does not hold, once
    // the request that granted it has returned, goes away within the lease
    // timeout (twice, for one renewal by a delayed duplicate).
    int leased = 0;
    for (const Lease& lease : search->Leases()) {
      ++leased;
      const std::tuple<std::string, int64_t, int> key{sim.name, lease.child,
                                                      lease.attempt};
      current.insert(key);
      SimWorker* w = WorkerNamed(lease.worker_id);
      bool holds = false;
      if (w != nullptr && w->alive()) {
        for (const TaskKey& held : w->core()->Held()) {
          holds = holds || (held.search_id == sim.name &&
                            held.child == lease.child &&
                            held.attempt == lease.attempt);
        }
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
          2 * sim.options.lease_timeout + absl::Seconds(5)) {
        Violation(absl::StrCat("the lease of ", sim.name, " child ",
                               lease.child, " attempt ", lease.attempt, " on ",
                               lease.worker_id, " outlived its holder"));
      }
    }
    // After Stop nothing of that search runs on.
    if (sim.stopped && now - sim.stop_time > 2 * sim.options.lease_timeout) {
      if (leased > 0) {
        Violation(absl::StrCat("a lease of ", sim.name, " exists long after "
                               "Stop"));
      }
      for (auto& w : workers_) {
        if (w->RunningNotCancelled(sim.name) > 0) {
          Violation(absl::StrCat(w->id(), " still trains ", sim.name,
                                 " long after Stop"));
        }
      }
    }
  }
  for (auto it = orphan_since_.begin(); it != orphan_since_.end();) {
    it = current.count(it->first) > 0 ? std::next(it) : orphan_since_.erase(it);
  }
}

void Harness::CheckStore(bool at_end) {
  auto store = Store::Open(store_path_);
  if (!store.ok()) {
    Violation(
        absl::StrCat("the store does not open: ", store.status().message()));
    return;
  }
  if (at_end) {
    auto problems = (*store)->Check();
    if (!problems.ok() || !problems->empty()) {
      Violation(absl::StrCat("the store check finds problems: ",
                             problems.ok() ? (*problems)[0]
                                           : problems.status().ToString()));
    }
  }
  report_.completed = 0;
  for (SimSearch& sim : searches_) {
    if (!sim.created) continue;
    auto stored = (*store)->FindSearch(sim.name);
    if (!stored.ok()) {
      Violation(absl::StrCat("search ", sim.name, " is not in the store"));
      continue;
    }
    auto models = (*store)->OpenSearch(*stored)->LoadModels();
    if (!models.ok()) {
      Violation(absl::StrCat("the store does not read: ",
                             models.status().message()));
      return;
    }
    CheckSearchRows(sim, *models, at_end);
  }
}

void Harness::CheckSearchRows(SimSearch& sim,
                              const std::vector<ModelRecord>& models,
                              bool at_end) {
  std::map<int64_t, const ModelRecord*> by_id;
  std::set<int64_t> completion_seqs;
  std::vector<const ModelRecord*> done;
  for (const ModelRecord& m : models) {
    by_id[m.id] = &m;
    if (m.failures > sim.options.max_attempts) {
      Violation(absl::StrCat(sim.name, " child ", m.id, " was charged ",
                             m.failures,
                             " failures; max_attempts is ",
                             sim.options.max_attempts));
    }
    if (m.state != ModelState::kDone) continue;
    done.push_back(&m);
    if (!completion_seqs.insert(m.completion_seq).second) {
      Violation(
          absl::StrCat("completion ", m.completion_seq, " is stored twice"));
    }
  }
  // Every acknowledged result survives, with its fitness.
  for (const auto& [child, fitness] : sim.acked) {
    auto it = by_id.find(child);
    if (it == by_id.end() || it->second->state != ModelState::kDone ||
        it->second->fitness != fitness) {
      Violation(absl::StrCat("the acknowledged result of ", sim.name,
                             " child ", child,
                             " is not in the store"));
    }
  }
  const int64_t budget = sim.options.engine.budget;
  const bool final = sim.options.engine.algorithm == Algorithm::kFinal;
  if (static_cast<int64_t>(done.size()) > budget) {
    Violation(
        absl::StrCat(done.size(), " children completed; budget ", budget));
  }
  report_.completed += static_cast<int64_t>(done.size());
  if (!at_end || sim.stopped) return;
  if (final) {
    // Every final job finishes exactly once, done or failed, and leaves no
    // checkpoint behind once done.
    const int64_t ended = static_cast<int64_t>(std::count_if(
        models.begin(), models.end(), [](const ModelRecord& m) {
          return m.state == ModelState::kDone || m.state == ModelState::kFailed;
        }));
    if (ended != budget || static_cast<int64_t>(models.size()) != budget) {
      Violation(absl::StrCat("the final training ended with ", ended, " of ",
                             budget, " jobs finished (", models.size(),
                             " created)"));
    }
    for (const ModelRecord* m : done) {
      if (std::filesystem::exists(absl::StrCat(o_.dir, "/checkpoints/",
                                               sim.name, "/", m->id, ".ckpt"))) {
        Violation(absl::StrCat("the checkpoint of finished ", sim.name,
                               " child ", m->id, " was left behind"));
      }
    }
  } else if (static_cast<int64_t>(done.size()) != budget) {
    Violation(absl::StrCat("the search ended with ", done.size(), " of ",
                           budget, " children completed"));
  }
  for (const ModelRecord& m : models) {
    if (m.state == ModelState::kPending || m.state == ModelState::kRunning) {
      Violation(absl::StrCat("child ", m.id, " is still ",
                             ModelStateName(m.state),
                             " after the search finished"));
    }
  }
  // The population: aging (and random search, which keeps an aging
  // population) holds exactly the last P completions; non-aging holds P.
  const size_t p = static_cast<size_t>(sim.options.engine.population_size);
  std::set<int64_t> alive;
  for (const ModelRecord* m : done) {
    if (m->alive) alive.insert(m->completion_seq);
  }
  if (alive.size() != std::min(p, done.size())) {
    Violation(absl::StrCat("the population has ", alive.size(),
                           " members; P is ", p));
  }
  if (sim.options.engine.algorithm != Algorithm::kNonAging && !final) {
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
  for (const Member& m : sim.shadow->population()) {
    expected_members.push_back(m.id);
  }
  if (stored_members != expected_members) {
    Violation("the population is not the one the algorithm keeps from the same "
              "history");
  }
}

SimulationReport Harness::Run() {
  std::filesystem::remove_all(o_.dir);
  std::filesystem::create_directories(o_.dir);
  OpenController();
  // The first search exists from the start; the others are created while
  // the workers already run (and the controller may crash around it).
  CreateSearchLater(0, absl::ZeroDuration());
  for (size_t i = 1; i < searches_.size(); ++i) {
    if (!searches_[i].final_of.empty()) {
      CreateFinalLater(i, absl::Seconds(5));
      continue;
    }
    CreateSearchLater(i, world_.Between(absl::Seconds(1), o_.fault_time / 2));
  }
  for (auto& w : workers_) {
    SimWorker* worker = w.get();
    world_.After(world_.Between(absl::ZeroDuration(), absl::Seconds(2)),
                 [worker] { worker->Start(); });
  }
  world_.After(absl::Seconds(1), [this] { ChaosTick(); });
  world_.After(defaults_.lease_timeout / 4, [this] { ExpireTick(); });
  world_.After(o_.fault_time, [this] { EndFaults(); });
  const absl::Time deadline = world_.now() + o_.fault_time + o_.settle_time;
  while (violation_.ok() && world_.Step()) {
    CheckStep();
    if (AllDone()) break;
    if (world_.now() > deadline) {
      Violation(absl::StrCat("the search did not finish within ",
                             absl::FormatDuration(o_.settle_time),
                             " of simulated time after the faults ended"));
    }
    if (world_.steps() > kMaxSteps) Violation("too many steps");
  }
  if (controller_ != nullptr && violation_.ok()) {
    for (SimSearch& sim : searches_) {
      Search* search = Live(sim);
      if (search != nullptr && !sim.stopped && !search->Leases().empty()) {
        Violation(absl::StrCat("leases of ", sim.name,
                               " remain after the search finished"));
      }
    }
  }
  open_uploads_.clear();
  controller_.reset();
  if (violation_.ok()) CheckStore(/*at_end=*/true);
  report_.status = violation_;
  if (!violation_.ok()) report_.trace = world_.TraceText();
  report_.steps = world_.steps();
  report_.simulated_seconds = world_.seconds();
  report_.stopped = false;
  for (const SimSearch& sim : searches_) {
    report_.stopped = report_.stopped || sim.stopped;
  }
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
  total->final_jobs += one.final_jobs;
  total->checkpoints += one.checkpoints;
  total->resumes += one.resumes;
  total->slow_uploads += one.slow_uploads;
}

SimulationReport RunSimulation(const SimulationOptions& options) {
  Harness harness(options);
  return harness.Run();
}

}  // namespace amoeba::sim
