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

TEST_CASE("--recipe starts from a preset; flags given win over it") {
  CHECK(GivenTrainingSettings().recipe().ByteSizeLong() == 0);
  gflags::SetCommandLineOption("recipe", "cifar-final");
  gflags::SetCommandLineOption("cutout", "8");
  const v1::TrainingSettings given = GivenTrainingSettings();
  CHECK(given.filters() == 36);
  CHECK(given.epochs() == 600);
  CHECK(given.recipe().name() == "cifar-final");
  CHECK(given.recipe().aux_head());
  CHECK(given.recipe().cutout() == 8);          // the flag, not the preset's 16
  CHECK(given.learning_rate() == 0.024);        // set by the test above too
  CHECK_FALSE(given.recipe().has_stem());       // left for the receiver
  const v1::TrainingSettings all = TrainingSettingsFromFlags();
  CHECK(all.recipe().stem() == "cifar");        // ... here, the default
  CHECK(all.recipe().drop_path() == 0.3);
  // An unknown name is refused when the flag is set.
  CHECK(gflags::SetCommandLineOption("recipe", "no-such-recipe").empty());
  CHECK(FLAGS_recipe == "cifar-final");
}

}  // namespace
}  // namespace amoeba
