#include "common/status_macros.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "catch2/catch.hpp"

namespace amoeba {
namespace {

absl::StatusOr<int> ParsePositive(int v) {
  if (v <= 0) return absl::InvalidArgumentError("not positive");
  return v;
}

absl::Status CheckPositive(int v) {
  if (v <= 0) return absl::OutOfRangeError("bad");
  return absl::OkStatus();
}

absl::StatusOr<int> Doubled(int v) {
  ASSIGN_OR_RETURN(int parsed, ParsePositive(v));
  RETURN_IF_ERROR(CheckPositive(parsed - 1));
  return parsed * 2;
}

absl::StatusOr<std::string> AssignsExisting(int v) {
  int value = 0;
  ASSIGN_OR_RETURN(value, ParsePositive(v));
  ASSIGN_OR_RETURN(int second, ParsePositive(v + 1));
  return std::to_string(value + second);
}

TEST_CASE("ASSIGN_OR_RETURN and RETURN_IF_ERROR propagate errors") {
  CHECK(Doubled(5).value() == 10);
  CHECK(Doubled(0).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Doubled(1).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(AssignsExisting(2).value() == "5");
  CHECK(AssignsExisting(-5).status().message() == "not positive");
}

}  // namespace
}  // namespace amoeba
