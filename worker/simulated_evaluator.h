// SimulatedEvaluator: NOT a real evaluation. For scale, fault and algorithm
// tests only. The fitness is a fixed, deterministic function of the
// genotype's canonical form plus noise seeded by the search, child and
// attempt, after a configurable duration split into epochs. Every epoch
// reports a validation fitness on a simulated learning curve (CurveAt) that
// ends at that fitness, so early stopping can be studied without GPUs. Two landscapes:
// `structured` (evolution/landscape.h: additive contributions plus pairwise
// interactions, on which algorithms can be compared) and `hash` (a hash of
// the genotype: no structure, no algorithm beats random search). Results
// carry the evaluator name "simulated", which the controller records and
// shows. Never the default.
#ifndef AMOEBA_WORKER_SIMULATED_EVALUATOR_H_
#define AMOEBA_WORKER_SIMULATED_EVALUATOR_H_

#include <cstdint>

#include "absl/time/time.h"
#include "worker/evaluator.h"

namespace amoeba {

enum class Landscape { kStructured, kHash };

class SimulatedEvaluator final : public Evaluator {
 public:
  // REQUIRES: 0 <= curve_spread <= 1 (see CurveAt).
  SimulatedEvaluator(absl::Duration duration, double noise, uint64_t seed,
                     Landscape landscape = Landscape::kStructured,
                     double curve_spread = 1.0)
      : duration_(duration),
        noise_(noise),
        seed_(seed),
        landscape_(landscape),
        curve_spread_(curve_spread) {}

  std::string name() const override { return "simulated"; }
  EvaluationResult Evaluate(const v1::Task& task,
                            const EvaluationCallbacks& callbacks) override;

  // The noiseless fitness of a genotype text on the hash landscape, in
  // [0.5, 0.95].
  static double BaseFitness(const std::string& canonical_text);
  // The simulated learning curve: the validation fitness at `epoch` of
  // `epochs` of a genotype whose final fitness is `final_fitness`, before
  // noise. Rises to exactly final_fitness at the last epoch. How far below
  // it a curve starts and how fast it closes the gap depend on the genotype
  // by `spread`: at 1 they vary widely (start 20-60 % below, from late
  // bloomers to fast starters), so early fitness says little about final
  // fitness; at 0 every genotype has the same shape and only the noise
  // reorders children. SIMULATED, not measured.
  static double CurveAt(const std::string& canonical_text,
                        double final_fitness, int epoch, int epochs,
                        double spread = 1.0);

 private:
  const absl::Duration duration_;
  const double noise_;
  const uint64_t seed_;
  const Landscape landscape_;
  const double curve_spread_;
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_SIMULATED_EVALUATOR_H_
