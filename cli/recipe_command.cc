#include "cli/recipe_command.h"

#include <iostream>

#include "absl/strings/str_format.h"
#include "settings/recipes.h"

namespace amoeba {

std::string RecipeUsage() {
  return R"(usage: amoeba recipe list
       amoeba recipe show NAME

A recipe is a named preset of the training settings: `--recipe=NAME` on
`amoeba train`, `amoeba search create` and `amoeba finalize` starts from
it, and every flag given explicitly wins over it. `show` prints each value
the preset sets, as a flag, with where it comes from.
)";
}

int RunRecipeCommand(const std::vector<std::string>& args) {
  const std::string command = args.empty() ? "" : args[0];
  if (command == "list" && args.size() == 1) {
    for (const RecipePreset& preset : RecipePresets()) {
      std::cout << absl::StrFormat("%-15s %s\n", preset.name, preset.summary);
    }
    return 0;
  }
  if (command == "show" && args.size() == 2) {
    const RecipePreset* preset = FindRecipePreset(args[1]);
    if (preset == nullptr) {
      std::cerr << "amoeba recipe: unknown recipe '" << args[1]
                << "'; known: " << RecipePresetNames() << "\n";
      return 2;
    }
    std::cout << DescribeRecipePreset(*preset);
    return 0;
  }
  std::cerr << "amoeba recipe: expected `list` or `show NAME`\n\n"
            << RecipeUsage();
  return 2;
}

}  // namespace amoeba
