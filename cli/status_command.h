// `amoeba status`: what a running (or finished) search looks like, from
// its controller over gRPC. `--watch` prints one progress line per interval
// until the search is finished. `amoeba pause|resume|stop` change its run
// state.
#ifndef AMOEBA_CLI_STATUS_COMMAND_H_
#define AMOEBA_CLI_STATUS_COMMAND_H_

#include <string>
#include <vector>

#include "proto/controller.pb.h"

namespace amoeba {

// Exit codes: 0 success, 2 usage error, 3 controller unreachable.
int RunStatusCommand(const std::vector<std::string>& args);

// `amoeba pause|resume|stop`: the admin RPCs (they need --token_file when
// the controller has a token). Exit codes: 0 success, 1 refused, 2 usage
// error, 3 controller unreachable.
int RunAdminCommand(const std::string& verb, const std::vector<std::string>& args);

// The one-line summary `amoeba status` prints.
std::string ProgressLine(const v1::SearchStatus& status);

std::string StatusUsage();
std::string AdminUsage();

}  // namespace amoeba

#endif  // AMOEBA_CLI_STATUS_COMMAND_H_
