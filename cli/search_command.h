// `amoeba search create|list|status|pause|resume|stop`: the searches of a
// controller, over gRPC.
#ifndef AMOEBA_CLI_SEARCH_COMMAND_H_
#define AMOEBA_CLI_SEARCH_COMMAND_H_

#include <string>
#include <vector>

namespace amoeba {

// Exit codes: 0 success, 1 refused (e.g. a bad config, a taken id), 2 usage
// error, 3 controller unreachable.
int RunSearchCommand(const std::vector<std::string>& args);

std::string SearchUsage();

}  // namespace amoeba

#endif  // AMOEBA_CLI_SEARCH_COMMAND_H_
