// Random genotypes and the three mutations of the paper.
//
// Every function here draws only from the amoeba::Rng it is given, in a
// fixed order, so a seed gives the same genotypes on every platform.
#ifndef AMOEBA_GENOTYPE_MUTATION_H_
#define AMOEBA_GENOTYPE_MUTATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/rng.h"
#include "genotype/genotype.h"

namespace amoeba {

enum class MutationKind : uint8_t {
  kIdentity = 0,     // child = parent
  kHiddenState = 1,  // one input replaced by a different earlier state
  kOp = 2,           // one op replaced by a different op
};

inline constexpr int kNumMutationKinds = 3;

// "identity", "hidden_state" or "op".
std::string MutationKindName(MutationKind kind);

// What a mutation changed. For kIdentity only `kind` is meaningful.
struct Mutation {
  MutationKind kind = MutationKind::kIdentity;
  CellType cell = CellType::kNormal;
  int position = -1;   // 0..9: combination position / 2, element position % 2
  int old_value = -1;  // the state index, or the Op's value
  int new_value = -1;

  // e.g. "op: reduction cell, combination 3, second element: sep_conv_3x3 ->
  // max_pool_3x3" or "identity".
  std::string Describe() const;
};

struct MutationResult {
  Genotype child;
  Mutation mutation;
};

// A random genotype: every op uniform over the 8 ops, every input uniform
// over the states it may read; default concat.
Genotype RandomGenotype(Rng& rng);

// The paper's mutation: the kind uniform over the three; for hidden-state
// and op mutations the cell, combination and element are uniform and the
// value changes to a different valid value, uniformly. Elements keep their
// positions (the child is not canonicalized), so `mutation` indexes both.
// A cell with an explicit concat keeps it, plus any combination output the
// mutation leaves unconsumed (so the child is always valid).
// Errors: InvalidArgument when `parent` is not valid.
absl::StatusOr<MutationResult> Mutate(const Genotype& parent, Rng& rng);

// As Mutate, with the kind given instead of drawn.
absl::StatusOr<MutationResult> MutateWithKind(const Genotype& parent,
                                              MutationKind kind, Rng& rng);

}  // namespace amoeba

#endif  // AMOEBA_GENOTYPE_MUTATION_H_
