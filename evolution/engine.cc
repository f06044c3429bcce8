#include "evolution/engine.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "genotype/fingerprint.h"

namespace amoeba {

absl::Status ValidateEngineConfig(const EngineConfig& c) {
  if (c.population_size < 2 || c.population_size > 1000000) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "population size P must be in 2..1000000, got %d", c.population_size));
  }
  if (c.sample_size < 1 || c.sample_size > c.population_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "sample size S must be in 1..P (%d), got %d", c.population_size,
        c.sample_size));
  }
  if (c.budget < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("budget must be >= 1, got %d", c.budget));
  }
  if ((c.algorithm == Algorithm::kFinal) !=
          !c.fixed_children.empty() ||
      (c.algorithm == Algorithm::kFinal &&
       static_cast<int64_t>(c.fixed_children.size()) != c.budget)) {
    return absl::InvalidArgumentError(
        "fixed children go with the final algorithm, one per budget unit");
  }
  if (c.dedup_tries < 1 || c.dedup_tries > 1000) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "dedup tries must be in 1..1000, got %d", c.dedup_tries));
  }
  return absl::OkStatus();
}

namespace {

AlgorithmOptions OptionsOf(const EngineConfig& config) {
  AlgorithmOptions o;
  o.algorithm = config.algorithm;
  o.sample_size = config.sample_size;
  o.learning_rate = config.rl_learning_rate;
  return o;
}

}  // namespace

Engine::Engine(const EngineConfig& config)
    : config_(config),
      algorithm_(MakeSearchAlgorithm(OptionsOf(config))),
      algorithm_state_(algorithm_->Save()),
      rng_(config.seed) {}

absl::StatusOr<Engine> Engine::Restore(const EngineConfig& config,
                                       EngineState state) {
  if (state.population.size() > static_cast<size_t>(config.population_size)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "stored population has %d members but P is %d",
        state.population.size(), config.population_size));
  }
  if (state.next_id < 1 || state.completed < 0) {
    return absl::InvalidArgumentError("stored engine counters are corrupt");
  }
  const Rng::State zero{};
  if (state.rng == zero) {
    return absl::InvalidArgumentError("stored RNG state is all zeros");
  }
  Engine engine(config);
  engine.rng_ = Rng::FromState(state.rng);
  engine.next_id_ = state.next_id;
  engine.completed_ = state.completed;
  engine.population_.assign(std::make_move_iterator(state.population.begin()),
                            std::make_move_iterator(state.population.end()));
  engine.seen_.insert(state.seen_fingerprints.begin(),
                      state.seen_fingerprints.end());
  if (absl::Status s = engine.algorithm_->Restore(state.algorithm_state);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stored algorithm state: ", s.message()));
  }
  engine.algorithm_state_ = engine.algorithm_->Save();
  return engine;
}

EngineState Engine::state() const {
  EngineState state;
  state.rng = rng_.state();
  state.next_id = next_id_;
  state.completed = completed_;
  state.population.assign(population_.begin(), population_.end());
  state.seen_fingerprints.assign(seen_.begin(), seen_.end());
  state.algorithm_state = algorithm_state_;
  return state;
}

NewChild Engine::CreateChild() {
  NewChild child;
  child.id = next_id_++;
  if (config_.algorithm == Algorithm::kFinal) {
    // REQUIRES of the caller: WantsChild, so the id is in range.
    child.genotype = config_.fixed_children.at(child.id - 1);
    return child;
  }
  auto propose = [&] {
    Proposal p = algorithm_->Propose(population_, config_.population_size,
                                     rng_);
    child.genotype = std::move(p.genotype);
    child.parent_id = p.parent_id;
    child.mutation = p.mutation;
  };
  propose();
  if (config_.deduplicate) {
    for (int tries = 1; tries < config_.dedup_tries &&
                        seen_.count(Fingerprint(child.genotype)) > 0;
         ++tries) {
      propose();
    }
    seen_.insert(Fingerprint(child.genotype));
  }
  // Children are kept in canonical form, the form the store holds: an
  // engine restored from the store (members parsed from canonical text)
  // then mutates exactly the genotypes an uninterrupted one would. (A
  // mutation picks "combination c, element e"; canonicalizing may swap the
  // two elements, so a non-canonical member mutates differently.)
  child.genotype = Canonicalize(child.genotype);
  return child;
}

std::optional<int64_t> Engine::AddResult(int64_t id, const Genotype& genotype,
                                         double fitness) {
  ++completed_;
  algorithm_->Learn(genotype, fitness);
  algorithm_state_ = algorithm_->Save();
  std::optional<int64_t> died;
  const bool full =
      population_.size() >= static_cast<size_t>(config_.population_size);
  if (full) {
    if (std::optional<size_t> loser = algorithm_->Removal(population_, rng_)) {
      died = population_[*loser].id;
      population_.erase(population_.begin() + *loser);
    }
  }
  population_.push_back(Member{id, fitness, genotype});
  if (population_.size() > static_cast<size_t>(config_.population_size)) {
    died = population_.front().id;
    population_.pop_front();
  }
  return died;
}

}  // namespace amoeba
