#include <cmath>
#include <limits>
#include <string>

#include "catch2/catch.hpp"
#include "trainer/network_options.h"
#include "trainer/train_options.h"

namespace amoeba {
namespace {

TEST_CASE("drop path grows with time, depth or both, as the released code's "
          "v1, v2 and v3") {
  NetworkOptions o;
  o.drop_path = 0.4;
  // v3 (the default): (k+1)/K of it, times the progress.
  CHECK(DropPathProbability(o, 0, 4, 0.5) == Approx(0.4 * 0.25 * 0.5));
  CHECK(DropPathProbability(o, 3, 4, 1.0) == Approx(0.4));
  CHECK(DropPathProbability(o, 3, 4, 0.0) == 0.0);
  o.drop_path_schedule = DropPathSchedule::kTime;
  CHECK(DropPathProbability(o, 0, 4, 0.5) == Approx(0.2));
  CHECK(DropPathProbability(o, 3, 4, 0.5) == Approx(0.2));
  CHECK(DropPathProbability(o, 0, 4, 7.0) == Approx(0.4));  // clamped
  o.drop_path_schedule = DropPathSchedule::kDepth;
  CHECK(DropPathProbability(o, 0, 4, 0.0) == Approx(0.1));
  CHECK(DropPathProbability(o, 1, 4, 0.9) == Approx(0.2));
  o.drop_path = 0;
  CHECK(DropPathProbability(o, 3, 4, 1.0) == 0.0);

  for (const char* name : {"time-and-depth", "time", "depth"}) {
    auto s = DropPathScheduleFromName(name);
    REQUIRE(s.ok());
    CHECK(std::string(DropPathScheduleName(*s)) == name);
  }
  CHECK_THAT(std::string(DropPathScheduleFromName("v3").status().message()),
             Catch::Contains("--drop_path_schedule must be"));
}

TEST_CASE("the weight average's decay starts low, as TensorFlow's with "
          "num_updates") {
  CHECK(EmaDecayAt(0.9999, 1) == Approx(2.0 / 11.0));
  CHECK(EmaDecayAt(0.9999, 1000) == Approx(1001.0 / 1010.0));
  CHECK(EmaDecayAt(0.9999, 10000000) == 0.9999);
  CHECK(EmaDecayAt(0.5, 100) == 0.5);

  TrainOptions o;
  CHECK(ValidateTrainOptions(o).ok());
  for (double bad : {-0.1, 1.0, std::nan("")}) {
    o.ema_decay = bad;
    CHECK_THAT(std::string(ValidateTrainOptions(o).message()),
               Catch::Contains("moving-average decay"));
  }
  // The released ImageNet code evaluates its weights' moving average.
  CHECK(ImageNetRecipe(TrainOptions()).ema_decay == 0.9999);
}

}  // namespace
}  // namespace amoeba
