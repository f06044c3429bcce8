#include "settings/training_flags.h"

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

TEST_CASE("The flags' defaults are the default training settings") {
  const v1::TrainingSettings defaults = DefaultTrainingSettings();
  CHECK(TrainingSettingsFromFlags().SerializeAsString() ==
        defaults.SerializeAsString());
  CHECK_FALSE(TrainingFlagsGiven());
  CHECK(defaults.learning_rate() == 0.05);
  CHECK(defaults.max_train_images() == 2000);
  CHECK(defaults.has_weight_decay());
}

TEST_CASE("A flag given on the command line is seen and carried") {
  gflags::SetCommandLineOption("lr", "0.024");
  gflags::SetCommandLineOption("max_train_images", "0");
  CHECK(TrainingFlagsGiven());
  const v1::TrainingSettings t = TrainingSettingsFromFlags();
  CHECK(t.learning_rate() == 0.024);
  CHECK(t.has_max_train_images());
  CHECK(t.max_train_images() == 0);
}

}  // namespace
}  // namespace amoeba
