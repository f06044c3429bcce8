// Training recipes: the defaults of every part of v1.TrainingRecipe, and
// named presets (`--recipe=NAME` on `amoeba train`, `amoeba search create`
// and `amoeba finalize`), each value with where it comes from. A preset is
// a partial v1.TrainingSettings: the fields it sets; flags given on the
// command line win over it, and unset fields keep their defaults (or, for
// `amoeba finalize`, the source search's).
#ifndef AMOEBA_SETTINGS_RECIPES_H_
#define AMOEBA_SETTINGS_RECIPES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "proto/controller.pb.h"

namespace amoeba {

// Every field set to the recipe a search child trains with: momentum SGD
// (0.9) with a cosine schedule, no warm-up, smoothing, clipping, aux head,
// drop path (schedule time-and-depth), weight average, dropout or cutout;
// precision auto; the dataset's default augmentation; the CIFAR stem;
// folder images at 64 pixels. (New fields default to what workers did
// before they existed, so stored searches keep their meaning.)
v1::TrainingRecipe DefaultRecipe();

// `given` with its unset fields from DefaultRecipe().
v1::TrainingRecipe CompleteRecipe(const v1::TrainingRecipe& given);

// The v1.RegisterRequest.features name of a worker that trains every field
// of v1.TrainingRecipe. Workers of earlier versions ignore the recipe (an
// unknown field to them) and train the defaults. A field added later that
// this version's workers would ignore needs a name of its own.
inline constexpr char kTrainingRecipeFeature[] = "training_recipe";
// The features name of a worker that inherits weights (v1.Task.inherit_from
// and keep_weights). Earlier workers would train an inheriting child's
// shorter recipe from fresh weights and keep nothing for its children.
inline constexpr char kWeightInheritanceFeature[] = "weight_inheritance";

// Whether only a worker with kTrainingRecipeFeature trains `recipe` as it
// says: some value (the name aside) differs from DefaultRecipe().
bool NeedsRecipeSupport(const v1::TrainingRecipe& recipe);

struct RecipePreset {
  std::string name;
  std::string summary;  // one line
  v1::TrainingSettings settings;  // the fields the preset sets
  // (flag, where the value comes from), for every field it sets.
  std::vector<std::pair<std::string, std::string>> sources;
  std::string notes;  // what it does not reproduce, and why
};

// The presets, in the order `amoeba recipe list` shows them.
const std::vector<RecipePreset>& RecipePresets();

// The preset called `name`, or nullptr.
const RecipePreset* FindRecipePreset(absl::string_view name);

// "search, paper-search, ..." for error messages.
std::string RecipePresetNames();

// Each field `settings` sets, as (flag name, value): the flag names of
// settings/training_flags.h, values as a flag would take them. In flag
// order; training fields first, then the recipe's.
std::vector<std::pair<std::string, std::string>> SetTrainingFields(
    const v1::TrainingSettings& settings);

// Every field of CompleteRecipe(recipe) as (flag name, value), in flag
// order (as SetTrainingFields).
std::vector<std::pair<std::string, std::string>> RecipeFields(
    const v1::TrainingRecipe& recipe);

// The recipe in one line for people: its preset's name (if any) and every
// value that differs from DefaultRecipe(), as flags; "default recipe" when
// none does. E.g. "recipe cifar-final: --aux_head=true --drop_path=0.3".
std::string RecipeSummary(const v1::TrainingRecipe& recipe);

// A preset for people: its summary, then every value with its source.
std::string DescribeRecipePreset(const RecipePreset& preset);

}  // namespace amoeba

#endif  // AMOEBA_SETTINGS_RECIPES_H_
