#include "cli/genotype_input.h"

#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "genotype/known_cells.h"
#include "genotype/text.h"

namespace amoeba {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// The first line of a file that is neither blank nor a '#' comment.
absl::StatusOr<std::string> ReadGenotypeFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read file '", path, "'"));
  }
  std::string line;
  while (std::getline(file, line)) {
    if (line.size() > kMaxGenotypeTextBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("file '", path, "': line longer than ",
                       kMaxGenotypeTextBytes, " bytes; not a genotype file"));
    }
    const absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (stripped.empty() || stripped[0] == '#') continue;
    return std::string(stripped);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("file '", path, "' holds no genotype"));
}

}  // namespace

absl::StatusOr<Genotype> GenotypeFromArgument(absl::string_view argument) {
  const absl::string_view stripped = absl::StripAsciiWhitespace(argument);
  if (absl::StrContains(stripped, ':') || stripped.empty()) {
    return ParseGenotype(stripped);
  }
  const auto known = KnownGenotype(stripped);
  if (known.ok()) return known;
  const std::string path(stripped);
  if (IsRegularFile(path)) {
    const auto text = ReadGenotypeFile(path);
    if (!text.ok()) return text.status();
    auto parsed = ParseGenotype(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("file '", path, "': ", parsed.status().message()));
    }
    return parsed;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", stripped.substr(0, 80),
      "' is neither a published genotype (",
      absl::StrJoin(KnownGenotypeNames(), ", "),
      "), a genotype text ('normal: ...; reduction: ...'), nor a readable "
      "file"));
}

int64_t ForEachGenotypeSource(
    const std::vector<std::string>& arguments, std::istream& in,
    const std::function<void(const GenotypeSource&)>& visit) {
  if (!arguments.empty() && !(arguments.size() == 1 && arguments[0] == "-")) {
    for (size_t i = 0; i < arguments.size(); ++i) {
      visit({absl::StrCat("argument ", i + 1), arguments[i], ""});
    }
    return static_cast<int64_t>(arguments.size());
  }
  int64_t visited = 0;
  int64_t number = 0;
  std::string line;
  std::streambuf* buffer = in.rdbuf();
  bool more = true;
  while (more) {
    // One line, keeping at most kMaxGenotypeTextBytes + 1 bytes of it.
    line.clear();
    int64_t length = 0;
    int c;
    while ((c = buffer->sbumpc()) != std::char_traits<char>::eof() && c != '\n') {
      if (line.size() <= kMaxGenotypeTextBytes) line.push_back(static_cast<char>(c));
      ++length;
    }
    more = c != std::char_traits<char>::eof();
    if (!more && length == 0) break;
    ++number;
    const absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (stripped.empty() || stripped[0] == '#') continue;
    if (length > static_cast<int64_t>(kMaxGenotypeTextBytes)) {
      visit({absl::StrCat("stdin line ", number), "",
             absl::StrCat("a line of ", length,
                          " bytes; a genotype text is at most ",
                          kMaxGenotypeTextBytes)});
    } else {
      visit({absl::StrCat("stdin line ", number), std::string(stripped), ""});
    }
    ++visited;
  }
  return visited;
}

}  // namespace amoeba
