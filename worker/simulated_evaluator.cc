#include "worker/simulated_evaluator.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "common/rng.h"
#include "absl/strings/str_cat.h"
#include "genotype/fingerprint.h"
#include "genotype/landscape.h"
#include "genotype/text.h"

namespace amoeba {

double SimulatedEvaluator::BaseFitness(const std::string& canonical_text) {
  const uint64_t fp = FingerprintOfText(canonical_text);
  return 0.5 + 0.45 * static_cast<double>(fp >> 11) * 0x1.0p-53;
}

EvaluationResult SimulatedEvaluator::Evaluate(
    const v1::Task& task, const EvaluationCallbacks& callbacks) {
  EvaluationResult result;
  const int epochs = std::max(1, task.settings().epochs());
  const absl::Duration per_epoch = duration_ / epochs;
  const absl::Time start = absl::Now();
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    // Sleep in small slices so cancellation is prompt.
    const absl::Time epoch_end = absl::Now() + per_epoch;
    while (absl::Now() < epoch_end) {
      if (callbacks.should_cancel && callbacks.should_cancel()) {
        result.cancelled = true;
        result.failure = "cancelled";
        return result;
      }
      absl::SleepFor(std::min(absl::Milliseconds(10), epoch_end - absl::Now()));
    }
    if (callbacks.on_progress) {
      EvaluationProgress p;
      p.epoch = epoch;
      p.epochs = epochs;
      p.train_loss = 1.0 / epoch;
      callbacks.on_progress(p);
    }
  }
  // The search is in the noise's seed: repeated searches must not share
  // their noise.
  Rng rng(seed_ ^ (static_cast<uint64_t>(task.model_id()) * 0x9e3779b97f4a7c15ULL) ^
          static_cast<uint64_t>(task.attempt()) ^
          (FingerprintOfText(task.search_id()) * 0xbf58476d1ce4e5b9ULL));
  double base = 0;
  if (landscape_ == Landscape::kHash) {
    base = BaseFitness(task.genotype_text());
  } else {
    absl::StatusOr<Genotype> genotype = ParseGenotype(task.genotype_text());
    if (!genotype.ok()) {
      result.failure = absl::StrCat("simulated evaluator: bad genotype: ",
                                    genotype.status().message());
      return result;
    }
    base = StructuredFitness(*genotype, seed_);
  }
  const double noisy = base + noise_ * (2.0 * rng.UniformDouble() - 1.0);
  result.ok = true;
  result.fitness = std::clamp(noisy, 0.0, 1.0);
  result.train_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return result;
}

}  // namespace amoeba
