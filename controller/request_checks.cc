#include "controller/request_checks.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "store/store.h"

namespace amoeba {
namespace {

constexpr size_t kMaxIdBytes = 256;

}  // namespace

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

grpc::Status CheckWorkerId(const std::string& id) {
  if (id.empty()) return Invalid("worker_id is empty");
  if (id.size() > kMaxIdBytes) {
    return Invalid(absl::StrFormat("worker_id is %d bytes; the limit is %d",
                                   id.size(), kMaxIdBytes));
  }
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) {
      return Invalid("worker_id must be printable ASCII without spaces");
    }
  }
  return grpc::Status::OK;
}

// A worker holds at most as many tasks as it has slots (a registered
// capacity is at most 1024; amoeba-worker runs at most 64) plus results
// waiting for delivery; the bound keeps a hostile view cheap.
constexpr int kMaxHeldTasks = 4096;

grpc::Status CheckView(const v1::WorkerView& view) {
  if (view.held_size() > kMaxHeldTasks) {
    return Invalid(absl::StrFormat("view holds %d tasks; the limit is %d",
                                   view.held_size(), kMaxHeldTasks));
  }
  if (view.incarnation() != 0 &&
      (view.sequence() == 0 || view.settled() >= view.sequence())) {
    return Invalid(absl::StrFormat(
        "view: sequence must be >= 1 and settled < sequence, got %d and %d",
        view.sequence(), view.settled()));
  }
  return grpc::Status::OK;
}

grpc::Status CheckNewSearchId(const std::string& search_id) {
  if (search_id.empty()) return grpc::Status::OK;
  return ToGrpcStatus(ValidateSearchName(search_id));
}

grpc::Status CheckName(const char* field, const std::string& value,
                       size_t limit) {
  if (value.size() > limit) {
    return Invalid(absl::StrFormat("%s is %d bytes; the limit is %d", field,
                                   value.size(), limit));
  }
  return grpc::Status::OK;
}

grpc::Status CheckFinite(const char* field, double value) {
  if (!std::isfinite(value)) {
    return Invalid(absl::StrCat(field, " must be a finite number"));
  }
  return grpc::Status::OK;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace amoeba
