// The genotype of the NASNet search space: a normal cell and a reduction cell.
//
// A cell has hidden states 0 (output of the previous cell) and 1 (output of
// the cell before it), then five pairwise combinations. Combination i
// (0..4) applies ops[2i] to state inputs[2i] and ops[2i+1] to state
// inputs[2i+1], adds the two results and creates state i + 2. An input may
// only name an earlier state, inputs[2i], inputs[2i+1] in [0, i + 1], so no
// loop can form.
//
// The cell's output concatenates a set of states. By default (empty
// `concat`) that is every state no combination consumes, as in the paper's
// search. The published cells carry their own set, which is *not* derived
// from the inputs (AmoebaNet-A's normal cell concatenates 1, 3, 4, 6 although
// 1 is consumed), so a cell may list it explicitly.
//
// Genotype and Cell are plain values: copyable, comparable, no invariants
// enforced by the type. Validate() tells whether one describes a network.
#ifndef AMOEBA_GENOTYPE_GENOTYPE_H_
#define AMOEBA_GENOTYPE_GENOTYPE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "genotype/ops.h"

namespace amoeba {

inline constexpr int kNumCombinations = 5;
inline constexpr int kNumPositions = 2 * kNumCombinations;  // ops and inputs
inline constexpr int kNumCellInputs = 2;                    // states 0 and 1
inline constexpr int kNumStates = kNumCellInputs + kNumCombinations;

enum class CellType : uint8_t { kNormal = 0, kReduction = 1 };

// "normal" or "reduction".
std::string CellTypeName(CellType type);

struct Cell {
  std::array<Op, kNumPositions> ops{};
  std::array<int, kNumPositions> inputs{};
  // States concatenated into the output, in any order. Empty means the
  // default: every state that no combination consumes.
  std::vector<int> concat;

  friend bool operator==(const Cell& a, const Cell& b) {
    return a.ops == b.ops && a.inputs == b.inputs && a.concat == b.concat;
  }
  friend bool operator!=(const Cell& a, const Cell& b) { return !(a == b); }
};

struct Genotype {
  Cell normal;
  Cell reduction;

  const Cell& cell(CellType type) const {
    return type == CellType::kNormal ? normal : reduction;
  }
  Cell& cell(CellType type) {
    return type == CellType::kNormal ? normal : reduction;
  }

  friend bool operator==(const Genotype& a, const Genotype& b) {
    return a.normal == b.normal && a.reduction == b.reduction;
  }
  friend bool operator!=(const Genotype& a, const Genotype& b) {
    return !(a == b);
  }
};

// The combination that position p (0..9) belongs to, and which element.
inline int CombinationOf(int position) { return position / 2; }
inline int ElementOf(int position) { return position % 2; }

// "combination 2, second element" for messages.
std::string DescribePosition(int position);

// Bit s is set when some combination reads state s.
// REQUIRES: every input in [0, kNumStates).
uint32_t ConsumedStates(const Cell& cell);

// Bit s is set when state s is concatenated into the cell's output: the
// explicit `concat` set, or every unconsumed state by default.
// REQUIRES: ValidateCell(cell, ...) is OK.
uint32_t OutputStates(const Cell& cell);

// The states of OutputStates(), ascending.
std::vector<int> OutputStateList(const Cell& cell);

// OK when `cell` describes a network. Otherwise InvalidArgument naming the
// cell, the position (combination and element) or concat entry, the bad
// value and why it is bad. Never crashes, whatever the field values are.
// An explicit concat must name states in [0, 6], each once, and must include
// every combination output (state 2..6) that nothing consumes: otherwise that
// state would be computed and then dropped.
absl::Status ValidateCell(const Cell& cell, CellType type);

// ValidateCell on both cells.
absl::Status ValidateGenotype(const Genotype& genotype);

// The canonical representative of the genotype's equivalence class: the two
// elements of every combination ordered by (input, op) (addition commutes,
// so the network is the same), and `concat` sorted, or cleared when it equals
// the default. Two genotypes that compute the same network this way have
// equal canonical forms.
// REQUIRES: ValidateGenotype(genotype) is OK.
Genotype Canonicalize(const Genotype& genotype);
Cell CanonicalizeCell(const Cell& cell);

}  // namespace amoeba

#endif  // AMOEBA_GENOTYPE_GENOTYPE_H_
