#include "genotype/known_cells.h"

#include <vector>

#include "catch2/catch.hpp"
#include "genotype/genotype.h"
#include "genotype/text.h"

namespace amoeba {
namespace {

// Stored order, transcribed by hand from DESIGN.md's table (ops, inputs and
// `used`), so a typo in known_cells.cc fails here.
constexpr char kAmoebaNetAText[] =
    "normal: avg_pool_3x3(0)+max_pool_3x3(0) sep_conv_3x3(1)+none(1) "
    "none(0)+avg_pool_3x3(1) sep_conv_3x3(0)+sep_conv_5x5(2) "
    "avg_pool_3x3(5)+sep_conv_3x3(0) concat(1,3,4,6); "
    "reduction: sep_conv_3x3(1)+avg_pool_3x3(0) max_pool_3x3(0)+sep_conv_7x7(2) "
    "max_pool_3x3(1)+max_pool_3x3(0) sep_conv_3x3(4)+conv_1x7_7x1(0) "
    "avg_pool_3x3(1)+sep_conv_7x7(0) concat(2,3,4,5,6)";

constexpr char kNasNetAText[] =
    "normal: sep_conv_5x5(0)+sep_conv_3x3(1) sep_conv_5x5(1)+sep_conv_3x3(1) "
    "avg_pool_3x3(0)+none(1) avg_pool_3x3(1)+avg_pool_3x3(1) "
    "sep_conv_3x3(0)+none(0) concat(1,2,3,4,5,6); "
    "reduction: sep_conv_5x5(0)+sep_conv_7x7(1) max_pool_3x3(0)+sep_conv_7x7(1) "
    "avg_pool_3x3(0)+sep_conv_5x5(1) none(3)+avg_pool_3x3(2) "
    "sep_conv_3x3(2)+max_pool_3x3(0) concat(3,4,5,6)";

// Canonical forms: pairs ordered by (input, op), worked out by hand.
constexpr char kAmoebaNetACanonical[] =
    "normal: avg_pool_3x3(0)+max_pool_3x3(0) none(1)+sep_conv_3x3(1) "
    "none(0)+avg_pool_3x3(1) sep_conv_3x3(0)+sep_conv_5x5(2) "
    "sep_conv_3x3(0)+avg_pool_3x3(5) concat(1,3,4,6); "
    "reduction: avg_pool_3x3(0)+sep_conv_3x3(1) max_pool_3x3(0)+sep_conv_7x7(2) "
    "max_pool_3x3(0)+max_pool_3x3(1) conv_1x7_7x1(0)+sep_conv_3x3(4) "
    "sep_conv_7x7(0)+avg_pool_3x3(1) concat(2,3,4,5,6)";

constexpr char kNasNetACanonical[] =
    "normal: sep_conv_5x5(0)+sep_conv_3x3(1) sep_conv_3x3(1)+sep_conv_5x5(1) "
    "avg_pool_3x3(0)+none(1) avg_pool_3x3(1)+avg_pool_3x3(1) "
    "none(0)+sep_conv_3x3(0) concat(1,2,3,4,5,6); "
    "reduction: sep_conv_5x5(0)+sep_conv_7x7(1) max_pool_3x3(0)+sep_conv_7x7(1) "
    "avg_pool_3x3(0)+sep_conv_5x5(1) avg_pool_3x3(2)+none(3) "
    "max_pool_3x3(0)+sep_conv_3x3(2) concat(3,4,5,6)";

TEST_CASE("AmoebaNet-A is exactly the published cell") {
  const Genotype g = AmoebaNetA();
  REQUIRE(ValidateGenotype(g).ok());
  CHECK(FormatGenotype(g) == kAmoebaNetAText);
  CHECK(CanonicalText(g) == kAmoebaNetACanonical);
  // The published output sets are not "concatenate the unused".
  CHECK(OutputStateList(g.normal) == std::vector<int>{1, 3, 4, 6});
  CHECK(OutputStateList(g.reduction) == std::vector<int>{2, 3, 4, 5, 6});
  CHECK(g.normal.ops[9] == Op::kSepConv3x3);
  CHECK(g.reduction.ops[7] == Op::kConv1x7_7x1);
  CHECK(g.normal.inputs[8] == 5);
}

TEST_CASE("NASNet-A is exactly the published cell") {
  const Genotype g = NasNetA();
  REQUIRE(ValidateGenotype(g).ok());
  CHECK(FormatGenotype(g) == kNasNetAText);
  CHECK(CanonicalText(g) == kNasNetACanonical);
  CHECK(OutputStateList(g.normal) == std::vector<int>{1, 2, 3, 4, 5, 6});
  CHECK(OutputStateList(g.reduction) == std::vector<int>{3, 4, 5, 6});
  CHECK(g.reduction.inputs[6] == 3);
  CHECK(g.reduction.ops[6] == Op::kNone);
}

TEST_CASE("Published texts parse back to the published genotypes") {
  CHECK(ParseGenotype(kAmoebaNetAText).value() == AmoebaNetA());
  CHECK(ParseGenotype(kNasNetAText).value() == NasNetA());
  CHECK(Canonicalize(ParseGenotype(kAmoebaNetACanonical).value()) ==
        Canonicalize(AmoebaNetA()));
}

TEST_CASE("KnownGenotype finds published cells by name") {
  CHECK(KnownGenotype("amoebanet-a").value() == AmoebaNetA());
  CHECK(KnownGenotype("AmoebaNet_A").value() == AmoebaNetA());
  CHECK(KnownGenotype("nasnet-a").value() == NasNetA());
  const auto missing = KnownGenotype("darts-v2");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.status().message()),
             Catch::Contains("'darts-v2'") && Catch::Contains("amoebanet-a"));
  for (const auto& name : KnownGenotypeNames()) {
    CHECK(KnownGenotype(name).ok());
  }
}

}  // namespace
}  // namespace amoeba
