// The search algorithms, each one implementation of SearchAlgorithm: how a
// child is proposed and what a completed child changes. The Engine
// (engine.h) keeps the population, counters and RNG and calls these. Pure:
// every random draw comes from the Rng passed in, so a search is
// deterministic for its seed and restored exactly from its saved state.
//
//   aging      the paper's Regularized Evolution: a tournament of S picks
//              the parent; the oldest member dies
//   non_aging  the same tournament; the worst of an S-sample dies
//   random     every child a fresh random genotype
//   reinforce  the paper's RL baseline in the form the NAS benchmarks use
//              (NAS-Bench-101's REINFORCE): a factorized categorical policy
//              over every decision of the genotype, trained with REINFORCE
//              and an exponential-moving-average baseline, asynchronously
//              as results arrive
//   final      not a search: final training of a fixed list of genotypes
//              (the Engine hands them out in order)
//
// Random and reinforce keep an aging population too (for status and
// reports); it does not steer their children.
#ifndef AMOEBA_EVOLUTION_ALGORITHM_H_
#define AMOEBA_EVOLUTION_ALGORITHM_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/rng.h"
#include "genotype/genotype.h"
#include "genotype/mutation.h"

namespace amoeba {

enum class Algorithm {
  kAging,      // the paper: the oldest member dies
  kNonAging,   // the worst of an S-sample dies
  kRandom,     // every child a fresh random genotype
  kReinforce,  // a policy trained with REINFORCE
  // Final training (CreateFinal): no search; the children are a fixed list
  // of genotypes (EngineConfig::fixed_children).
  kFinal,
};

absl::StatusOr<Algorithm> AlgorithmFromName(absl::string_view name);
std::string AlgorithmName(Algorithm algorithm);

struct Member {
  int64_t id = 0;
  double fitness = 0;
  Genotype genotype;
};

// A proposed child: its genotype, and its parent (-1: not a mutation).
struct Proposal {
  Genotype genotype;
  int64_t parent_id = -1;
  Mutation mutation;  // meaningful when parent_id >= 0
};

class SearchAlgorithm {
 public:
  virtual ~SearchAlgorithm() = default;

  // The next child, from the population as it is now (oldest first).
  virtual Proposal Propose(const std::deque<Member>& population,
                           int population_size, Rng& rng) = 0;
  // A result arrives (before it joins the population).
  virtual void Learn(const Genotype& genotype, double fitness) {}
  // When a result joins a full population: the index of the member that
  // dies instead of the oldest one, or nullopt for the oldest.
  virtual std::optional<size_t> Removal(const std::deque<Member>& population,
                                        Rng& rng) {
    return std::nullopt;
  }
  // The algorithm's own state beyond the population, as text ("" when it
  // has none); Restore accepts what Save wrote. InvalidArgument for text
  // that is not such a state.
  virtual std::string Save() const { return ""; }
  virtual absl::Status Restore(const std::string& state) {
    return state.empty() ? absl::OkStatus()
                         : absl::InvalidArgumentError(
                               "this algorithm keeps no state of its own");
  }
};

struct AlgorithmOptions {
  Algorithm algorithm = Algorithm::kAging;
  int sample_size = 25;  // S
  // REINFORCE: step size of the policy's logits per unit of advantage.
  double learning_rate = 0.2;
};

std::unique_ptr<SearchAlgorithm> MakeSearchAlgorithm(
    const AlgorithmOptions& options);

// The REINFORCE policy: for each cell type and combination, one categorical
// distribution over the inputs that combination may read and one over the
// ops (softmax of logits, all 0 at the start). Both elements of a
// combination draw from the combination's distributions: the genotype's
// canonical form does not order them. A result's advantage (fitness minus
// the baseline, an exponential moving average of earlier fitnesses with
// decay kBaselineDecay; the first result sets it) moves every decision the
// child made: logits += learning_rate * advantage * (onehot - softmax).
class ReinforcePolicy {
 public:
  static constexpr double kBaselineDecay = 0.9;

  explicit ReinforcePolicy(double learning_rate);

  Genotype Sample(Rng& rng) const;
  void Update(const Genotype& genotype, double fitness);
  // The probability of `op` at (cell, combination).
  double OpProbability(CellType cell, int combination, Op op) const;
  double baseline() const { return baseline_; }
  int64_t updates() const { return updates_; }

  std::string Save() const;
  absl::Status Restore(const std::string& text);

 private:
  struct Decision {
    std::vector<double> input_logits;  // inputs 0 .. combination + 1
    std::vector<double> op_logits;     // kNumOps
  };
  Decision& At(CellType cell, int combination) {
    return decisions_[static_cast<int>(cell) * kNumCombinations + combination];
  }
  const Decision& At(CellType cell, int combination) const {
    return decisions_[static_cast<int>(cell) * kNumCombinations + combination];
  }

  double learning_rate_;
  std::array<Decision, 2 * kNumCombinations> decisions_;
  double baseline_ = 0;
  int64_t updates_ = 0;
};

}  // namespace amoeba

#endif  // AMOEBA_EVOLUTION_ALGORITHM_H_
