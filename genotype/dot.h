// Graphviz DOT drawings of cells and genotypes, for people to look at
// (`dot -Tsvg`). Inputs are the two incoming states, each op is a box on the
// way from the state it reads to its combination's '+' node, and the states
// that form the output point at a final 'concat' node. In a reduction cell,
// ops that read state 0 or 1 are marked "stride 2".
#ifndef AMOEBA_GENOTYPE_DOT_H_
#define AMOEBA_GENOTYPE_DOT_H_

#include <string>

#include "genotype/genotype.h"

namespace amoeba {

// A complete `digraph` of one cell. REQUIRES: ValidateCell(cell, type) OK.
std::string CellToDot(const Cell& cell, CellType type);

// A complete `digraph` with both cells side by side, each in a cluster.
// REQUIRES: ValidateGenotype(genotype) is OK.
std::string GenotypeToDot(const Genotype& genotype);

}  // namespace amoeba

#endif  // AMOEBA_GENOTYPE_DOT_H_
