#include "genotype/genotype.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace amoeba {

std::string CellTypeName(CellType type) {
  return type == CellType::kNormal ? "normal" : "reduction";
}

std::string DescribePosition(int position) {
  return absl::StrFormat("combination %d, %s element", CombinationOf(position),
                         ElementOf(position) == 0 ? "first" : "second");
}

uint32_t ConsumedStates(const Cell& cell) {
  uint32_t consumed = 0;
  for (int input : cell.inputs) consumed |= 1u << input;
  return consumed;
}

uint32_t OutputStates(const Cell& cell) {
  if (!cell.concat.empty()) {
    uint32_t mask = 0;
    for (int s : cell.concat) mask |= 1u << s;
    return mask;
  }
  const uint32_t all = (1u << kNumStates) - 1;
  return all & ~ConsumedStates(cell);
}

std::vector<int> OutputStateList(const Cell& cell) {
  const uint32_t mask = OutputStates(cell);
  std::vector<int> states;
  for (int s = 0; s < kNumStates; ++s) {
    if (mask & (1u << s)) states.push_back(s);
  }
  return states;
}

absl::Status ValidateCell(const Cell& cell, CellType type) {
  const std::string where = CellTypeName(type) + " cell";
  for (int p = 0; p < kNumPositions; ++p) {
    if (!IsValidOp(cell.ops[p])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s, position %d (%s): op value %d is not one of the %d ops (%s)",
          where, p, DescribePosition(p), static_cast<int>(cell.ops[p]), kNumOps,
          AllOpNames()));
    }
  }
  for (int p = 0; p < kNumPositions; ++p) {
    const int combination = CombinationOf(p);
    const int created = combination + kNumCellInputs;
    const int input = cell.inputs[p];
    if (input >= 0 && input < created) continue;
    std::string why;
    if (input < 0) {
      why = "a state index cannot be negative";
    } else if (input == created) {
      why = absl::StrFormat(
          "state %d is the one this combination creates (a loop)", created);
    } else if (input < kNumStates) {
      why = absl::StrFormat("state %d is created later (a loop)", input);
    } else {
      why = absl::StrFormat("a cell has only states 0..%d", kNumStates - 1);
    }
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s, position %d (%s): input %d is not an earlier state: %s; "
        "combination %d may read states 0..%d",
        where, p, DescribePosition(p), input, why, combination, created - 1));
  }
  if (cell.concat.empty()) return absl::OkStatus();

  uint32_t listed = 0;
  for (int s : cell.concat) {
    if (s < 0 || s >= kNumStates) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s, concat: state %d does not exist; states are 0..%d", where, s,
          kNumStates - 1));
    }
    if (listed & (1u << s)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s, concat: state %d is listed twice", where, s));
    }
    listed |= 1u << s;
  }
  const uint32_t consumed = ConsumedStates(cell);
  for (int s = kNumCellInputs; s < kNumStates; ++s) {
    const uint32_t bit = 1u << s;
    if (!(consumed & bit) && !(listed & bit)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s, concat: state %d is neither consumed by a combination nor "
          "concatenated, so it would be computed and dropped; add it to concat",
          where, s));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateGenotype(const Genotype& genotype) {
  RETURN_IF_ERROR(ValidateCell(genotype.normal, CellType::kNormal));
  return ValidateCell(genotype.reduction, CellType::kReduction);
}

Cell CanonicalizeCell(const Cell& cell) {
  Cell canonical = cell;
  for (int c = 0; c < kNumCombinations; ++c) {
    const int a = 2 * c;
    const int b = a + 1;
    const auto key_a = std::make_pair(cell.inputs[a], cell.ops[a]);
    const auto key_b = std::make_pair(cell.inputs[b], cell.ops[b]);
    if (key_b < key_a) {
      std::swap(canonical.inputs[a], canonical.inputs[b]);
      std::swap(canonical.ops[a], canonical.ops[b]);
    }
  }
  if (!canonical.concat.empty()) {
    const uint32_t explicit_mask = OutputStates(canonical);
    Cell defaulted = canonical;
    defaulted.concat.clear();
    if (explicit_mask == OutputStates(defaulted)) {
      canonical.concat.clear();
    } else {
      std::sort(canonical.concat.begin(), canonical.concat.end());
    }
  }
  return canonical;
}

Genotype Canonicalize(const Genotype& genotype) {
  return Genotype{CanonicalizeCell(genotype.normal),
                  CanonicalizeCell(genotype.reduction)};
}

}  // namespace amoeba
