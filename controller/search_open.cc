// Opening a search: validating its options, checking them against the
// store, and rebuilding the scheduler's state from what is durable. The
// scheduling itself is in search.cc, the operator side in
// search_operator.cc.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "controller/search.h"
#include "genotype/text.h"
#include "glog/logging.h"

namespace amoeba {
absl::StatusOr<std::unique_ptr<Search>> Search::Open(
    const SearchOptions& options, std::unique_ptr<SearchStore> store,
    Clock* clock) {
  RETURN_IF_ERROR(ValidateSearchOptions(options));
  ASSIGN_OR_RETURN(v1::SearchConfig stored_config,
                   SearchConfigFromJson(store->stored().config));
  // What the config leaves to the controller comes with `options`.
  absl::StatusOr<SearchOptions> stored =
      SearchOptionsFromConfig(stored_config, DefaultsOf(options));
  if (!stored.ok()) {
    return absl::DataLossError(absl::StrCat("search ", store->name(),
                                            ": stored ",
                                            stored.status().message()));
  }
  RETURN_IF_ERROR(CheckSameSearch(*stored, options));
  ASSIGN_OR_RETURN(std::optional<EngineCounters> counters,
                   store->LoadEngineCounters());
  // Counters and rows are written in one transaction; if they disagree the
  // file was damaged or edited, and resuming would overwrite history.
  RETURN_IF_ERROR(store->CheckCounters());
  Engine engine(options.engine);
  if (counters.has_value()) {
    EngineState state;
    state.rng = counters->rng;
    state.next_id = counters->next_id;
    state.completed = counters->completed;
    state.algorithm_state = counters->algorithm_state;
    // Only the living population is read back, oldest first: the history
    // stays in the file, so reopening a search of a million children costs
    // what a search of P does (the partial index models_alive finds them).
    ASSIGN_OR_RETURN(std::vector<ModelRecord> alive,
                     store->QueryModels("alive = 1", "completion_seq", -1, 0));
    for (const ModelRecord& m : alive) {
      auto genotype = ParseGenotype(m.genotype);
      if (m.state != ModelState::kDone || !genotype.ok()) {
        return absl::DataLossError(
            absl::StrCat("stored member ", m.id, " of the population is ",
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
      new Search(options, std::move(store), std::move(engine), clock));
  {
    absl::MutexLock lock(&search->mu_);
    RETURN_IF_ERROR(search->Recover());
  }
  return search;
}

absl::Status Search::Recover() {
  ASSIGN_OR_RETURN(const std::string state, store_->LoadState());
  // The hurdle reports, replayed in order, give every later report the
  // answer this search gave before it was restarted.
  ASSIGN_OR_RETURN(const std::vector<HurdleReport> hurdles,
                   store_->LoadHurdleReports());
  for (const HurdleReport& r : hurdles) {
    if (absl::Status s = stopper_.Record(r); !s.ok()) {
      return absl::DataLossError(absl::StrCat(
          "the stored hurdle reports do not fit this search's early stopping "
          "settings: ", s.message()));
    }
  }
  if (state == "paused") run_state_ = RunState::kPaused;
  if (state == "stopped") run_state_ = RunState::kStopped;
  ASSIGN_OR_RETURN(failed_, store_->CountModels("state = 'failed'"));
  // The fittest child (the lowest id among equals).
  ASSIGN_OR_RETURN(
      std::vector<ModelRecord> best,
      store_->QueryModels("state = 'done'", "fitness DESC, id", 1, 0));
  if (!best.empty()) {
    best_ = std::move(best[0]);
    if (auto stopped = stopper_.StoppedAt(best_->id)) {
      best_->stopped_epoch = stopped->epoch;
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> evaluators,
                   store_->DistinctEvaluators());
  for (const std::string& e : evaluators) {
    if (evaluators_.size() < kMaxEvaluators) evaluators_.insert(e);
  }
  // The recent completions feed the evaluations-per-hour estimate.
  ASSIGN_OR_RETURN(std::vector<ModelRecord> recent,
                   store_->QueryModels("finished_at > 0", "finished_at DESC",
                                       kCompletionWindow, 0));
  for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
    if (it->state == ModelState::kDone)
      completion_times_.push_back(it->finished_at);
  }
  // A child that was running keeps its lease (renewed from now): its worker
  // most likely still trains it and says so at its next request; if it does
  // not hold it, reconciliation or expiry returns it to the queue.
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(
      std::vector<ModelRecord> unfinished,
      store_->QueryModels("state IN ('pending', 'running')", "id", -1, 0));
  int64_t restored = 0;
  for (ModelRecord& m : unfinished) {
    auto genotype = ParseGenotype(m.genotype);
    if (!genotype.ok()) {
      return absl::DataLossError(
          absl::StrCat("stored genotype of child ", m.id,
                       " does not parse: ", genotype.status().message()));
    }
    const int64_t id = m.id;
    Child child{std::move(m), *std::move(genotype), {}};
    child.trained = PassedCheckpoint(child.record.epoch);
    if (child.record.state == ModelState::kRunning &&
        run_state_ != RunState::kStopped && child.record.attempts > 0 &&
        !child.record.worker_id.empty()) {
      child.holders[child.record.attempts] = child.record.worker_id;
      leases_.Grant(id, child.record.worker_id, child.record.attempts, 0, 0,
                    now);
      ++restored;
    } else {
      child.record.state = ModelState::kPending;
      if (child.record.attempts > 0 && !child.record.worker_id.empty()) {
        child.holders[child.record.attempts] = child.record.worker_id;
      }
      queue_.push_back(id);
    }
    unfinished_.emplace(id, std::move(child));
  }
  LOG(INFO) << "search opened: " << engine_.completed() << " done, " << failed_
            << " failed, " << restored << " running (leases kept), "
            << queue_.size() << " waiting for a worker, population "
            << engine_.population().size() << "/"
            << options_.engine.population_size << ", state " << StateName()
            << ", search id " << search_id_;
  return absl::OkStatus();
}

}  // namespace amoeba
