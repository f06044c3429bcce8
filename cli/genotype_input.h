// Reading genotypes the way every `amoeba` command accepts them: a published
// name ("amoebanet-a"), a genotype text ("normal: ...; reduction: ..."), a
// file holding one, or standard input ("-").
#ifndef AMOEBA_CLI_GENOTYPE_INPUT_H_
#define AMOEBA_CLI_GENOTYPE_INPUT_H_

#include <istream>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "genotype/genotype.h"

namespace amoeba {

// One genotype from a command-line argument. Errors say which of the forms
// the argument looked like and what was wrong with it.
absl::StatusOr<Genotype> GenotypeFromArgument(absl::string_view argument);

// A genotype and where it came from ("line 3", "argument 2") for messages.
struct GenotypeSource {
  std::string where;
  std::string text;  // the raw input, resolved by GenotypeFromArgument
  std::string error;  // set when the input was refused before parsing
};

// Calls `visit` for each genotype a command should work on: every
// argument, or, when there is none (or one "-"), every non-empty line of
// `in` that is not a '#' comment, read as it comes. A line is held only up
// to kMaxGenotypeTextBytes + 1 bytes (the rest is skipped), so input of any
// size needs bounded memory and an over-long line fails to parse with its
// length named. Returns the number of sources visited.
int64_t ForEachGenotypeSource(const std::vector<std::string>& arguments,
                              std::istream& in,
                              const std::function<void(const GenotypeSource&)>& visit);

}  // namespace amoeba

#endif  // AMOEBA_CLI_GENOTYPE_INPUT_H_
