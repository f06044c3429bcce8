// The invariants the harness checks after every step and at the end: the
// shadow engine (every child and the population as the algorithm says),
// early-stopping answers, checkpoints, leases and the store's rows.
#include "simulation/harness.h"

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
#include "absl/strings/numbers.h"
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
  sim.shadow_parents[expected.id] = expected.parent_id;
  // Weight inheritance: every child keeps its weights, a mutated one starts
  // from its own parent's with the inheriting recipe.
  const InheritanceOptions& inheritance = sim.options.inheritance;
  const int64_t inherit_from =
      inheritance.enabled && expected.parent_id > 0 ? expected.parent_id : 0;
  if (task.keep_weights() != inheritance.enabled ||
      task.inherit_from() != inherit_from ||
      task.settings().epochs() != (inherit_from > 0
                                       ? inheritance.epochs
                                       : sim.options.settings.epochs())) {
    Violation(absl::StrCat(sim.name, " child ", task.model_id(),
                           " carries inherit_from ", task.inherit_from(),
                           " keep_weights ", task.keep_weights(), " epochs ",
                           task.settings().epochs(), "; its parent is ",
                           expected.parent_id));
  }
}

void Harness::OnInherit(const std::string& worker, const v1::Task& task,
                        const absl::Status& status,
                        const v1::CheckpointChunk& weights) {
  if (!status.ok()) {
    ++report_.inherit_misses;
    return;
  }
  ++report_.inherited;
  SimSearch* sim = SimSearchNamed(task.search_id());
  if (sim == nullptr) return;
  const auto parent = sim->shadow_parents.find(task.model_id());
  if (parent == sim->shadow_parents.end() ||
      parent->second != task.inherit_from() ||
      weights.data() != SimulatedWeights(task.search_id(), parent->second)) {
    Violation(absl::StrCat(worker, " started ", task.search_id(), " child ",
                           task.model_id(), " from weights '", weights.data(),
                           "'; its parent is ",
                           parent == sim->shadow_parents.end()
                               ? int64_t{-2}
                               : parent->second));
  }
}

void Harness::CheckWeights(const SimSearch& sim,
                           const std::vector<ModelRecord>& models) {
  std::error_code error;
  const std::filesystem::path folder =
      std::filesystem::path(o_.dir) / "weights" / sim.name;
  if (!std::filesystem::is_directory(folder, error)) return;
  std::set<int64_t> needed;
  for (const ModelRecord& m : models) {
    if (m.alive) needed.insert(m.id);
    if (m.state == ModelState::kPending || m.state == ModelState::kRunning) {
      needed.insert(m.id);
      if (sim.options.inheritance.enabled && m.parent_id > 0) {
        needed.insert(m.parent_id);
      }
    }
  }
  for (const auto& file : std::filesystem::directory_iterator(folder, error)) {
    int64_t model = 0;
    if (file.path().extension() != ".ckpt" ||
        !absl::SimpleAtoi(file.path().stem().string(), &model)) {
      continue;
    }
    if (needed.count(model) == 0) {
      Violation(absl::StrCat("the weights of ", sim.name, " child ", model,
                             " are kept although no child can inherit them"));
    }
    if (!sim.options.inheritance.enabled) {
      Violation(absl::StrCat(sim.name, " inherits nothing but keeps weights"));
    }
  }
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
  int& progressed = sim->progress_epoch[report.model_id()];
  progressed = std::max(progressed, report.epoch());
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

void Harness::ObserveTrainedFirst(SimSearch& sim, const v1::Task& task) {
  const int every = task.settings().checkpoint_every();
  if (every <= 0 || task.checkpoint_epoch() > 0 ||
      sim.checkpoint_acked.count(task.model_id()) > 0) {
    return;  // no checkpoints, or the task resumes itself
  }
  auto progressed = sim.progress_epoch.find(task.model_id());
  if (progressed != sim.progress_epoch.end() && progressed->second >= every) {
    return;  // trained too (by its progress)
  }
  Search* search = Live(sim);
  if (search == nullptr) return;
  for (const auto& [child, epoch] : sim.checkpoint_acked) {
    if (child == task.model_id() || !search->IsUnfinished(child) ||
        LeaseOf(sim.name, child).has_value()) {
      continue;
    }
    Violation(absl::StrCat(sim.name, " child ", task.model_id(),
                           " (not trained) was handed out while child ",
                           child, " with a checkpoint of epoch ", epoch,
                           " waited for a worker"));
    return;
  }
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
    CheckWeights(sim, *models);
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
  if (static_cast<int64_t>(done.size()) > budget) {
    Violation(
        absl::StrCat(done.size(), " children completed; budget ", budget));
  }
  report_.completed += static_cast<int64_t>(done.size());
  if (!at_end || sim.stopped) return;
  CheckFinishedSearch(sim, models, done);
  CheckPopulation(sim, done);
}

void Harness::CheckFinishedSearch(const SimSearch& sim,
                                  const std::vector<ModelRecord>& models,
                                  const std::vector<const ModelRecord*>& done) {
  const int64_t budget = sim.options.engine.budget;
  if (sim.options.engine.algorithm == Algorithm::kFinal) {
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
}

void Harness::CheckPopulation(const SimSearch& sim,
                              const std::vector<const ModelRecord*>& done) {
  const int64_t budget = sim.options.engine.budget;
  const bool final = sim.options.engine.algorithm == Algorithm::kFinal;
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

}  // namespace amoeba::sim
