#include "genotype/fingerprint.h"

#include <set>
#include <utility>

#include "catch2/catch.hpp"
#include "common/rng.h"
#include "genotype/known_cells.h"
#include "genotype/mutation.h"
#include "genotype/text.h"

namespace amoeba {
namespace {

Genotype SwapPair(Genotype g, CellType type, int combination) {
  Cell& cell = g.cell(type);
  std::swap(cell.ops[2 * combination], cell.ops[2 * combination + 1]);
  std::swap(cell.inputs[2 * combination], cell.inputs[2 * combination + 1]);
  return g;
}

TEST_CASE("Fingerprints are fixed values (stable across runs and machines)") {
  // Expected values come from an independent Python implementation of
  // FNV-1a 64 + the SplitMix64 finalizer over the canonical texts. A change
  // here invalidates every stored fingerprint.
  CHECK(FingerprintHex(FingerprintOfText("")) == "f52a15e9a9b5e89b");
  CHECK(FingerprintHex(0x1234) == "0000000000001234");
  CHECK(Fingerprint(AmoebaNetA()) ==
        FingerprintOfText(CanonicalText(AmoebaNetA())));
  CHECK(FingerprintHex(Fingerprint(AmoebaNetA())) == "353f1cfe8196c311");
  CHECK(FingerprintHex(Fingerprint(NasNetA())) == "c286a29601d8633d");
}

TEST_CASE("Swapping the two elements of a pair keeps the fingerprint") {
  Rng rng(99);
  for (int i = 0; i < 2000; ++i) {
    const Genotype g = RandomGenotype(rng);
    const uint64_t fp = Fingerprint(g);
    const auto type = static_cast<CellType>(rng.Uniform(2));
    const int combination = static_cast<int>(rng.Uniform(kNumCombinations));
    const Genotype swapped = SwapPair(g, type, combination);
    REQUIRE(Fingerprint(swapped) == fp);
    REQUIRE(CanonicalText(swapped) == CanonicalText(g));
  }
  // All ten pairs of a published genotype swapped at once.
  Genotype all = AmoebaNetA();
  for (CellType t : {CellType::kNormal, CellType::kReduction}) {
    for (int c = 0; c < kNumCombinations; ++c) all = SwapPair(all, t, c);
  }
  CHECK(Fingerprint(all) == Fingerprint(AmoebaNetA()));
}

TEST_CASE("Every real single-value change alters the fingerprint") {
  Rng rng(7);
  std::vector<Genotype> bases = {AmoebaNetA(), NasNetA()};
  for (int i = 0; i < 20; ++i) bases.push_back(RandomGenotype(rng));
  int changes = 0;
  for (const Genotype& base : bases) {
    const uint64_t fp = Fingerprint(base);
    for (CellType t : {CellType::kNormal, CellType::kReduction}) {
      for (int p = 0; p < kNumPositions; ++p) {
        for (Op op : AllOps()) {
          if (op == base.cell(t).ops[p]) continue;
          Genotype changed = base;
          changed.cell(t).ops[p] = op;
          REQUIRE(Fingerprint(changed) != fp);
          ++changes;
        }
        for (int in = 0; in < CombinationOf(p) + kNumCellInputs; ++in) {
          if (in == base.cell(t).inputs[p]) continue;
          Genotype changed = base;
          changed.cell(t).inputs[p] = in;
          if (!changed.cell(t).concat.empty()) {
            // Keep an explicit concat valid (as mutations do).
            changed.cell(t).concat = OutputStateList(changed.cell(t));
            Cell defaulted = changed.cell(t);
            defaulted.concat.clear();
            for (int s : OutputStateList(defaulted)) {
              if (!(OutputStates(changed.cell(t)) & (1u << s))) {
                changed.cell(t).concat.push_back(s);
              }
            }
          }
          REQUIRE(ValidateGenotype(changed).ok());
          REQUIRE(Fingerprint(changed) != fp);
          ++changes;
        }
      }
    }
  }
  CHECK(changes > 3000);
}

TEST_CASE("10,000 random genotypes give 10,000 distinct fingerprints") {
  Rng rng(11);
  std::set<std::string> texts;
  std::set<uint64_t> fingerprints;
  for (int i = 0; i < 10000; ++i) {
    const Genotype g = RandomGenotype(rng);
    texts.insert(CanonicalText(g));
    fingerprints.insert(Fingerprint(g));
  }
  // Collisions of distinct canonical texts would be a hash defect.
  CHECK(fingerprints.size() == texts.size());
}

}  // namespace
}  // namespace amoeba
