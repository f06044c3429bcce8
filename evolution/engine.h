// The search engine: the population, ids, counters and RNG of a search,
// driving one SearchAlgorithm (algorithm.h): aging evolution (Regularized
// Evolution) exactly as in the paper, the non-aging, random-search and
// REINFORCE baselines. Pure: no I/O, no threads, no clocks; every random
// draw comes from its seeded Rng, so the same sequence of calls gives the
// same children on any machine, and the whole state (population, ages,
// counters, RNG, the algorithm's own state) can be saved and restored
// exactly.
//
// Asynchronous use: a child is created the moment a worker is free, from the
// population as it is then (CreateChild), and joins it when its result
// arrives (AddResult). The first P children to *complete* fill the
// population; until then every child is random, so with more workers than P
// the random phase hands out random children until P have completed.
//
// Thread safety: none. The controller serializes calls.
#ifndef AMOEBA_EVOLUTION_ENGINE_H_
#define AMOEBA_EVOLUTION_ENGINE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/rng.h"
#include "evolution/algorithm.h"
#include "genotype/genotype.h"
#include "genotype/mutation.h"

namespace amoeba {

struct EngineConfig {
  Algorithm algorithm = Algorithm::kAging;
  int population_size = 100;  // P
  int sample_size = 25;       // S
  int64_t budget = 1000;      // children to evaluate successfully
  uint64_t seed = 1;
  // Re-mutate (at most dedup_tries times) when a child's fingerprint was
  // already handed out. Off by default, as in the paper.
  bool deduplicate = false;
  int dedup_tries = 10;
  // REINFORCE only: the policy's learning rate.
  double rl_learning_rate = 0.2;
  // Final only: child i (1-based) is fixed_children[i - 1]; exactly
  // budget (= their number) children are created, whatever their outcome.
  std::vector<Genotype> fixed_children;
};

// InvalidArgument naming the bad setting.
absl::Status ValidateEngineConfig(const EngineConfig& config);

struct NewChild {
  int64_t id = 0;
  Genotype genotype;
  int64_t parent_id = -1;  // -1: a random genotype
  Mutation mutation;       // meaningful when parent_id >= 0
};

// Everything needed to continue a search exactly.
struct EngineState {
  Rng::State rng{};
  int64_t next_id = 1;
  int64_t completed = 0;
  std::vector<Member> population;  // oldest first
  std::vector<uint64_t> seen_fingerprints;  // only used with deduplicate
  std::string algorithm_state;  // SearchAlgorithm::Save()
};

class Engine {
 public:
  // REQUIRES: ValidateEngineConfig(config) is OK.
  explicit Engine(const EngineConfig& config);

  // An engine that continues from `state`. InvalidArgument when the state
  // does not fit the configuration (a population larger than P, ...).
  static absl::StatusOr<Engine> Restore(const EngineConfig& config,
                                        EngineState state);

  EngineState state() const;

  // Whether another child may be created: completed + in_flight < budget
  // (final: fewer than budget children created so far).
  bool WantsChild(int64_t in_flight) const {
    if (config_.algorithm == Algorithm::kFinal) {
      return next_id_ - 1 < config_.budget;
    }
    return completed_ + in_flight < config_.budget;
  }
  bool Finished() const { return completed_ >= config_.budget; }

  // The next child, from the population as it is now.
  NewChild CreateChild();

  // A child's result: it joins the population and, once the population is
  // full, a member dies (the oldest, or the worst of an S-sample for
  // non-aging). Returns the id of the member that died, if any.
  std::optional<int64_t> AddResult(int64_t id, const Genotype& genotype,
                                   double fitness);

  const std::deque<Member>& population() const { return population_; }
  int64_t completed() const { return completed_; }
  int64_t next_id() const { return next_id_; }
  // The RNG alone (state() copies the whole population).
  const Rng::State& rng_state() const { return rng_.state(); }
  // The algorithm's own state as saved (kept current after every result).
  const std::string& algorithm_state() const { return algorithm_state_; }
  const EngineConfig& config() const { return config_; }

 private:
  EngineConfig config_;
  std::unique_ptr<SearchAlgorithm> algorithm_;
  std::string algorithm_state_;
  Rng rng_;
  int64_t next_id_ = 1;
  int64_t completed_ = 0;
  std::deque<Member> population_;  // oldest first
  std::unordered_set<uint64_t> seen_;
};

}  // namespace amoeba

#endif  // AMOEBA_EVOLUTION_ENGINE_H_
