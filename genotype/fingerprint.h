// A stable 64-bit fingerprint of a genotype, so the controller can recognise
// a network it has already evaluated.
//
// Defined as FNV-1a (64-bit) of CanonicalText(genotype), followed by the
// SplitMix64 finalizer for better bit mixing. It depends only on the bytes of
// the canonical text: identical across runs, compilers and machines. Stored
// fingerprints stay valid as long as the text form and Canonicalize() do not
// change. Genotypes equal under Canonicalize() have equal fingerprints.
#ifndef AMOEBA_GENOTYPE_FINGERPRINT_H_
#define AMOEBA_GENOTYPE_FINGERPRINT_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "genotype/genotype.h"

namespace amoeba {

// REQUIRES: ValidateGenotype(genotype) is OK.
uint64_t Fingerprint(const Genotype& genotype);

// The fingerprint of an already canonical text.
uint64_t FingerprintOfText(absl::string_view canonical_text);

// 16 lowercase hex digits, zero padded.
std::string FingerprintHex(uint64_t fingerprint);

}  // namespace amoeba

#endif  // AMOEBA_GENOTYPE_FINGERPRINT_H_
