// Opening a search: validating its options, checking them against the
// store, and rebuilding the scheduler's state from what is durable. The
// scheduling itself is in search.cc, the operator side in
// search_operator.cc.
#include <random>
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
namespace {

// A new search's id: short, readable, and unlikely to repeat, so a worker's
// spooled result of an earlier search on the same host is never taken for
// one of this search.
std::string NewSearchId() {
  std::random_device entropy;
  const uint64_t bits = (uint64_t{entropy()} << 32) ^ entropy();
  return absl::StrFormat("s-%012x", bits & 0xffffffffffffULL);
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

absl::StatusOr<std::unique_ptr<Search>> Search::Open(
    const SearchOptions& options, std::unique_ptr<Store> store, Clock* clock) {
  RETURN_IF_ERROR(ValidateSearchOptions(options));
  RETURN_IF_ERROR(store->CheckOrInitConfig(SearchConfigEntries(options)));
  ASSIGN_OR_RETURN(std::optional<std::string> stored_id,
                   store->GetMeta("search_id"));
  if (!stored_id.has_value()) {
    stored_id = NewSearchId();
    RETURN_IF_ERROR(store->PutMeta("search_id", *stored_id));
  }
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
  std::unique_ptr<Search> search(new Search(
      options, std::move(store), std::move(engine), clock, *stored_id));
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
  ASSIGN_OR_RETURN(
      std::vector<ModelRecord> best,
      store_->QueryModels("state = 'done'", "fitness DESC, id", 1, 0));
  if (!best.empty()) best_ = std::move(best[0]);
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
