#include "settings/recipes.h"

#include <set>
#include <string>

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

TEST_CASE("the default recipe sets every field; a given field wins") {
  const v1::TrainingRecipe r = DefaultRecipe();
  const google::protobuf::Descriptor* d = r.GetDescriptor();
  const google::protobuf::Reflection* reflection = r.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    INFO(d->field(i)->name());
    CHECK(reflection->HasField(r, d->field(i)));
  }
  v1::TrainingRecipe given;
  given.set_cutout(16);
  given.set_aux_head(true);
  const v1::TrainingRecipe complete = CompleteRecipe(given);
  CHECK(complete.cutout() == 16);
  CHECK(complete.aux_head());
  CHECK(complete.optimizer() == "momentum");
  CHECK(complete.image_size() == 64);
}

TEST_CASE("a recipe in one line: its name and what differs") {
  CHECK(RecipeSummary(v1::TrainingRecipe()) == "default recipe");
  v1::TrainingRecipe r;
  r.set_name("cifar-final");
  r.set_cutout(8);
  r.set_drop_path(0.3);
  r.set_momentum(0.9);  // the default: not shown
  CHECK(RecipeSummary(r) == "recipe cifar-final: --drop_path=0.3 --cutout=8");
}

TEST_CASE("every preset value names its source") {
  std::set<std::string> names;
  for (const RecipePreset& preset : RecipePresets()) {
    INFO(preset.name);
    CHECK(names.insert(preset.name).second);
    CHECK(FindRecipePreset(preset.name) == &preset);
    CHECK_FALSE(preset.summary.empty());
    for (const auto& [flag, value] : SetTrainingFields(preset.settings)) {
      INFO(flag);
      bool sourced = false;
      for (const auto& source : preset.sources) sourced |= source.first == flag;
      CHECK(sourced);
    }
  }
  CHECK(names.count("search") == 1);
  CHECK(names.count("cifar-final") == 1);
  CHECK(names.count("imagenet-final") == 1);
  CHECK(FindRecipePreset("no-such") == nullptr);
  CHECK(RecipePresetNames().find("paper-search") != std::string::npos);

  const std::string shown = DescribeRecipePreset(*FindRecipePreset("cifar-final"));
  CHECK(shown.find("cifar-final: ") == 0);
  CHECK(shown.find("--N=6 ") != std::string::npos);
  CHECK(shown.find("--F=36 ") != std::string::npos);
  CHECK(shown.find("--epochs=600 ") != std::string::npos);
  CHECK(shown.find("--cutout=16    # ") != std::string::npos);
  CHECK(shown.find("--drop_path=0.3 ") != std::string::npos);
  CHECK(shown.find("--lr=0.024 ") != std::string::npos);
}

}  // namespace
}  // namespace amoeba
