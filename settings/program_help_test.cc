#include "settings/program_help.h"

#include "catch2/catch.hpp"
#include "gflags/gflags.h"
#include "glog/logging.h"

DEFINE_int32(program_help_test_flag, 7, "a flag of this program");

namespace amoeba {
namespace {

TEST_CASE("the program's own flags are listed, the logging flags are not") {
  (void)FLAGS_program_help_test_flag;
  const std::string help =
      ProgramHelp("usage: test", {"settings/program_help_test.cc"});
  CHECK(help.rfind("usage: test\n", 0) == 0);
  CHECK_THAT(help, Catch::Contains("--program_help_test_flag (a flag of this "
                                   "program) type: int32 default: 7"));
  // glog's flags are linked in, and only --helpfull shows them.
  gflags::CommandLineFlagInfo info;
  REQUIRE(gflags::GetCommandLineFlagInfo("logtostderr", &info));
  CHECK_THAT(help, !Catch::Contains("--logtostderr"));
  CHECK_THAT(help, Catch::Contains("--helpfull"));

  const char* with_help[] = {"prog", "--port=1", "--help"};
  const char* without[] = {"prog", "--port=1", "--", "--help"};
  CHECK(PrintHelpIfAsked(3, const_cast<char**>(with_help), "usage", {"x.cc"}));
  CHECK_FALSE(PrintHelpIfAsked(4, const_cast<char**>(without), "usage", {"x.cc"}));
  for (const char* help : {"--help", "-help", "--helpshort", "-helpshort", "-h", "--h"}) {
    CHECK(IsHelpFlag(help));
  }
  CHECK_FALSE(IsHelpFlag("--helpfull"));
  CHECK_FALSE(IsHelpFlag("help"));
}

}  // namespace
}  // namespace amoeba
