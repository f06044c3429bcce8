// `amoeba recipe list` and `amoeba recipe show NAME`: the named presets of
// the training settings (settings/recipes.h), each value with its source.
#ifndef AMOEBA_CLI_RECIPE_COMMAND_H_
#define AMOEBA_CLI_RECIPE_COMMAND_H_

#include <string>
#include <vector>

namespace amoeba {

// Exit codes: 0 success, 2 usage error (unknown command or recipe).
int RunRecipeCommand(const std::vector<std::string>& args);

std::string RecipeUsage();

}  // namespace amoeba

#endif  // AMOEBA_CLI_RECIPE_COMMAND_H_
