// Aging evolution (Regularized Evolution) as a library, without the
// service: P=50, S=10, 2,000 children on the simulated landscape
// (landscape.h), one at a time. Prints the best fitness every 250 children
// and the best genotype at the end.
//
//   bazel run //evolution:example
#include <cstdio>

#include "evolution/engine.h"
#include "evolution/landscape.h"
#include "genotype/text.h"

int main() {
  amoeba::EngineConfig config;
  config.algorithm = amoeba::Algorithm::kAging;
  config.population_size = 50;
  config.sample_size = 10;
  config.budget = 2000;
  config.seed = 1;
  amoeba::Engine engine(config);

  double best = 0;
  amoeba::Genotype best_genotype;
  while (engine.WantsChild(/*in_flight=*/0)) {
    const amoeba::NewChild child = engine.CreateChild();
    // A real search trains the child here; the landscape stands in.
    const double fitness =
        amoeba::StructuredFitness(child.genotype, /*seed=*/7);
    engine.AddResult(child.id, child.genotype, fitness);
    if (fitness > best) {
      best = fitness;
      best_genotype = child.genotype;
    }
    if (engine.completed() % 250 == 0) {
      std::printf("%5lld children: best %.4f\n",
                  static_cast<long long>(engine.completed()), best);
    }
  }
  std::printf("best genotype:\n%s\n",
              amoeba::FormatGenotype(best_genotype).c_str());
  return 0;
}
