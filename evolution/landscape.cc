#include "evolution/landscape.h"

#include <algorithm>
#include <cmath>

namespace amoeba {
namespace {

// SplitMix64 of the seed and a term's coordinates: a weight in [-1, 1] that
// needs no table.
double Weight(uint64_t seed, uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t x = seed ^ (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xbf58476d1ce4e5b9ULL) ^
               (c * 0x94d049bb133111ebULL) ^ (d * 0x2545f4914f6cdd1dULL);
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return 2.0 * static_cast<double>(x >> 11) * 0x1.0p-53 - 1.0;
}

enum Term : uint64_t { kOp = 1, kInput = 2, kPair = 3 };

}  // namespace

double StructuredFitness(const Genotype& given, uint64_t seed) {
  // The same sum in the same order for every form of one genotype.
  const Genotype genotype = Canonicalize(given);
  double score = 0;
  for (CellType type : {CellType::kNormal, CellType::kReduction}) {
    const Cell& cell = genotype.cell(type);
    const uint64_t t = static_cast<uint64_t>(type);
    for (int c = 0; c < kNumCombinations; ++c) {
      int ops[2];
      for (int e = 0; e < 2; ++e) {
        const int p = 2 * c + e;
        ops[e] = static_cast<int>(cell.ops[p]);
        score += 1.0 * Weight(seed, kOp, t, c, ops[e]);
        score += 0.5 * Weight(seed, kInput, t, c, cell.inputs[p]);
      }
      // Unordered: the same for either order of the two elements.
      const int lo = std::min(ops[0], ops[1]);
      const int hi = std::max(ops[0], ops[1]);
      score += 0.5 * Weight(seed, kPair, t, c, lo * kNumOps + hi);
    }
  }
  return 0.5 + 0.45 * std::tanh(score / 6.0);
}

}  // namespace amoeba
