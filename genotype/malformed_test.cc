// A table of malformed genotype texts, each with the error it must produce.
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "catch2/catch.hpp"
#include "genotype/text.h"

namespace amoeba {
namespace {

// A valid cell: every combination reads states 0 and 1; outputs 2..6.
const std::string kCell =
    "none(0)+none(1) none(0)+none(1) none(0)+none(1) none(0)+none(1) "
    "none(0)+none(1)";
const std::string kValid = "normal: " + kCell + "; reduction: " + kCell;

// kValid with the first occurrence of `from` replaced by `to`.
std::string WithFirst(const std::string& from, const std::string& to) {
  std::string text = kValid;
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

// kValid with combination `c` of the normal (or reduction) cell replaced.
std::string WithCombination(bool reduction, int c, const std::string& pair) {
  std::vector<std::string> parts(5, "none(0)+none(1)");
  parts[c] = pair;
  std::string cell;
  for (const auto& p : parts) cell += (cell.empty() ? "" : " ") + p;
  return reduction ? "normal: " + kCell + "; reduction: " + cell
                   : "normal: " + cell + "; reduction: " + kCell;
}

struct Case {
  std::string name;
  std::string text;
  std::vector<std::string> expected;  // substrings of the error message
};

TEST_CASE("The base text of the table is valid") {
  REQUIRE(ParseGenotype(kValid).ok());
}

TEST_CASE("Malformed genotype texts give errors that name the problem") {
  const std::vector<Case> cases = {
      {"empty", "", {"genotype text is empty"}},
      {"blank", "  \n\t ", {"genotype text is empty"}},
      {"garbage word", "garbage", {"column 1", "expected 'normal:'", "'garbage'"}},
      {"garbage bytes", "\xff\xfe\x01", {"column 1", "byte 0xff", "not printable"}},
      {"control byte inside", WithFirst("none(1)", "none(\x01)"),
       {"byte 0x01", "not printable"}},
      {"huge input", std::string(1 << 20, 'a'),
       {"1048576 bytes", "limit is 16384"}},
      {"unknown op", WithFirst("none(0)", "sep_conv_9x9(0)"),
       {"normal cell, combination 0, first element", "unknown op 'sep_conv_9x9'",
        "ops are none, sep_conv_3x3"}},
      {"op in upper case", WithCombination(true, 3, "none(0)+MAX_POOL_3X3(1)"),
       {"reduction cell, combination 3, second element",
        "unknown op 'MAX_POOL_3X3'"}},
      {"missing op name", WithFirst("none(0)", "(0)"),
       {"normal cell, combination 0, first element", "expected an op name"}},
      {"self input (loop)", WithCombination(false, 0, "none(2)+none(1)"),
       {"normal cell, position 0 (combination 0, first element)", "input 2",
        "state 2 is the one this combination creates (a loop)",
        "may read states 0..1"}},
      {"later state (loop)", WithCombination(false, 1, "none(0)+none(5)"),
       {"normal cell, position 3 (combination 1, second element)",
        "state 5 is created later (a loop)", "may read states 0..2"}},
      {"last combination self", WithCombination(true, 4, "none(0)+none(6)"),
       {"reduction cell, position 9 (combination 4, second element)",
        "state 6 is the one this combination creates"}},
      {"state beyond the cell", WithCombination(false, 4, "none(7)+none(1)"),
       {"input 7", "a cell has only states 0..6"}},
      {"negative input", WithCombination(false, 2, "none(-1)+none(1)"),
       {"position 4 (combination 2, first element)", "cannot be negative"}},
      {"input overflows int", WithFirst("none(0)", "none(99999999999)"),
       {"expected a state number in normal cell, combination 0, first element"}},
      {"input not a number", WithFirst("none(0)", "none(zero)"),
       {"expected a state number", "'zero)"}},
      {"missing ')'", WithFirst("none(0)", "none(0"),
       {"expected ')' after the state number"}},
      {"missing '('", WithFirst("none(0)", "none 0)"),
       {"expected '(' after the op name"}},
      {"missing '+'", WithFirst("none(0)+none(1)", "none(0) none(1)"),
       {"expected '+' between the two elements of normal cell, combination 0"}},
      {"four combinations",
       "normal: none(0)+none(1) none(0)+none(1) none(0)+none(1) "
       "none(0)+none(1); reduction: " + kCell,
       {"normal cell has 4 combinations; expected 5"}},
      {"six combinations",
       "normal: " + kCell + " none(0)+none(1); reduction: " + kCell,
       {"expected 'concat(...)', ';' or the end after its 5 combinations"}},
      {"no combinations", "normal: ; reduction: " + kCell,
       {"normal cell has 0 combinations; expected 5"}},
      {"missing reduction cell", "normal: " + kCell,
       {"expected ';' after the normal cell", "the end of the text"}},
      {"missing reduction body", "normal: " + kCell + ";",
       {"expected 'reduction:'", "the end of the text"}},
      {"cells swapped", "reduction: " + kCell + "; normal: " + kCell,
       {"expected 'normal:' to start the normal cell", "'reduction'"}},
      {"missing colon", "normal " + kCell + "; reduction: " + kCell,
       {"expected ':' after 'normal'"}},
      {"trailing text", kValid + "; extra", {"unexpected 'extra' after the reduction cell"}},
      {"third cell", kValid + "; normal: " + kCell,
       {"unexpected 'normal:' after the reduction cell"}},
      {"concat unknown state", kValid + " concat(2,3,4,5,6,9)",
       {"reduction cell, concat: state 9 does not exist"}},
      {"concat duplicate", kValid + " concat(2,3,3,4,5,6)",
       {"reduction cell, concat: state 3 is listed twice"}},
      {"concat drops a state", kValid + " concat(2,3,4,5)",
       {"state 6 is neither consumed", "computed and dropped"}},
      {"concat empty", kValid + " concat()", {"concat() is empty"}},
      {"concat unterminated", kValid + " concat(2,3",
       {"expected ')' or ','", "the end of the text"}},
      {"concat too long", kValid + " concat(2,3,4,5,6,2,3,4)",
       {"concat lists more than 7 states"}},
  };
  REQUIRE(cases.size() >= 20);
  for (const Case& c : cases) {
    INFO("case: " << c.name);
    const auto parsed = ParseGenotype(c.text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    for (const std::string& expected : c.expected) {
      CHECK_THAT(std::string(parsed.status().message()),
                 Catch::Contains(expected));
    }
  }
}

TEST_CASE("Parsing never crashes on random bytes and truncations") {
  // Every prefix of a valid text, and byte flips of it, must give a clean
  // answer (OK only for the full text).
  for (size_t n = 0; n < kValid.size(); ++n) {
    const auto parsed = ParseGenotype(kValid.substr(0, n));
    if (parsed.ok()) {
      // Only truncations inside the final token could still parse... none
      // can: the reduction cell needs all 5 combinations and ')' at the end.
      FAIL("prefix of length " << n << " parsed");
    }
  }
  uint64_t state = 12345;
  for (int i = 0; i < 5000; ++i) {
    std::string text = kValid;
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const size_t at = (state >> 33) % text.size();
    text[at] = static_cast<char>((state >> 20) & 0xff);
    const auto parsed = ParseGenotype(text);
    if (!parsed.ok()) {
      CHECK_FALSE(parsed.status().message().empty());
    }
  }
}

}  // namespace
}  // namespace amoeba
