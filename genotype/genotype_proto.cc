#include "genotype/genotype_proto.h"

#include <string>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace amoeba {
namespace {

void CellToProto(const Cell& cell, v1::Cell* proto) {
  proto->Clear();
  for (int p = 0; p < kNumPositions; ++p) {
    proto->add_ops(static_cast<v1::Op>(static_cast<int>(cell.ops[p]) + 1));
    proto->add_inputs(cell.inputs[p]);
  }
  for (int s : cell.concat) proto->add_concat(s);
}

absl::StatusOr<Cell> CellFromProto(const v1::Cell& proto, CellType type) {
  const std::string name = CellTypeName(type);
  if (proto.ops_size() != kNumPositions) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s cell has %d ops; expected %d (two per combination)", name,
        proto.ops_size(), kNumPositions));
  }
  if (proto.inputs_size() != kNumPositions) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s cell has %d inputs; expected %d (two per combination)", name,
        proto.inputs_size(), kNumPositions));
  }
  if (proto.concat_size() > kNumStates) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s cell concat lists %d states; a cell has only %d",
                        name, proto.concat_size(), kNumStates));
  }
  Cell cell;
  for (int p = 0; p < kNumPositions; ++p) {
    const int value = proto.ops(p);
    if (value < 1 || value > kNumOps) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s cell, position %d (%s): op %s is not one of the %d ops", name, p,
          DescribePosition(p),
          value == 0 ? std::string("OP_UNSPECIFIED")
                     : absl::StrFormat("value %d", value),
          kNumOps));
    }
    cell.ops[p] = static_cast<Op>(value - 1);
    cell.inputs[p] = proto.inputs(p);
  }
  cell.concat.assign(proto.concat().begin(), proto.concat().end());
  return cell;
}

}  // namespace

void GenotypeToProto(const Genotype& genotype, v1::Genotype* proto) {
  CellToProto(genotype.normal, proto->mutable_normal());
  CellToProto(genotype.reduction, proto->mutable_reduction());
}

v1::Genotype GenotypeToProto(const Genotype& genotype) {
  v1::Genotype proto;
  GenotypeToProto(genotype, &proto);
  return proto;
}

absl::StatusOr<Genotype> GenotypeFromProto(const v1::Genotype& proto) {
  if (!proto.has_normal()) {
    return absl::InvalidArgumentError("genotype has no normal cell");
  }
  if (!proto.has_reduction()) {
    return absl::InvalidArgumentError("genotype has no reduction cell");
  }
  Genotype genotype;
  ASSIGN_OR_RETURN(genotype.normal,
                   CellFromProto(proto.normal(), CellType::kNormal));
  ASSIGN_OR_RETURN(genotype.reduction,
                   CellFromProto(proto.reduction(), CellType::kReduction));
  RETURN_IF_ERROR(ValidateGenotype(genotype));
  return genotype;
}

}  // namespace amoeba
