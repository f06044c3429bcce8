// How the `amoeba` tool reaches a controller: the flags every command that
// talks to one shares (address, token, TLS), and the channel they make.
#ifndef AMOEBA_CLI_CONNECTION_H_
#define AMOEBA_CLI_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "proto/controller.grpc.pb.h"

namespace amoeba {

// The controller's address (--controller), for messages.
std::string ControllerAddress();

// A stub for the controller named by the flags. InvalidArgument naming the
// flag when a token or TLS file cannot be read.
absl::StatusOr<std::unique_ptr<v1::Controller::Stub>> ConnectToController();

// A context for one call: a 10 s deadline and, with --token_file, the token.
std::unique_ptr<grpc::ClientContext> CallContext();

// --search: the search a command is about ("" = the only one).
std::string SearchFlag();

// The connection flags, for the help of the commands that use them.
std::string ConnectionFlagsHelp();

}  // namespace amoeba

#endif  // AMOEBA_CLI_CONNECTION_H_
