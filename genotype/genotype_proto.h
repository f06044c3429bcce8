// Conversion between amoeba::Genotype and its wire form amoeba.v1.Genotype.
// Kept out of the genotype library so that it stays free of protobuf.
#ifndef AMOEBA_GENOTYPE_GENOTYPE_PROTO_H_
#define AMOEBA_GENOTYPE_GENOTYPE_PROTO_H_

#include "absl/status/statusor.h"
#include "genotype/genotype.h"
#include "proto/genotype.pb.h"

namespace amoeba {

// The wire form, elements in stored order.
void GenotypeToProto(const Genotype& genotype, v1::Genotype* proto);
v1::Genotype GenotypeToProto(const Genotype& genotype);

// Reads and validates a wire genotype. InvalidArgument names the problem:
// a missing cell, wrong counts, an unknown or unspecified op, or any
// ValidateGenotype error. GenotypeFromProto(GenotypeToProto(g)) == g.
absl::StatusOr<Genotype> GenotypeFromProto(const v1::Genotype& proto);

}  // namespace amoeba

#endif  // AMOEBA_GENOTYPE_GENOTYPE_PROTO_H_
