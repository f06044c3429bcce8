#include "genotype/text.h"

#include <string>

#include "catch2/catch.hpp"
#include "common/rng.h"
#include "genotype/known_cells.h"
#include "genotype/mutation.h"

namespace amoeba {
namespace {

TEST_CASE("Text round-trips exactly over 10,000 random genotypes") {
  Rng rng(2024);
  for (int i = 0; i < 10000; ++i) {
    const Genotype g = RandomGenotype(rng);
    const std::string text = FormatGenotype(g);
    const auto parsed = ParseGenotype(text);
    REQUIRE(parsed.ok());
    REQUIRE(*parsed == g);
    REQUIRE(FormatGenotype(*parsed) == text);
    // The canonical text is itself a fixed point.
    const std::string canonical = CanonicalText(g);
    REQUIRE(CanonicalText(ParseGenotype(canonical).value()) == canonical);
  }
}

TEST_CASE("Formatted text is one line of printable ASCII") {
  const std::string text = FormatGenotype(AmoebaNetA());
  CHECK(text.find('\n') == std::string::npos);
  for (char c : text) CHECK((c >= 0x20 && c < 0x7f));
  CHECK(text.size() < kMaxGenotypeTextBytes);
}

TEST_CASE("The parser accepts free spacing and a trailing ';'") {
  const std::string spaced =
      "  normal :avg_pool_3x3 ( 0 ) + max_pool_3x3(0)\tsep_conv_3x3(1)+none(1)\n"
      "none(0)+avg_pool_3x3(1) sep_conv_3x3(0)+sep_conv_5x5(2) "
      "avg_pool_3x3(5)+sep_conv_3x3(0) concat( 1 , 3,4,6 ) ;reduction: "
      "sep_conv_3x3(1)+avg_pool_3x3(0) max_pool_3x3(0)+sep_conv_7x7(2) "
      "max_pool_3x3(1)+max_pool_3x3(0) sep_conv_3x3(4)+conv_1x7_7x1(0) "
      "avg_pool_3x3(1)+sep_conv_7x7(0) concat(2,3,4,5,6);  ";
  const auto parsed = ParseGenotype(spaced);
  REQUIRE(parsed.ok());
  CHECK(*parsed == AmoebaNetA());
}

TEST_CASE("Concat keeps the order it was written in; canonical sorts it") {
  Genotype g = AmoebaNetA();
  g.normal.concat = {6, 4, 3, 1};
  const std::string text = FormatGenotype(g);
  CHECK_THAT(text, Catch::Contains("concat(6,4,3,1)"));
  CHECK(ParseGenotype(text).value() == g);
  CHECK_THAT(CanonicalText(g), Catch::Contains("concat(1,3,4,6)"));
}

TEST_CASE("A default concat is not written") {
  Rng rng(5);
  const Genotype g = RandomGenotype(rng);
  CHECK(FormatGenotype(g).find("concat") == std::string::npos);
  // Writing the default explicitly is the same network: same canonical text.
  Genotype explicit_default = g;
  explicit_default.normal.concat = OutputStateList(g.normal);
  CHECK(CanonicalText(explicit_default) == CanonicalText(g));
  CHECK(FormatGenotype(explicit_default) != FormatGenotype(g));
}

}  // namespace
}  // namespace amoeba
