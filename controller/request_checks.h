// What the controller's handlers check of a request before acting on it:
// ids, names and free text within bounds, finite numbers, a worker's view
// of what it holds. Each check answers InvalidArgument with a message that
// names the field and the limit; OK otherwise.
#ifndef AMOEBA_CONTROLLER_REQUEST_CHECKS_H_
#define AMOEBA_CONTROLLER_REQUEST_CHECKS_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "proto/controller.pb.h"

namespace amoeba {

// Free text workers send (host, device, evaluator names): every stored
// string is bounded, so no listing can grow past the message limit.
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxFailureBytes = 4096;

// absl::Status -> grpc::Status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

grpc::Status Invalid(const std::string& message);

// Non-empty printable ASCII without spaces, at most 256 bytes.
grpc::Status CheckWorkerId(const std::string& id);
// A worker's view of the tasks it holds: bounded, and its sequence numbers
// consistent.
grpc::Status CheckView(const v1::WorkerView& view);
// A search id a request asks for: empty (one is generated) or a valid name.
grpc::Status CheckNewSearchId(const std::string& search_id);
// `value` of the request's `field` is at most `limit` bytes.
grpc::Status CheckName(const char* field, const std::string& value,
                       size_t limit = kMaxNameBytes);
grpc::Status CheckFinite(const char* field, double value);

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_REQUEST_CHECKS_H_
