#include "common/utf8.h"

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

TEST_CASE("strict UTF-8: valid text passes, damage and overlong forms do not") {
  CHECK(IsValidUtf8("plain ascii"));
  CHECK(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(IsValidUtf8("\xff"));
  CHECK_FALSE(IsValidUtf8("\xc3"));              // truncated
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST_CASE("ToValidUtf8 replaces bad bytes and cuts at a character boundary") {
  CHECK(ToValidUtf8("a\xff\xfe" "b", 100) == "a??b");
  CHECK(ToValidUtf8("ab\xc3\xa9", 3) == "ab");  // never half a character
  CHECK(ToValidUtf8("ab\xc3\xa9", 4) == "ab\xc3\xa9");
}

}  // namespace
}  // namespace amoeba
