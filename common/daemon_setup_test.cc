#include "common/daemon_setup.h"

#include <fstream>
#include <string>

#include "catch2/catch.hpp"
#include "testing/test_files.h"

namespace amoeba {
namespace {

TEST_CASE("ReadTokenFile takes the first line and names a bad file") {
  const std::string good = TestTempPath("token");
  std::ofstream(good) << "s3cret\nignored\n";
  const auto token = ReadTokenFile(good);
  REQUIRE(token.ok());
  CHECK(*token == "s3cret");

  const std::string empty = TestTempPath("empty-token");
  std::ofstream(empty) << "\n";
  for (const std::string& bad : {empty, TestTempPath("no-such-token")}) {
    const auto refused = ReadTokenFile(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(refused.status().message()) ==
          "cannot read a token from --token_file=" + bad);
  }
}

}  // namespace
}  // namespace amoeba
