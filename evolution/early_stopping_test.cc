#include "evolution/early_stopping.h"

#include <vector>

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

EarlyStoppingOptions Hurdles(std::vector<int> epochs, int children) {
  EarlyStoppingOptions o;
  o.rule = StoppingRule::kHurdles;
  o.epochs = std::move(epochs);
  o.children = children;
  return o;
}

// Decides and records, as the search does once the report is durable.
bool Report(EarlyStopper& stopper, int64_t model, int epoch, double fitness) {
  const EarlyStopper::Answer answer = stopper.Decide(model, epoch, fitness);
  if (answer.is_new) {
    REQUIRE(stopper.Record({model, epoch, fitness, answer.stop}).ok());
  }
  return answer.stop;
}

TEST_CASE("settings are checked with the setting named") {
  CHECK(ValidateEarlyStopping({}, 5).ok());
  CHECK(ValidateEarlyStopping(Hurdles({1, 3}, 4), 5).ok());
  auto message = [](const EarlyStoppingOptions& o, int epochs) {
    return std::string(ValidateEarlyStopping(o, epochs).message());
  };
  CHECK_THAT(message(Hurdles({}, 4), 5), Catch::Contains("at least one epoch"));
  CHECK_THAT(message(Hurdles({3, 2}, 4), 5), Catch::Contains("increasing"));
  CHECK_THAT(message(Hurdles({2, 2}, 4), 5), Catch::Contains("increasing"));
  CHECK_THAT(message(Hurdles({0}, 4), 5), Catch::Contains("increasing"));
  CHECK_THAT(message(Hurdles({5}, 4), 5),
             Catch::Contains("5 is not below the 5 epochs"));
  CHECK_THAT(message(Hurdles({9}, 4), 5), Catch::Contains("not below"));
  CHECK_THAT(message(Hurdles({1}, 0), 5), Catch::Contains("children"));
  EarlyStoppingOptions median = Hurdles({1}, 3);
  median.rule = StoppingRule::kMedian;
  for (double q : {0.0, 1.0, -0.5, 1.5}) {
    median.quantile = q;
    CHECK_THAT(message(median, 5), Catch::Contains("fraction in (0, 1)"));
  }
  median.quantile = 0.5;
  median.window = -1;
  CHECK_THAT(message(median, 5), Catch::Contains("early_stopping.window: -1"));
  median.window = 20;
  CHECK(ValidateEarlyStopping(median, 5).ok());
  EarlyStoppingOptions windowed_hurdles = Hurdles({1}, 3);
  windowed_hurdles.window = 20;
  CHECK_THAT(message(windowed_hurdles, 5), Catch::Contains("median rule only"));
  EarlyStoppingOptions none;
  none.epochs = {1};
  CHECK_THAT(message(none, 5), Catch::Contains("rule is none"));
  StoppingRule rule;
  CHECK(StoppingRuleFromName("median", &rule).ok());
  CHECK(rule == StoppingRule::kMedian);
  CHECK_THAT(std::string(StoppingRuleFromName("asha", &rule).message()),
             Catch::Contains("'asha' is not one of none, hurdles, median"));
}

TEST_CASE("a hurdle is the mean of the first children and then fixed") {
  EarlyStopper stopper(Hurdles({1, 3}, 3));
  CHECK(stopper.IsHurdle(1));
  CHECK_FALSE(stopper.IsHurdle(2));
  // The first three all continue, whatever their fitness.
  CHECK_FALSE(Report(stopper, 1, 1, 0.25));
  CHECK_FALSE(Report(stopper, 2, 1, 0.5));
  CHECK_FALSE(stopper.Threshold(1).has_value());
  CHECK_FALSE(Report(stopper, 3, 1, 0.75));
  REQUIRE(stopper.Threshold(1).has_value());
  CHECK(*stopper.Threshold(1) == 0.5);
  // Below stops, at or above continues; later children never move it.
  CHECK(Report(stopper, 4, 1, 0.49));
  CHECK_FALSE(Report(stopper, 5, 1, 0.5));
  CHECK_FALSE(Report(stopper, 6, 1, 0.99));
  CHECK(*stopper.Threshold(1) == 0.5);
  CHECK(stopper.Reported(1) == 6);
  CHECK(stopper.Stopped(1) == 1);
  const auto stopped = stopper.StoppedAt(4);
  REQUIRE(stopped.has_value());
  CHECK(stopped->epoch == 1);
  CHECK(stopped->fitness == 0.49);
  CHECK_FALSE(stopper.StoppedAt(5).has_value());
  // The second hurdle counts only the children that reached it.
  CHECK_FALSE(Report(stopper, 1, 3, 0.5));
  CHECK_FALSE(Report(stopper, 2, 3, 0.7));
  CHECK_FALSE(Report(stopper, 3, 3, 0.9));
  CHECK(*stopper.Threshold(3) == Approx(0.7));
  CHECK(Report(stopper, 5, 3, 0.65));
}

TEST_CASE("a repeated report gets the first answer and counts once") {
  EarlyStopper stopper(Hurdles({2}, 1));
  CHECK_FALSE(Report(stopper, 1, 2, 0.5));
  CHECK(Report(stopper, 2, 2, 0.3));
  // The same child again (a lost ack, a second attempt): same answer, even
  // with another fitness, and nothing recorded.
  const auto again = stopper.Decide(2, 2, 0.9);
  CHECK(again.stop);
  CHECK_FALSE(again.is_new);
  const auto passed = stopper.Decide(1, 2, 0.1);
  CHECK_FALSE(passed.stop);
  CHECK_FALSE(passed.is_new);
  CHECK(stopper.Reported(2) == 2);
  // A child first heard at a later hurdle (its earlier report was lost) is
  // not judged again at an earlier one.
  EarlyStopper two(Hurdles({1, 2}, 1));
  CHECK_FALSE(Report(two, 1, 1, 0.5));
  CHECK_FALSE(Report(two, 1, 2, 0.5));
  CHECK_FALSE(Report(two, 2, 2, 0.6));
  const auto late = two.Decide(2, 1, 0.1);
  CHECK_FALSE(late.stop);
  CHECK_FALSE(late.is_new);
  // Recording a decided report twice is refused.
  CHECK_FALSE(stopper.Record({2, 2, 0.3, true}).ok());
}

TEST_CASE("median stopping: below the quantile of the earlier children") {
  EarlyStoppingOptions o = Hurdles({1}, 4);
  o.rule = StoppingRule::kMedian;
  EarlyStopper stopper(o);
  for (int i = 1; i <= 4; ++i) CHECK_FALSE(Report(stopper, i, 1, 0.1 * i));
  CHECK(*stopper.Threshold(1) == Approx(0.25));  // median of .1 .2 .3 .4
  CHECK(Report(stopper, 5, 1, 0.2));
  // Unlike a hurdle, the threshold follows every child: the stopped one too.
  CHECK(*stopper.Threshold(1) == Approx(0.2));
  CHECK_FALSE(Report(stopper, 6, 1, 0.2));
  o.quantile = 0.25;
  EarlyStopper lower(o);
  for (int i = 1; i <= 5; ++i) Report(lower, i, 1, 0.1 * i);
  CHECK(*lower.Threshold(1) == Approx(0.2));
}

TEST_CASE("a median window counts only the last children") {
  EarlyStoppingOptions o = Hurdles({2}, 3);
  o.rule = StoppingRule::kMedian;
  o.window = 3;
  EarlyStopper stopper(o);
  // A population that improves: the median of all would lag behind it.
  for (int i = 1; i <= 3; ++i) CHECK_FALSE(Report(stopper, i, 2, 0.1 * i));
  CHECK(*stopper.Threshold(2) == Approx(0.2));
  CHECK_FALSE(Report(stopper, 4, 2, 0.6));  // window .2 .3 .6
  CHECK(*stopper.Threshold(2) == Approx(0.3));
  CHECK_FALSE(Report(stopper, 5, 2, 0.7));  // window .3 .6 .7
  CHECK(*stopper.Threshold(2) == Approx(0.6));
  CHECK(Report(stopper, 6, 2, 0.5));        // below 0.6; window .6 .7 .5
  CHECK(*stopper.Threshold(2) == Approx(0.6));
  CHECK(stopper.Reported(2) == 6);
  // Equal values leave the window one at a time.
  EarlyStopper ties(o);
  for (int i = 1; i <= 5; ++i) Report(ties, i, 2, 0.4);
  CHECK(*ties.Threshold(2) == Approx(0.4));
  for (int i = 6; i <= 8; ++i) Report(ties, i, 2, 0.9);
  CHECK(*ties.Threshold(2) == Approx(0.9));
}

TEST_CASE("replaying the recorded reports gives every later report the same answer") {
  EarlyStopper first(Hurdles({1, 2}, 2));
  std::vector<HurdleReport> log;
  const double fitness[] = {0.5, 0.7, 0.3, 0.8, 0.55, 0.61, 0.2};
  for (int i = 0; i < 7; ++i) {
    for (int epoch : {1, 2}) {
      const auto a = first.Decide(i + 1, epoch, fitness[i] + 0.01 * epoch);
      if (!a.is_new) continue;
      log.push_back({i + 1, epoch, fitness[i] + 0.01 * epoch, a.stop});
      REQUIRE(first.Record(log.back()).ok());
      if (a.stop) break;
    }
  }
  EarlyStopper again(Hurdles({1, 2}, 2));
  for (const HurdleReport& r : log) REQUIRE(again.Record(r).ok());
  for (double f : {0.1, 0.59, 0.6, 0.9}) {
    for (int epoch : {1, 2}) {
      CHECK(first.Decide(100, epoch, f).stop == again.Decide(100, epoch, f).stop);
    }
  }
  CHECK(*again.Threshold(1) == *first.Threshold(1));
  // Reports of other options are refused on replay, not silently reordered.
  EarlyStopper other(Hurdles({1, 2}, 1));
  bool refused = false;
  for (const HurdleReport& r : log) refused |= !other.Record(r).ok();
  CHECK(refused);
}

}  // namespace
}  // namespace amoeba
