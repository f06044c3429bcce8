#include "genotype/dot.h"

#include <string>

#include "catch2/catch.hpp"
#include "genotype/known_cells.h"

namespace amoeba {
namespace {

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

TEST_CASE("A cell's DOT has inputs, ten ops, five adds and a concat") {
  const Genotype g = AmoebaNetA();
  const std::string dot = CellToDot(g.normal, CellType::kNormal);
  CHECK(dot.rfind("digraph normal_cell {", 0) == 0);
  CHECK(Count(dot, "{") == Count(dot, "}"));
  CHECK(Count(dot, "shape=box]") == 10);     // ops
  CHECK(Count(dot, "shape=circle") == 5);    // adds
  CHECK(Count(dot, "shape=box3d") == 1);     // concat
  CHECK(Count(dot, "-> normal_concat") == 4);  // states 1, 3, 4, 6
  CHECK_THAT(dot, Catch::Contains("normal_s1 -> normal_concat"));
  CHECK_THAT(dot, Catch::Contains("normal_s5 -> normal_op8"));
  CHECK_THAT(dot, Catch::Contains("normal_op8 -> normal_s6"));
  CHECK_THAT(dot, Catch::Contains("label=\"sep_conv_5x5\""));
  CHECK(Count(dot, "stride 2") == 0);
}

TEST_CASE("Reduction cells mark strided ops") {
  const Genotype g = AmoebaNetA();
  const std::string dot = CellToDot(g.reduction, CellType::kReduction);
  int reads_input = 0;
  for (int input : g.reduction.inputs) reads_input += input < 2 ? 1 : 0;
  CHECK(Count(dot, "stride 2") == reads_input);
  CHECK(Count(dot, "-> reduction_concat") == 5);
}

TEST_CASE("A genotype's DOT holds both cells as clusters") {
  const std::string dot = GenotypeToDot(NasNetA());
  CHECK(dot.rfind("digraph genotype {", 0) == 0);
  CHECK_THAT(dot, Catch::Contains("subgraph cluster_normal"));
  CHECK_THAT(dot, Catch::Contains("subgraph cluster_reduction"));
  CHECK(Count(dot, "shape=box]") + Count(dot, "shape=box];") >= 20);
  CHECK(Count(dot, "{") == Count(dot, "}"));
  // Ids of the two cells never collide.
  CHECK(Count(dot, "normal_op9 [") == 1);
  CHECK(Count(dot, "reduction_op9 [") == 1);
}

}  // namespace
}  // namespace amoeba
