// The simulated evaluator's learning curves and early stopping. (The
// LibTorch evaluator runs in worker_test and the multi-process tests.)
#include "worker/simulated_evaluator.h"

#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "genotype/mutation.h"
#include "genotype/text.h"
#include "common/rng.h"

namespace amoeba {
namespace {

v1::Task TaskOf(const std::string& genotype_text, int64_t id, int epochs) {
  v1::Task task;
  task.set_model_id(id);
  task.set_attempt(1);
  task.set_search_id("s");
  task.set_genotype_text(genotype_text);
  task.mutable_settings()->set_epochs(epochs);
  return task;
}

std::vector<std::string> RandomGenotypes(int n) {
  Rng rng(11);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(CanonicalText(RandomGenotype(rng)));
  return out;
}

TEST_CASE("simulated curves rise to the final fitness and cross") {
  SimulatedEvaluator evaluator(absl::ZeroDuration(), 0.01, 5);
  const auto genotypes = RandomGenotypes(20);
  std::vector<std::vector<double>> curves;
  for (size_t i = 0; i < genotypes.size(); ++i) {
    std::vector<double> curve;
    EvaluationCallbacks callbacks;
    callbacks.on_progress = [&](const EvaluationProgress& p) {
      curve.push_back(p.validation_accuracy);
    };
    const EvaluationResult r =
        evaluator.Evaluate(TaskOf(genotypes[i], i + 1, 10), callbacks);
    REQUIRE(r.ok);
    REQUIRE(curve.size() == 10);
    CHECK(curve.back() == r.fitness);
    CHECK(curve.front() < r.fitness);
    CHECK(r.stopped_epoch == 0);
    // Looking at the curve changes nothing: the same fitness without it.
    CHECK(evaluator.Evaluate(TaskOf(genotypes[i], i + 1, 10), {}).fitness ==
          r.fitness);
    curves.push_back(curve);
  }
  // Some pair is ordered one way at epoch 2 and the other way at the end.
  bool crossed = false;
  for (size_t a = 0; a < curves.size(); ++a) {
    for (size_t b = 0; b < curves.size(); ++b) {
      crossed |= curves[a][1] > curves[b][1] + 0.02 &&
                 curves[a].back() + 0.02 < curves[b].back();
    }
  }
  CHECK(crossed);
}

TEST_CASE("with no curve spread, early fitness ranks as final fitness does") {
  SimulatedEvaluator evaluator(absl::ZeroDuration(), 0.01, 5,
                               Landscape::kStructured, /*curve_spread=*/0.0);
  const auto genotypes = RandomGenotypes(30);
  std::vector<std::pair<double, double>> early_and_final;
  for (size_t i = 0; i < genotypes.size(); ++i) {
    double early = 0;
    EvaluationCallbacks callbacks;
    callbacks.on_progress = [&](const EvaluationProgress& p) {
      if (p.epoch == 2) early = p.validation_accuracy;
    };
    const EvaluationResult r =
        evaluator.Evaluate(TaskOf(genotypes[i], i + 1, 10), callbacks);
    REQUIRE(r.ok);
    CHECK(early < r.fitness);
    early_and_final.emplace_back(early, r.fitness);
  }
  // Noise (0.01 a reading) is all that can reorder two children: clearly
  // different final fitness keeps its order at epoch 2.
  int compared = 0;
  for (const auto& a : early_and_final) {
    for (const auto& b : early_and_final) {
      if (a.second > b.second + 0.05) {
        ++compared;
        CHECK(a.first > b.first);
      }
    }
  }
  CHECK(compared > 0);
}

TEST_CASE("a simulated evaluation stops where it is told, with that fitness") {
  SimulatedEvaluator evaluator(absl::ZeroDuration(), 0.01, 5);
  const std::string genotype = RandomGenotypes(1)[0];
  std::vector<EvaluationProgress> seen;
  EvaluationCallbacks callbacks;
  callbacks.on_progress = [&](const EvaluationProgress& p) { seen.push_back(p); };
  callbacks.stop_early = [](const EvaluationProgress& p) { return p.epoch == 3; };
  const EvaluationResult r = evaluator.Evaluate(TaskOf(genotype, 1, 8), callbacks);
  REQUIRE(r.ok);
  CHECK(r.stopped_epoch == 3);
  REQUIRE(seen.size() == 3);
  CHECK(r.fitness == seen[2].validation_accuracy);
}

}  // namespace
}  // namespace amoeba
