// The harness: the world it builds (controller, searches, workers), the
// faults it injects over time, and the run loop.
#include "simulation/harness.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
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

Harness::Harness(const SimulationOptions& options)
    : o_(options), world_(options.seed), network_(&world_, absl::Seconds(3)) {
  defaults_.lease_timeout = absl::Seconds(20);
  defaults_.heartbeat_interval = absl::Seconds(5);
  defaults_.max_attempts = 2 + static_cast<int>(world_.Uniform(2));
  defaults_.retry_after = absl::Seconds(1);
  // The searches' number and shapes come from the seed too.
  const int searches =
      o_.searches > 0 ? o_.searches : 1 + static_cast<int>(world_.Uniform(3));
  for (int i = 0; i < searches; ++i) searches_.push_back(DrawSearch(i));
  MaybeAddFinalSearch();
  store_path_ = o_.dir + "/search.db";
  StartWorkers();
  NetworkFaults faults;
  faults.drop_request = faults.drop_response = faults.duplicate_request =
      faults.late = o_.message_fault;
  network_.set_faults(faults);
  network_.set_handler(
      [this](Rpc rpc, const std::string& bytes) { return Handle(rpc, bytes); });
}

// Search `index`'s algorithm, shape and settings, drawn from the seed.
Harness::SimSearch Harness::DrawSearch(int index) {
  SimSearch search;
  search.name = absl::StrCat("search-", index);
  SearchOptions& so = search.options;
  EngineConfig& e = so.engine;
  const Algorithm algorithms[] = {Algorithm::kAging, Algorithm::kNonAging,
                                  Algorithm::kRandom, Algorithm::kReinforce};
  e.algorithm = algorithms[world_.Uniform(4)];
  e.population_size = 3 + static_cast<int>(world_.Uniform(4));
  e.sample_size = 2;
  e.budget = e.population_size + 4 + static_cast<int64_t>(world_.Uniform(10));
  e.seed = o_.seed * 7 + static_cast<uint64_t>(index);
  so.settings = DefaultTrainingSettings();
  so.settings.set_batch_size(16 + index);
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
  DrawRecipe(o_.seed * 1000003 + static_cast<uint64_t>(index),
             *so.settings.mutable_recipe());
  // Half the evolutionary searches without early stopping or checkpoints
  // inherit weights. From their own generator (schedules unchanged).
  std::mt19937_64 inherit(o_.seed * 7919 + static_cast<uint64_t>(index));
  if ((e.algorithm == Algorithm::kAging ||
       e.algorithm == Algorithm::kNonAging) &&
      so.early_stopping.rule == StoppingRule::kNone &&
      so.settings.checkpoint_every() == 0 && inherit() % 2 == 0) {
    so.inheritance.enabled = true;
    so.inheritance.epochs = 1;
    so.inheritance.learning_rate = so.settings.learning_rate() / 2;
  }
  search.shadow = std::make_unique<Engine>(so.engine);
  return search;
}

// Half the searches train with a recipe other than the default. From their
// own generator, so the recipes leave every schedule as it was.
void Harness::DrawRecipe(uint64_t seed, v1::TrainingRecipe& recipe) {
  std::mt19937_64 draw(seed);
  if (draw() % 2 == 0) return;
  recipe.set_name("drawn");
  recipe.set_cutout(static_cast<int>(draw() % 3) * 8);
  recipe.set_aux_head(draw() % 2 == 0);
  recipe.set_drop_path(0.1 * static_cast<double>(draw() % 3));
  if (draw() % 2 == 0) {
    recipe.set_optimizer("rmsprop");
    recipe.set_schedule("exponential");
    recipe.set_label_smoothing(0.1);
  }
  if (draw() % 3 == 0) recipe.set_ema_decay(0.999);
  if (draw() % 3 == 0) recipe.set_drop_path_schedule("time");
}

void Harness::MaybeAddFinalSearch() {
  if (world_.Uniform(2) != 0) return;
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
  DrawRecipe(o_.seed * 1000003 + 999, *r.mutable_settings()->mutable_recipe());
  r.set_weight(1 + static_cast<double>(world_.Uniform(3)));
  searches_.push_back(std::move(final_search));
}

// The fleet, drawn from the seed: each worker's slots, observed by the
// checks (acks, takes, checkpoints, resumes).
void Harness::StartWorkers() {
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
  observer.on_weights_ack = [this](const v1::Task&) { ++report_.weights_kept; };
  observer.on_inherit = [this](const std::string& worker, const v1::Task& task,
                               const absl::Status& status,
                               const v1::CheckpointChunk& weights) {
    OnInherit(worker, task, status, weights);
  };
  const int workers =
      o_.workers > 0 ? o_.workers : 1 + static_cast<int>(world_.Uniform(4));
  // Some workers lack the dataset of some searches; w0 has every one, so
  // every search can finish. From their own generator (schedules unchanged).
  // Some workers (never w0) are of the version before training recipes.
  std::mt19937_64 draw(o_.seed * 1000003 + 7);
  std::mt19937_64 versions(o_.seed * 1000003 + 11);
  for (int i = 0; i < workers; ++i) {
    const int slots = 1 + static_cast<int>(world_.Uniform(4));
    WorkerBehaviour own = behaviour;
    for (const SimSearch& search : searches_) {
      if (i > 0 && draw() % 4 == 0) own.lacks_data_of.insert(search.name);
    }
    own.old_version = i > 0 && versions() % 3 == 0;
    if (own.old_version) old_workers_.insert(absl::StrCat("w", i));
    workers_.push_back(std::make_unique<SimWorker>(
        &world_, &network_, absl::StrCat("w", i), slots,
        absl::StrCat(o_.dir, "/spool-w", i), own, observer));
  }
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
  auto weights = CheckpointStore::Open({o_.dir + "/weights", 1 << 20});
  if (!weights.ok()) {
    Violation(absl::StrCat("the weights folder does not open: ",
                           weights.status().message()));
    return;
  }
  auto controller =
      Controller::Open(*std::move(store), defaults_, &world_.clock(),
                       *std::move(checkpoints), *std::move(weights));
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

SimWorker* Harness::WorkerNamed(const std::string& id) {
  for (auto& w : workers_) {
    if (w->id() == id) return w.get();
  }
  return nullptr;
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
  if (sim.options.settings.checkpoint_every() > 0 ||
      sim.options.inheritance.enabled) {
    // A checkpoint (or weights) from a worker that holds nothing is refused
    // too, and so is a request for a parent's weights.
    v1::CheckpointHeader header;
    header.set_weights(sim.options.inheritance.enabled);
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
    v1::CheckpointRequest request;
    request.set_worker_id(kIntruder);
    request.set_search_id(sim.name);
    request.set_model_id(report.model_id());
    request.set_attempt(report.attempt());
    request.set_parent_weights(sim.options.inheritance.enabled);
    if (controller_->GetCheckpoint(request).ok()) {
      Violation(absl::StrCat("the intruder read the ",
                             request.parent_weights() ? "parent's weights"
                                                      : "checkpoint",
                             " of child ", report.model_id()));
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

}  // namespace amoeba::sim
