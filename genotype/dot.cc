#include "genotype/dot.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace amoeba {
namespace {

constexpr char kGraphHeader[] =
    "  rankdir=TB;\n"
    "  node [fontname=\"Helvetica\", fontsize=11];\n"
    "  edge [arrowsize=0.7];\n";

// The nodes and edges of one cell; every node id starts with `prefix` so two
// cells can share a graph.
std::string CellBody(const Cell& cell, CellType type,
                     const std::string& prefix, const std::string& indent) {
  std::string out;
  const auto state_id = [&](int s) { return absl::StrCat(prefix, "s", s); };
  absl::StrAppendFormat(&out,
                        "%s%s [label=\"state 0\\nprevious cell\", "
                        "shape=ellipse, style=filled, fillcolor=\"#dbe9f6\"];\n",
                        indent, state_id(0));
  absl::StrAppendFormat(&out,
                        "%s%s [label=\"state 1\\ncell before\", "
                        "shape=ellipse, style=filled, fillcolor=\"#dbe9f6\"];\n",
                        indent, state_id(1));
  // Both inputs on the top row, whatever the edges pull them to.
  absl::StrAppendFormat(&out, "%s{ rank=same; %s; %s; }\n", indent,
                        state_id(0), state_id(1));
  for (int c = 0; c < kNumCombinations; ++c) {
    const int created = c + kNumCellInputs;
    absl::StrAppendFormat(&out,
                          "%s%s [label=\"+\\nstate %d\", shape=circle, "
                          "style=filled, fillcolor=\"#fde4c8\"];\n",
                          indent, state_id(created), created);
    for (int element = 0; element < 2; ++element) {
      const int p = 2 * c + element;
      const std::string op_id = absl::StrCat(prefix, "op", p);
      const bool strided = type == CellType::kReduction &&
                           cell.inputs[p] < kNumCellInputs;
      absl::StrAppendFormat(&out, "%s%s [label=\"%s%s\", shape=box];\n",
                            indent, op_id, OpName(cell.ops[p]),
                            strided ? "\\nstride 2" : "");
      absl::StrAppendFormat(&out, "%s%s -> %s;\n", indent,
                            state_id(cell.inputs[p]), op_id);
      absl::StrAppendFormat(&out, "%s%s -> %s;\n", indent, op_id,
                            state_id(created));
    }
  }
  const std::string concat_id = absl::StrCat(prefix, "concat");
  absl::StrAppendFormat(&out,
                        "%s%s [label=\"concat\\n%s cell output\", shape=box3d, "
                        "style=filled, fillcolor=\"#d5f0d5\"];\n",
                        indent, concat_id, CellTypeName(type));
  for (int s : OutputStateList(cell)) {
    const bool reduced = type == CellType::kReduction && s < kNumCellInputs;
    absl::StrAppendFormat(&out, "%s%s -> %s%s;\n", indent, state_id(s),
                          concat_id,
                          reduced ? " [label=\"factorized\\nreduction\"]" : "");
  }
  return out;
}

}  // namespace

std::string CellToDot(const Cell& cell, CellType type) {
  return absl::StrCat("digraph ", CellTypeName(type), "_cell {\n",
                      kGraphHeader,
                      absl::StrFormat("  label=\"%s cell\";\n  labelloc=t;\n",
                                      CellTypeName(type)),
                      CellBody(cell, type, CellTypeName(type) + "_", "  "),
                      "}\n");
}

std::string GenotypeToDot(const Genotype& genotype) {
  std::string out = absl::StrCat("digraph genotype {\n", kGraphHeader);
  for (CellType type : {CellType::kNormal, CellType::kReduction}) {
    const std::string name = CellTypeName(type);
    absl::StrAppendFormat(&out,
                          "  subgraph cluster_%s {\n    label=\"%s cell\";\n",
                          name, name);
    absl::StrAppend(&out, CellBody(genotype.cell(type), type, name + "_",
                                   "    "),
                    "  }\n");
  }
  out += "}\n";
  return out;
}

}  // namespace amoeba
