#include "evolution/algorithm.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace amoeba {

absl::StatusOr<Algorithm> AlgorithmFromName(absl::string_view name) {
  const std::string key = absl::AsciiStrToLower(name);
  if (key == "aging" || key == "regularized") return Algorithm::kAging;
  if (key == "non_aging" || key == "non-aging") return Algorithm::kNonAging;
  if (key == "random") return Algorithm::kRandom;
  if (key == "reinforce" || key == "rl") return Algorithm::kReinforce;
  if (key == "final") return Algorithm::kFinal;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown algorithm '", name,
                   "'; known: aging, non_aging, random, reinforce (and "
                   "final, which CreateFinal makes)"));
}

std::string AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kAging:
      return "aging";
    case Algorithm::kNonAging:
      return "non_aging";
    case Algorithm::kRandom:
      return "random";
    case Algorithm::kReinforce:
      return "reinforce";
    case Algorithm::kFinal:
      return "final";
  }
  return "unknown";
}

namespace {

// Index of the fittest (or, with `worst`, the least fit) of S members drawn
// uniformly with replacement; the first drawn wins ties.
size_t Tournament(const std::deque<Member>& population, int sample_size,
                  bool worst, Rng& rng) {
  size_t chosen = rng.Uniform(population.size());
  for (int i = 1; i < sample_size; ++i) {
    const size_t candidate = rng.Uniform(population.size());
    const bool better = worst
                            ? population[candidate].fitness < population[chosen].fitness
                            : population[candidate].fitness > population[chosen].fitness;
    if (better) chosen = candidate;
  }
  return chosen;
}

Proposal RandomProposal(Rng& rng) {
  Proposal p;
  p.genotype = RandomGenotype(rng);
  return p;
}

// Aging and non-aging evolution: random children until the population is
// full (the first P completions), then the mutated winner of a tournament.
class Evolution : public SearchAlgorithm {
 public:
  Evolution(int sample_size, bool aging)
      : sample_size_(sample_size), aging_(aging) {}

  Proposal Propose(const std::deque<Member>& population, int population_size,
                   Rng& rng) override {
    if (population.size() < static_cast<size_t>(population_size)) {
      return RandomProposal(rng);
    }
    const Member& parent =
        population[Tournament(population, sample_size_, false, rng)];
    Proposal p;
    p.parent_id = parent.id;
    // The parent came from a validated store or from Mutate itself.
    auto result = Mutate(parent.genotype, rng);
    p.mutation = result->mutation;
    p.genotype = std::move(result->child);
    return p;
  }

  std::optional<size_t> Removal(const std::deque<Member>& population,
                                Rng& rng) override {
    if (aging_) return std::nullopt;
    return Tournament(population, sample_size_, true, rng);
  }

 private:
  const int sample_size_;
  const bool aging_;
};

class RandomSearch : public SearchAlgorithm {
 public:
  Proposal Propose(const std::deque<Member>&, int, Rng& rng) override {
    return RandomProposal(rng);
  }
};

class Reinforce : public SearchAlgorithm {
 public:
  explicit Reinforce(double learning_rate) : policy_(learning_rate) {}

  Proposal Propose(const std::deque<Member>&, int, Rng& rng) override {
    Proposal p;
    p.genotype = policy_.Sample(rng);
    return p;
  }
  void Learn(const Genotype& genotype, double fitness) override {
    policy_.Update(genotype, fitness);
  }
  std::string Save() const override { return policy_.Save(); }
  absl::Status Restore(const std::string& state) override {
    return state.empty() ? absl::OkStatus() : policy_.Restore(state);
  }

 private:
  ReinforcePolicy policy_;
};

std::vector<double> Softmax(const std::vector<double>& logits) {
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::exp(logits[i] - top);
    sum += p[i];
  }
  for (double& v : p) v /= sum;
  return p;
}

int SampleIndex(const std::vector<double>& logits, Rng& rng) {
  const std::vector<double> p = Softmax(logits);
  const double u = rng.UniformDouble();
  double acc = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    acc += p[i];
    if (u < acc) return static_cast<int>(i);
  }
  return static_cast<int>(p.size()) - 1;
}

// logits += step * (onehot(chosen) - softmax(logits))
void Push(std::vector<double>& logits, int chosen, double step) {
  const std::vector<double> p = Softmax(logits);
  for (size_t i = 0; i < logits.size(); ++i) {
    logits[i] += step * ((static_cast<int>(i) == chosen ? 1.0 : 0.0) - p[i]);
  }
}

constexpr char kPolicyFormat[] = "reinforce-1";

}  // namespace

std::unique_ptr<SearchAlgorithm> MakeSearchAlgorithm(
    const AlgorithmOptions& options) {
  switch (options.algorithm) {
    case Algorithm::kAging:
      return std::make_unique<Evolution>(options.sample_size, true);
    case Algorithm::kNonAging:
      return std::make_unique<Evolution>(options.sample_size, false);
    case Algorithm::kRandom:
      return std::make_unique<RandomSearch>();
    case Algorithm::kReinforce:
      return std::make_unique<Reinforce>(options.learning_rate);
    case Algorithm::kFinal:
      // The Engine hands out the fixed children itself; nothing learns.
      return std::make_unique<RandomSearch>();
  }
  return nullptr;
}

ReinforcePolicy::ReinforcePolicy(double learning_rate)
    : learning_rate_(learning_rate) {
  for (CellType cell : {CellType::kNormal, CellType::kReduction}) {
    for (int c = 0; c < kNumCombinations; ++c) {
      At(cell, c).input_logits.assign(kNumCellInputs + c, 0.0);
      At(cell, c).op_logits.assign(kNumOps, 0.0);
    }
  }
}

Genotype ReinforcePolicy::Sample(Rng& rng) const {
  Genotype genotype;
  for (CellType type : {CellType::kNormal, CellType::kReduction}) {
    Cell& cell = genotype.cell(type);
    for (int p = 0; p < kNumPositions; ++p) {
      const Decision& d = At(type, CombinationOf(p));
      cell.inputs[p] = SampleIndex(d.input_logits, rng);
      cell.ops[p] = AllOps()[SampleIndex(d.op_logits, rng)];
    }
  }
  return genotype;
}

void ReinforcePolicy::Update(const Genotype& genotype, double fitness) {
  if (updates_ == 0) baseline_ = fitness;
  const double advantage = fitness - baseline_;
  const double step = learning_rate_ * advantage;
  for (CellType type : {CellType::kNormal, CellType::kReduction}) {
    const Cell& cell = genotype.cell(type);
    for (int p = 0; p < kNumPositions; ++p) {
      Decision& d = At(type, CombinationOf(p));
      // Inputs and ops of a valid genotype are in range (the engine only
      // learns from children it made).
      Push(d.input_logits, cell.inputs[p], step);
      Push(d.op_logits, static_cast<int>(cell.ops[p]), step);
    }
  }
  baseline_ = kBaselineDecay * baseline_ + (1 - kBaselineDecay) * fitness;
  ++updates_;
}

double ReinforcePolicy::OpProbability(CellType cell, int combination,
                                      Op op) const {
  return Softmax(At(cell, combination).op_logits)[static_cast<int>(op)];
}

std::string ReinforcePolicy::Save() const {
  // %.17g: every double comes back bit for bit, so a restarted controller
  // continues the same policy.
  std::string out = absl::StrFormat("%s %.17g %d", kPolicyFormat, baseline_,
                                    updates_);
  for (const Decision& d : decisions_) {
    for (double v : d.input_logits) absl::StrAppendFormat(&out, " %.17g", v);
    for (double v : d.op_logits) absl::StrAppendFormat(&out, " %.17g", v);
  }
  return out;
}

absl::Status ReinforcePolicy::Restore(const std::string& text) {
  std::vector<std::string> parts =
      absl::StrSplit(text, ' ', absl::SkipEmpty());
  size_t expected = 3;
  for (const Decision& d : decisions_) {
    expected += d.input_logits.size() + d.op_logits.size();
  }
  if (parts.size() != expected || parts[0] != kPolicyFormat) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "not a REINFORCE policy (%d fields, expected %d starting with %s)",
        parts.size(), expected, kPolicyFormat));
  }
  ReinforcePolicy restored(learning_rate_);
  size_t i = 1;
  bool ok = absl::SimpleAtod(parts[i++], &restored.baseline_) &&
            absl::SimpleAtoi(parts[i++], &restored.updates_);
  for (Decision& d : restored.decisions_) {
    for (double& v : d.input_logits) ok = ok && absl::SimpleAtod(parts[i++], &v);
    for (double& v : d.op_logits) ok = ok && absl::SimpleAtod(parts[i++], &v);
  }
  if (!ok || restored.updates_ < 0 || !std::isfinite(restored.baseline_)) {
    return absl::InvalidArgumentError("a REINFORCE policy field is malformed");
  }
  *this = std::move(restored);
  return absl::OkStatus();
}

}  // namespace amoeba
