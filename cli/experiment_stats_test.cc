#include "cli/experiment_stats.h"

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

TEST_CASE("Top-k so far: all while fewer than k, then the k best") {
  const std::vector<double> curve = TopKSoFar({0.5, 0.1, 0.9, 0.7}, 2);
  REQUIRE(curve.size() == 4);
  CHECK(curve[0] == Approx(0.5));
  CHECK(curve[1] == Approx(0.3));
  CHECK(curve[2] == Approx(0.7));   // 0.9, 0.5
  CHECK(curve[3] == Approx(0.8));   // 0.9, 0.7
  CHECK(TopKMean({0.5, 0.1, 0.9, 0.7}, 2) == Approx(0.8));
  CHECK(TopKMean({0.4}, 10) == Approx(0.4));
}

TEST_CASE("Top-k at times counts what completed by then") {
  const auto at = TopKAtTimes({0.2, 0.8, 0.5}, {30, 10, 20}, {5, 10, 25, 99}, 2);
  REQUIRE(at.size() == 4);
  CHECK_FALSE(at[0].has_value());
  CHECK(*at[1] == Approx(0.8));
  CHECK(*at[2] == Approx(0.65));
  CHECK(*at[3] == Approx(0.65));
}

TEST_CASE("The least cost at which the mean best of the repeats reaches a level") {
  // Repeat 1 reaches 0.8 at cost 10 (its best stays 0.8); repeat 2 has 0.6
  // at 4 and 0.9 at 12. Mean best: 0.7 at 10, 0.85 at 12.
  const std::vector<std::vector<double>> fitness = {{0.5, 0.8}, {0.6, 0.9}};
  const std::vector<std::vector<double>> cost = {{3, 10}, {4, 12}};
  CHECK(*FirstCostReaching(fitness, cost, 0.55, 100) == Approx(4));  // 0.55
  CHECK(*FirstCostReaching(fitness, cost, 0.7, 100) == Approx(10));
  CHECK(*FirstCostReaching(fitness, cost, 0.85, 100) == Approx(12));
  CHECK_FALSE(FirstCostReaching(fitness, cost, 0.86, 100).has_value());
  // Not beyond the limit; nothing before every repeat has a completion.
  CHECK_FALSE(FirstCostReaching(fitness, cost, 0.85, 11).has_value());
  CHECK_FALSE(FirstCostReaching(fitness, cost, 0.1, 3.5).has_value());
  CHECK_FALSE(FirstCostReaching({}, {}, 0.1, 100).has_value());
}

TEST_CASE("Mean and standard error") {
  const MeanSe m = MeanAndSe({1, 2, 3, 4});
  CHECK(m.mean == Approx(2.5));
  CHECK(m.se == Approx(std::sqrt(5.0 / 3 / 4)));
  CHECK(MeanAndSe({7}).se == 0);
}

TEST_CASE("Mann-Whitney: exact for small samples, normal for large") {
  // Completely separated 3 vs 3: the smallest two-sided p is 2/20.
  CHECK(MannWhitneyP({1, 2, 3}, {4, 5, 6}) == Approx(0.1));
  CHECK(MannWhitneyP({1, 2, 3}, {1, 2, 3}) == Approx(1.0));
  // 5 vs 5 separated: 2 / C(10, 5) = 2/252.
  CHECK(MannWhitneyP({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}) == Approx(2.0 / 252));
  std::vector<double> low, high;
  for (int i = 0; i < 30; ++i) {
    low.push_back(i);
    high.push_back(i + 20);
  }
  CHECK(MannWhitneyP(low, high) < 1e-4);
  CHECK(MannWhitneyP(low, low) > 0.9);
  CHECK(MannWhitneyP({}, {1}) == 1);
}

}  // namespace
}  // namespace amoeba
