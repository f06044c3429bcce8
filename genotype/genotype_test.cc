#include "genotype/genotype.h"

#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "genotype/known_cells.h"

namespace amoeba {
namespace {

Cell ChainCell() {
  // Every combination reads the previous state: only state 6 is unused.
  Cell cell;
  for (int c = 0; c < kNumCombinations; ++c) {
    cell.ops[2 * c] = Op::kSepConv3x3;
    cell.ops[2 * c + 1] = Op::kNone;
    cell.inputs[2 * c] = c + 1;
    cell.inputs[2 * c + 1] = c;
  }
  return cell;
}

std::string ErrorOf(const Cell& cell, CellType type = CellType::kNormal) {
  return std::string(ValidateCell(cell, type).message());
}

TEST_CASE("Default output is every unconsumed state") {
  const Cell cell = ChainCell();
  REQUIRE(ValidateCell(cell, CellType::kNormal).ok());
  CHECK(OutputStateList(cell) == std::vector<int>{6});
  CHECK(ConsumedStates(cell) == 0b0111111u);
}

TEST_CASE("Unused input states are part of the default output") {
  Cell cell = ChainCell();
  cell.inputs[1] = 1;  // state 0 is no longer read by anyone
  REQUIRE(ValidateCell(cell, CellType::kNormal).ok());
  CHECK(OutputStateList(cell) == std::vector<int>{0, 6});
}

TEST_CASE("Validation names cell, position and reason") {
  Cell cell = ChainCell();
  cell.inputs[5] = 4;  // combination 2 creates state 4
  CHECK(ErrorOf(cell, CellType::kReduction) ==
        "reduction cell, position 5 (combination 2, second element): input 4 "
        "is not an earlier state: state 4 is the one this combination creates "
        "(a loop); combination 2 may read states 0..3");

  cell = ChainCell();
  cell.inputs[0] = 5;
  CHECK_THAT(ErrorOf(cell), Catch::Contains("position 0") &&
                                Catch::Contains("state 5 is created later"));
  cell.inputs[0] = -3;
  CHECK_THAT(ErrorOf(cell), Catch::Contains("cannot be negative"));
  cell.inputs[0] = 1 << 30;
  CHECK_THAT(ErrorOf(cell), Catch::Contains("only states 0..6"));

  cell = ChainCell();
  cell.ops[7] = static_cast<Op>(12);
  CHECK_THAT(ErrorOf(cell),
             Catch::Contains("position 7 (combination 3, second element)") &&
                 Catch::Contains("op value 12 is not one of the 8 ops"));
}

TEST_CASE("Explicit concat is checked") {
  Cell cell = ChainCell();
  cell.concat = {6, 2};
  CHECK(ValidateCell(cell, CellType::kNormal).ok());
  CHECK(OutputStateList(cell) == std::vector<int>{2, 6});

  cell.concat = {2};
  CHECK_THAT(ErrorOf(cell), Catch::Contains("state 6 is neither consumed"));
  cell.concat = {6, 6};
  CHECK_THAT(ErrorOf(cell), Catch::Contains("state 6 is listed twice"));
  cell.concat = {6, 7};
  CHECK_THAT(ErrorOf(cell), Catch::Contains("state 7 does not exist"));
  cell.concat = {-1};
  CHECK_THAT(ErrorOf(cell), Catch::Contains("state -1 does not exist"));
}

TEST_CASE("Canonicalize orders pairs and normalizes concat") {
  Genotype g{ChainCell(), ChainCell()};
  const Genotype canonical = Canonicalize(g);
  // (c+1, sep) vs (c, none): the lower input goes first.
  CHECK(canonical.normal.inputs[0] == 0);
  CHECK(canonical.normal.ops[0] == Op::kNone);
  CHECK(canonical.normal.inputs[1] == 1);
  CHECK(Canonicalize(canonical) == canonical);

  // An explicit concat equal to the default is dropped; others are sorted.
  g.normal.concat = {6};
  CHECK(Canonicalize(g).normal.concat.empty());
  g.normal.concat = {6, 1};
  CHECK(Canonicalize(g).normal.concat == std::vector<int>{1, 6});

  // Equal inputs: ordered by op.
  Cell same_input = ChainCell();
  same_input.inputs[0] = 0;
  same_input.ops[0] = Op::kMaxPool3x3;
  same_input.ops[1] = Op::kAvgPool3x3;
  const Cell c = CanonicalizeCell(same_input);
  CHECK(c.ops[0] == Op::kAvgPool3x3);
  CHECK(c.ops[1] == Op::kMaxPool3x3);
}

TEST_CASE("Genotype accessors and names") {
  Genotype g = AmoebaNetA();
  CHECK(&g.cell(CellType::kNormal) == &g.normal);
  CHECK(&g.cell(CellType::kReduction) == &g.reduction);
  CHECK(CellTypeName(CellType::kReduction) == "reduction");
  CHECK(DescribePosition(9) == "combination 4, second element");
  CHECK(AllOps().size() == 8);
  for (Op op : AllOps()) CHECK(OpFromName(OpName(op)) == op);
  CHECK_FALSE(OpFromName("sep_conv_9x9").has_value());
  CHECK(OpName(static_cast<Op>(200)) == "invalid_op_200");
}

}  // namespace
}  // namespace amoeba
