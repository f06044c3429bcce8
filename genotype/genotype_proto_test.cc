#include "genotype/genotype_proto.h"

#include <string>

#include "catch2/catch.hpp"
#include "common/rng.h"
#include "genotype/known_cells.h"
#include "genotype/mutation.h"
#include "genotype/text.h"

namespace amoeba {
namespace {

TEST_CASE("Proto round-trips over 10,000 random and mutated genotypes") {
  Rng rng(77);
  Genotype g = AmoebaNetA();
  for (int i = 0; i < 10000; ++i) {
    g = (i % 2 == 0) ? RandomGenotype(rng) : Mutate(g, rng).value().child;
    const v1::Genotype proto = GenotypeToProto(g);
    // Through the bytes on the wire, too.
    v1::Genotype reread;
    REQUIRE(reread.ParseFromString(proto.SerializeAsString()));
    const auto back = GenotypeFromProto(reread);
    REQUIRE(back.ok());
    REQUIRE(*back == g);
  }
}

TEST_CASE("Published cells keep their concat through the proto") {
  const v1::Genotype proto = GenotypeToProto(AmoebaNetA());
  CHECK(proto.normal().concat_size() == 4);
  CHECK(proto.normal().ops(0) == v1::OP_AVG_POOL_3X3);
  CHECK(proto.reduction().ops(7) == v1::OP_CONV_1X7_7X1);
  CHECK(GenotypeFromProto(proto).value() == AmoebaNetA());
}

TEST_CASE("Malformed protos are rejected with the reason") {
  const v1::Genotype good = GenotypeToProto(NasNetA());
  auto error = [](const v1::Genotype& p) {
    const auto r = GenotypeFromProto(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(r.status().message());
  };

  v1::Genotype p = good;
  p.clear_reduction();
  CHECK(error(p) == "genotype has no reduction cell");
  p = good;
  p.clear_normal();
  CHECK(error(p) == "genotype has no normal cell");

  p = good;
  p.mutable_normal()->mutable_ops()->RemoveLast();
  CHECK(error(p) == "normal cell has 9 ops; expected 10 (two per combination)");
  p = good;
  p.mutable_reduction()->add_inputs(0);
  CHECK_THAT(error(p), Catch::Contains("reduction cell has 11 inputs"));

  p = good;
  p.mutable_normal()->set_ops(3, v1::OP_UNSPECIFIED);
  CHECK_THAT(error(p), Catch::Contains("position 3") &&
                           Catch::Contains("OP_UNSPECIFIED"));
  p = good;
  p.mutable_normal()->set_ops(4, static_cast<v1::Op>(42));
  CHECK_THAT(error(p), Catch::Contains("op value 42"));

  p = good;
  p.mutable_reduction()->set_inputs(9, 6);
  CHECK_THAT(error(p), Catch::Contains("reduction cell, position 9") &&
                           Catch::Contains("(a loop)"));
  p = good;
  for (int i = 0; i < 8; ++i) p.mutable_normal()->add_concat(2);
  CHECK_THAT(error(p), Catch::Contains("concat lists"));

  CHECK_THAT(error(v1::Genotype()), Catch::Contains("no normal cell"));
}

}  // namespace
}  // namespace amoeba
