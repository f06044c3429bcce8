// The one-line text form of a genotype, meant to be read and typed by people:
//
//   normal: OP(IN)+OP(IN) OP(IN)+OP(IN) OP(IN)+OP(IN) OP(IN)+OP(IN)
//   OP(IN)+OP(IN) [concat(S,S,...)]; reduction: ...same...
//
// (on one line). Each `OP(IN)+OP(IN)` is one combination: the op applied to
// hidden state IN, the two results added. `concat(...)` appears only for a
// cell with an explicit output set. Example, a cell that reads state 1
// through a 3x3 separable convolution and adds state 0 unchanged:
// `sep_conv_3x3(1)+none(0)`.
//
// Formatting is exact: ParseGenotype(FormatGenotype(g)) == g for every valid
// g, and FormatGenotype(ParseGenotype(t)) == t for every formatted t. The
// parser accepts any amount of blank space between tokens.
#ifndef AMOEBA_GENOTYPE_TEXT_H_
#define AMOEBA_GENOTYPE_TEXT_H_

#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "genotype/genotype.h"

namespace amoeba {

// Texts longer than this are refused before any parsing (a formatted
// genotype is about 400 bytes).
inline constexpr size_t kMaxGenotypeTextBytes = 16 * 1024;

// The text of `genotype` with its elements in stored order.
std::string FormatGenotype(const Genotype& genotype);

// The text of one cell body ("OP(IN)+OP(IN) ... [concat(...)]").
std::string FormatCell(const Cell& cell);

// FormatGenotype(Canonicalize(genotype)): equal for genotypes that compute
// the same network (see Canonicalize). This is what stores and fingerprints
// use. REQUIRES: ValidateGenotype(genotype) is OK.
std::string CanonicalText(const Genotype& genotype);

// Parses and validates a genotype. On error returns InvalidArgument naming
// the problem: where (column, cell, combination, element) and what was
// found instead of what was expected. Never crashes on any input.
absl::StatusOr<Genotype> ParseGenotype(absl::string_view text);

}  // namespace amoeba

#endif  // AMOEBA_GENOTYPE_TEXT_H_
