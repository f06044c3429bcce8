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

TEST_CASE("ReadTokenFile trims line ends and refuses control characters") {
  const std::string crlf = TestTempPath("crlf-token");
  std::ofstream(crlf) << "s3cret \t\r\n";
  const auto token = ReadTokenFile(crlf);
  REQUIRE(token.ok());
  CHECK(*token == "s3cret");
  for (const std::string& text : {std::string("s3\x01cret\n"), std::string("s3 cret\n"),
                                  std::string("s3cr\xc3\xa9t\n")}) {
    const std::string bad = TestTempPath("bad-token");
    std::ofstream(bad) << text;
    const auto refused = ReadTokenFile(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(refused.status().message()),
               Catch::Contains("printable ASCII"));
  }
}

}  // namespace
}  // namespace amoeba
