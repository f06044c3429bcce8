// For the trainer's tests: two networks hold the same weights, bit for bit
// (every parameter and buffer, by name), or the test fails naming the
// first tensor that differs.
#ifndef AMOEBA_TRAINER_SAME_WEIGHTS_H_
#define AMOEBA_TRAINER_SAME_WEIGHTS_H_

// LibTorch's headers first: with glog they define a CHECK that must not
// replace Catch2's.
#include "trainer/network.h"
#include "trainer/train.h"
// (Catch2 after them.)
#include "catch2/catch.hpp"

namespace amoeba {

inline void RequireSameWeights(Network& a, Network& b) {
  auto pb = b->named_parameters(/*recurse=*/true);
  const auto pa = a->named_parameters(/*recurse=*/true);
  REQUIRE(pa.size() == pb.size());
  for (const auto& p : pa) {
    INFO(p.key());
    REQUIRE(pb.contains(p.key()));
    REQUIRE(torch::equal(p.value(), pb[p.key()]));
  }
  auto bb = b->named_buffers(/*recurse=*/true);
  const auto ba = a->named_buffers(/*recurse=*/true);
  REQUIRE(ba.size() == bb.size());
  for (const auto& p : ba) {
    INFO(p.key());
    REQUIRE(bb.contains(p.key()));
    REQUIRE(torch::equal(p.value(), bb[p.key()]));
  }
}

inline void RequireSameWeights(TrainedModel& a, TrainedModel& b) {
  RequireSameWeights(a.network, b.network);
}

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_SAME_WEIGHTS_H_
