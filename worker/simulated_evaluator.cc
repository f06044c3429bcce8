#include "worker/simulated_evaluator.h"

#include <algorithm>
#include <cmath>

#include "absl/time/clock.h"
#include "common/rng.h"
#include "absl/strings/str_cat.h"
#include "genotype/fingerprint.h"
#include "evolution/landscape.h"
#include "genotype/text.h"

namespace amoeba {

double SimulatedEvaluator::BaseFitness(const std::string& canonical_text) {
  const uint64_t fp = FingerprintOfText(canonical_text);
  return 0.5 + 0.45 * static_cast<double>(fp >> 11) * 0x1.0p-53;
}

double SimulatedEvaluator::CurveAt(const std::string& canonical_text,
                                   double final_fitness, int epoch, int epochs,
                                   double spread) {
  // A shape per genotype: how far below its final value it starts (depth)
  // and how fast it closes the gap (exponent: small for a late bloomer,
  // large for a fast starter), so curves of different genotypes cross, as
  // real ones do; `spread` scales how much the shapes differ.
  const uint64_t fp = FingerprintOfText(canonical_text) * 0x9e3779b97f4a7c15ULL;
  const double u = static_cast<double>(fp >> 40) * 0x1.0p-24;
  const double v = static_cast<double>((fp >> 16) & 0xffffff) * 0x1.0p-24;
  const double depth = 0.4 + spread * 0.4 * (u - 0.5);
  const double exponent = 1.75 - spread * 2.5 * (v - 0.5);
  const double left = 1.0 - static_cast<double>(epoch) / epochs;
  return final_fitness * (1.0 - depth * std::pow(left, exponent));
}

EvaluationResult SimulatedEvaluator::Evaluate(
    const v1::Task& task, const EvaluationCallbacks& callbacks) {
  EvaluationResult result;
  // The search is in the noise's seed: repeated searches must not share
  // their noise.
  const uint64_t seed =
      seed_ ^ (static_cast<uint64_t>(task.model_id()) * 0x9e3779b97f4a7c15ULL) ^
      static_cast<uint64_t>(task.attempt()) ^
      (FingerprintOfText(task.search_id()) * 0xbf58476d1ce4e5b9ULL);
  Rng rng(seed);
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
  const double final_fitness = std::clamp(noisy, 0.0, 1.0);
  // Each epoch's validation noise from its own stream, so the final value
  // is the same whether or not the curve is looked at.
  Rng epoch_noise(seed ^ 0x5eed0fcc1e5ULL);

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
    double validation = final_fitness;
    if (epoch < epochs) {
      validation = std::clamp(
          CurveAt(task.genotype_text(), final_fitness, epoch, epochs,
                      curve_spread_) +
              noise_ * (2.0 * epoch_noise.UniformDouble() - 1.0),
          0.0, 1.0);
    }
    EvaluationProgress p;
    p.epoch = epoch;
    p.epochs = epochs;
    p.train_loss = 1.0 / epoch;
    p.validation_accuracy = validation;
    if (callbacks.on_progress) callbacks.on_progress(p);
    if (epoch < epochs && callbacks.stop_early && callbacks.stop_early(p)) {
      result.ok = true;
      result.fitness = validation;
      result.stopped_epoch = epoch;
      result.train_seconds = absl::ToDoubleSeconds(absl::Now() - start);
      return result;
    }
  }
  result.ok = true;
  result.fitness = final_fitness;
  result.train_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return result;
}

}  // namespace amoeba
