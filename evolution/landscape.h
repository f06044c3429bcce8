// A structured synthetic fitness landscape, for tests and benchmarks of the
// search algorithms without training: SIMULATED, never a real evaluation.
// A genotype's score is a sum of per-decision contributions (each op and
// each input of every combination, per cell type) plus pairwise
// interactions (the two ops of each combination), all drawn from the
// landscape's seed; the fitness is that score squashed into (0.05, 0.95).
// Mutations that improve one decision improve the fitness, so evolution can
// climb and a policy can learn, unlike on a hash of the genotype, where no
// algorithm beats random search.
#ifndef AMOEBA_EVOLUTION_LANDSCAPE_H_
#define AMOEBA_EVOLUTION_LANDSCAPE_H_

#include <cstdint>

#include "genotype/genotype.h"

namespace amoeba {

// The noiseless fitness of `genotype` on landscape `seed`, in (0.05, 0.95).
// Depends only on the genotype's canonical form.
double StructuredFitness(const Genotype& genotype, uint64_t seed);

}  // namespace amoeba

#endif  // AMOEBA_EVOLUTION_LANDSCAPE_H_
