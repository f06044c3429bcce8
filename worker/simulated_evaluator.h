// SimulatedEvaluator: NOT a real evaluation. For scale and fault tests of the
// distributed system only. The fitness is a fixed, deterministic function of
// the genotype's canonical form (its fingerprint) plus noise seeded by the
// child's id and attempt, after a configurable duration split into epochs.
// Results carry the evaluator name "simulated", which the controller records
// and shows. Never the default.
#ifndef AMOEBA_WORKER_SIMULATED_EVALUATOR_H_
#define AMOEBA_WORKER_SIMULATED_EVALUATOR_H_

#include <cstdint>

#include "absl/time/time.h"
#include "worker/evaluator.h"

namespace amoeba {

class SimulatedEvaluator final : public Evaluator {
 public:
  SimulatedEvaluator(absl::Duration duration, double noise, uint64_t seed)
      : duration_(duration), noise_(noise), seed_(seed) {}

  std::string name() const override { return "simulated"; }
  EvaluationResult Evaluate(const v1::Task& task,
                            const EvaluationCallbacks& callbacks) override;

  // The noiseless fitness of a genotype text, in [0.5, 0.95].
  static double BaseFitness(const std::string& canonical_text);

 private:
  const absl::Duration duration_;
  const double noise_;
  const uint64_t seed_;
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_SIMULATED_EVALUATOR_H_
