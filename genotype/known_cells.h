// The published cells, exactly as the authors' released code lists them
// (see DESIGN.md): AmoebaNet-A and NASNet-A, each with its explicit
// concatenation set.
#ifndef AMOEBA_GENOTYPE_KNOWN_CELLS_H_
#define AMOEBA_GENOTYPE_KNOWN_CELLS_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "genotype/genotype.h"

namespace amoeba {

Genotype AmoebaNetA();
Genotype NasNetA();

// "amoebanet-a", "nasnet-a".
std::vector<std::string> KnownGenotypeNames();

// The published genotype with this name (case-insensitive; '_' and '-' are
// the same). NotFound with the list of names otherwise.
absl::StatusOr<Genotype> KnownGenotype(absl::string_view name);

}  // namespace amoeba

#endif  // AMOEBA_GENOTYPE_KNOWN_CELLS_H_
