#include "genotype/mutation.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace amoeba {
namespace {

// Keeps an explicit concat valid: adds every combination output that the
// mutated cell no longer consumes.
void RepairConcat(Cell& cell) {
  if (cell.concat.empty()) return;
  const uint32_t consumed = ConsumedStates(cell);
  for (int s = kNumCellInputs; s < kNumStates; ++s) {
    if (consumed & (1u << s)) continue;
    if (std::find(cell.concat.begin(), cell.concat.end(), s) ==
        cell.concat.end()) {
      cell.concat.push_back(s);
    }
  }
}

// Uniform over [0, count) without `excluded`.
// REQUIRES: count >= 2, 0 <= excluded < count.
int UniformExcept(Rng& rng, int count, int excluded) {
  const int drawn = static_cast<int>(rng.Uniform(count - 1));
  return drawn >= excluded ? drawn + 1 : drawn;
}

}  // namespace

std::string MutationKindName(MutationKind kind) {
  switch (kind) {
    case MutationKind::kIdentity:
      return "identity";
    case MutationKind::kHiddenState:
      return "hidden_state";
    case MutationKind::kOp:
      return "op";
  }
  return "unknown";
}

std::string Mutation::Describe() const {
  if (kind == MutationKind::kIdentity) return "identity";
  const std::string where = absl::StrFormat(
      "%s cell, %s", CellTypeName(cell), DescribePosition(position));
  if (kind == MutationKind::kOp) {
    return absl::StrFormat("op: %s: %s -> %s", where,
                           OpName(static_cast<Op>(old_value)),
                           OpName(static_cast<Op>(new_value)));
  }
  return absl::StrFormat("hidden_state: %s: input %d -> %d", where, old_value,
                         new_value);
}

Genotype RandomGenotype(Rng& rng) {
  Genotype genotype;
  for (CellType type : {CellType::kNormal, CellType::kReduction}) {
    Cell& cell = genotype.cell(type);
    for (int p = 0; p < kNumPositions; ++p) {
      cell.ops[p] = static_cast<Op>(rng.Uniform(kNumOps));
      cell.inputs[p] =
          static_cast<int>(rng.Uniform(CombinationOf(p) + kNumCellInputs));
    }
  }
  return genotype;
}

absl::StatusOr<MutationResult> MutateWithKind(const Genotype& parent,
                                              MutationKind kind, Rng& rng) {
  RETURN_IF_ERROR(ValidateGenotype(parent));
  MutationResult result{parent, Mutation{}};
  Mutation& mutation = result.mutation;
  mutation.kind = kind;
  if (kind == MutationKind::kIdentity) return result;

  mutation.cell = static_cast<CellType>(rng.Uniform(2));
  const int combination = static_cast<int>(rng.Uniform(kNumCombinations));
  const int element = static_cast<int>(rng.Uniform(2));
  mutation.position = 2 * combination + element;
  Cell& cell = result.child.cell(mutation.cell);
  if (kind == MutationKind::kOp) {
    mutation.old_value = static_cast<int>(cell.ops[mutation.position]);
    mutation.new_value = UniformExcept(rng, kNumOps, mutation.old_value);
    cell.ops[mutation.position] = static_cast<Op>(mutation.new_value);
  } else {
    // Combination c may read states 0..c+1; c = 0 has exactly one
    // alternative, so a different value always exists.
    mutation.old_value = cell.inputs[mutation.position];
    mutation.new_value = UniformExcept(
        rng, combination + kNumCellInputs, mutation.old_value);
    cell.inputs[mutation.position] = mutation.new_value;
    RepairConcat(cell);
  }
  return result;
}

absl::StatusOr<MutationResult> Mutate(const Genotype& parent, Rng& rng) {
  const auto kind = static_cast<MutationKind>(rng.Uniform(kNumMutationKinds));
  return MutateWithKind(parent, kind, rng);
}

}  // namespace amoeba
