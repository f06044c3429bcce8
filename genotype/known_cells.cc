#include "genotype/known_cells.h"

#include <algorithm>
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace amoeba {
namespace {

// `used` as the released code writes it: 1 = left out of the concatenation.
Cell MakeCell(const std::array<Op, kNumPositions>& ops,
              const std::array<int, kNumPositions>& inputs,
              const std::array<int, kNumStates>& used) {
  Cell cell;
  cell.ops = ops;
  cell.inputs = inputs;
  for (int s = 0; s < kNumStates; ++s) {
    if (used[s] == 0) cell.concat.push_back(s);
  }
  return cell;
}

constexpr Op kNone = Op::kNone;
constexpr Op kSep3 = Op::kSepConv3x3;
constexpr Op kSep5 = Op::kSepConv5x5;
constexpr Op kSep7 = Op::kSepConv7x7;
constexpr Op kAvg = Op::kAvgPool3x3;
constexpr Op kMax = Op::kMaxPool3x3;
constexpr Op kConv17 = Op::kConv1x7_7x1;

}  // namespace

Genotype AmoebaNetA() {
  return Genotype{
      MakeCell({kAvg, kMax, kSep3, kNone, kNone, kAvg, kSep3, kSep5, kAvg,
                kSep3},
               {0, 0, 1, 1, 0, 1, 0, 2, 5, 0}, {1, 0, 1, 0, 0, 1, 0}),
      MakeCell({kSep3, kAvg, kMax, kSep7, kMax, kMax, kSep3, kConv17, kAvg,
                kSep7},
               {1, 0, 0, 2, 1, 0, 4, 0, 1, 0}, {1, 1, 0, 0, 0, 0, 0}),
  };
}

Genotype NasNetA() {
  return Genotype{
      MakeCell({kSep5, kSep3, kSep5, kSep3, kAvg, kNone, kAvg, kAvg, kSep3,
                kNone},
               {0, 1, 1, 1, 0, 1, 1, 1, 0, 0}, {1, 0, 0, 0, 0, 0, 0}),
      MakeCell({kSep5, kSep7, kMax, kSep7, kAvg, kSep5, kNone, kAvg, kSep3,
                kMax},
               {0, 1, 0, 1, 0, 1, 3, 2, 2, 0}, {1, 1, 1, 0, 0, 0, 0}),
  };
}

std::vector<std::string> KnownGenotypeNames() {
  return {"amoebanet-a", "nasnet-a"};
}

absl::StatusOr<Genotype> KnownGenotype(absl::string_view name) {
  const std::string key =
      absl::StrReplaceAll(absl::AsciiStrToLower(name), {{"_", "-"}});
  if (key == "amoebanet-a") return AmoebaNetA();
  if (key == "nasnet-a") return NasNetA();
  return absl::NotFoundError(
      absl::StrCat("no published genotype named '", name, "'; known: ",
                   absl::StrJoin(KnownGenotypeNames(), ", ")));
}

}  // namespace amoeba
