// `amoeba finalize --search=ID[,ID...] | --experiment=NAME`: final training
// of the best models of finished searches on the fleet (CreateFinal), one
// final search SOURCE-final per source search, and (with --wait) progress
// until they are done.
#ifndef AMOEBA_CLI_FINALIZE_COMMAND_H_
#define AMOEBA_CLI_FINALIZE_COMMAND_H_

#include <string>
#include <vector>

namespace amoeba {

// Exit codes: 0 created (and finished, with --wait), 1 refused or not
// finished in --timeout_s, 2 usage error, 3 controller unreachable.
int RunFinalizeCommand(const std::vector<std::string>& args);

std::string FinalizeUsage();

}  // namespace amoeba

#endif  // AMOEBA_CLI_FINALIZE_COMMAND_H_
