#include "genotype/text.h"

#include <cctype>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace amoeba {
namespace {

// A cursor over the text with blank skipping and error messages that say
// where they happened. Columns are 1-based, as editors show them.
class Scanner {
 public:
  explicit Scanner(absl::string_view text) : text_(text) {}

  void SkipBlank() {
    while (pos_ < text_.size() &&
           std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }

  bool AtEnd() {
    SkipBlank();
    return pos_ >= text_.size();
  }

  // The next non-blank character, or '\0' at the end.
  char Peek() {
    SkipBlank();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  bool TryConsume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }

  absl::Status Expect(char c, absl::string_view context) {
    if (TryConsume(c)) return absl::OkStatus();
    return Error(absl::StrFormat("expected '%c' %s, found %s", c, context,
                                 DescribeNext()));
  }

  // [A-Za-z0-9_]+, possibly empty.
  absl::string_view Word() {
    SkipBlank();
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
            text_[pos_] == '_')) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  // An optionally signed decimal integer that fits in an int.
  absl::StatusOr<int> Integer(absl::string_view context) {
    SkipBlank();
    const size_t start = pos_;
    if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) {
      ++pos_;
    }
    while (pos_ < text_.size() &&
           std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    const absl::string_view digits = text_.substr(start, pos_ - start);
    int value = 0;
    if (digits.empty() || !absl::SimpleAtoi(digits, &value)) {
      pos_ = start;
      return ErrorAt(start, absl::StrFormat("expected a state number %s, "
                                            "found %s",
                                            context, DescribeNext()));
    }
    return value;
  }

  absl::Status Error(absl::string_view message) const {
    return ErrorAt(pos_, message);
  }

  absl::Status ErrorAt(size_t pos, absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrFormat("genotype text, column %d: %s", pos + 1, message));
  }

  // "'xyz'" (the next few characters) or "the end of the text".
  std::string DescribeNext() {
    SkipBlank();
    if (pos_ >= text_.size()) return "the end of the text";
    size_t end = pos_;
    while (end < text_.size() && end - pos_ < 16 &&
           !std::isspace(static_cast<unsigned char>(text_[end]))) {
      ++end;
    }
    if (end == pos_) end = pos_ + 1;
    return absl::StrCat("'", text_.substr(pos_, end - pos_), "'");
  }

  size_t pos() const { return pos_; }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

absl::Status CheckBytes(absl::string_view text) {
  if (text.size() > kMaxGenotypeTextBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "genotype text is %d bytes; the limit is %d (a genotype is about 400)",
        text.size(), kMaxGenotypeTextBytes));
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "genotype text, column %d: byte 0x%02x is not printable ASCII", i + 1,
          c));
    }
  }
  return absl::OkStatus();
}

// One element: OP(IN).
absl::Status ParseElement(Scanner& scanner, const std::string& where,
                          Op* op, int* input) {
  const size_t start = scanner.pos();
  const absl::string_view name = scanner.Word();
  if (name.empty()) {
    return scanner.Error(absl::StrFormat("%s: expected an op name, found %s",
                                         where, scanner.DescribeNext()));
  }
  const std::optional<Op> parsed = OpFromName(name);
  if (!parsed.has_value()) {
    return scanner.ErrorAt(
        start, absl::StrFormat("%s: unknown op '%s'; ops are %s", where, name,
                               AllOpNames()));
  }
  *op = *parsed;
  RETURN_IF_ERROR(scanner.Expect('(', "after the op name in " + where));
  ASSIGN_OR_RETURN(*input, scanner.Integer("in " + where));
  return scanner.Expect(')', "after the state number in " + where);
}

absl::StatusOr<Cell> ParseCell(Scanner& scanner, CellType type) {
  const std::string name = CellTypeName(type);
  const size_t start = scanner.pos();
  const absl::string_view label = scanner.Word();
  if (label != name) {
    return scanner.ErrorAt(
        start, absl::StrFormat("expected '%s:' to start the %s cell, found %s",
                               name, name,
                               label.empty() ? scanner.DescribeNext()
                                             : absl::StrCat("'", label, "'")));
  }
  RETURN_IF_ERROR(scanner.Expect(':', "after '" + name + "'"));

  Cell cell;
  int combinations = 0;
  while (true) {
    const char next = scanner.Peek();
    if (next == ';' || next == '\0') break;
    // "concat(" ends the combinations.
    Scanner lookahead = scanner;
    if (lookahead.Word() == "concat" && lookahead.Peek() == '(') break;
    if (combinations == kNumCombinations) {
      return scanner.Error(absl::StrFormat(
          "%s cell: expected 'concat(...)', ';' or the end after its %d "
          "combinations, found %s",
          name, kNumCombinations, scanner.DescribeNext()));
    }
    for (int element = 0; element < 2; ++element) {
      const int p = 2 * combinations + element;
      const std::string where =
          absl::StrFormat("%s cell, %s", name, DescribePosition(p));
      RETURN_IF_ERROR(
          ParseElement(scanner, where, &cell.ops[p], &cell.inputs[p]));
      if (element == 0) {
        RETURN_IF_ERROR(scanner.Expect(
            '+', absl::StrFormat("between the two elements of %s cell, "
                                 "combination %d",
                                 name, combinations)));
      }
    }
    ++combinations;
  }
  if (combinations != kNumCombinations) {
    return scanner.Error(
        absl::StrFormat("%s cell has %d combination%s; expected %d", name,
                        combinations, combinations == 1 ? "" : "s",
                        kNumCombinations));
  }
  if (scanner.Peek() != ';' && !scanner.AtEnd()) {
    scanner.Word();  // "concat", checked by the lookahead above
    RETURN_IF_ERROR(scanner.Expect('(', "after 'concat'"));
    const std::string context = absl::StrCat("in the ", name, " cell's concat");
    if (scanner.Peek() == ')') {
      return scanner.Error(absl::StrFormat(
          "%s cell: concat() is empty; leave it out for the default", name));
    }
    while (true) {
      if (cell.concat.size() >= kNumStates) {
        return scanner.Error(absl::StrFormat(
            "%s cell: concat lists more than %d states", name, kNumStates));
      }
      ASSIGN_OR_RETURN(int state, scanner.Integer(context));
      cell.concat.push_back(state);
      if (scanner.TryConsume(',')) continue;
      RETURN_IF_ERROR(scanner.Expect(')', "or ',' " + context));
      break;
    }
  }
  return cell;
}

}  // namespace

std::string FormatCell(const Cell& cell) {
  std::string out;
  for (int c = 0; c < kNumCombinations; ++c) {
    if (c > 0) out += ' ';
    absl::StrAppend(&out, OpName(cell.ops[2 * c]), "(", cell.inputs[2 * c],
                    ")+", OpName(cell.ops[2 * c + 1]), "(",
                    cell.inputs[2 * c + 1], ")");
  }
  if (!cell.concat.empty()) {
    absl::StrAppend(&out, " concat(", absl::StrJoin(cell.concat, ","), ")");
  }
  return out;
}

std::string FormatGenotype(const Genotype& genotype) {
  return absl::StrCat("normal: ", FormatCell(genotype.normal),
                      "; reduction: ", FormatCell(genotype.reduction));
}

std::string CanonicalText(const Genotype& genotype) {
  return FormatGenotype(Canonicalize(genotype));
}

absl::StatusOr<Genotype> ParseGenotype(absl::string_view text) {
  RETURN_IF_ERROR(CheckBytes(text));
  Scanner scanner(text);
  if (scanner.AtEnd()) {
    return absl::InvalidArgumentError(
        "genotype text is empty; expected 'normal: ...; reduction: ...'");
  }
  Genotype genotype;
  ASSIGN_OR_RETURN(genotype.normal, ParseCell(scanner, CellType::kNormal));
  RETURN_IF_ERROR(scanner.Expect(';', "after the normal cell"));
  ASSIGN_OR_RETURN(genotype.reduction,
                   ParseCell(scanner, CellType::kReduction));
  scanner.TryConsume(';');  // a trailing ';' is harmless
  if (!scanner.AtEnd()) {
    return scanner.Error(absl::StrFormat(
        "unexpected %s after the reduction cell", scanner.DescribeNext()));
  }
  RETURN_IF_ERROR(ValidateGenotype(genotype));
  return genotype;
}

}  // namespace amoeba
