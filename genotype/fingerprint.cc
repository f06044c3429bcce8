#include "genotype/fingerprint.h"

#include "absl/strings/str_format.h"
#include "genotype/text.h"

namespace amoeba {

uint64_t FingerprintOfText(absl::string_view canonical_text) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a offset basis
  for (const char c : canonical_text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;  // FNV-1a prime
  }
  hash = (hash ^ (hash >> 30)) * 0xbf58476d1ce4e5b9ULL;
  hash = (hash ^ (hash >> 27)) * 0x94d049bb133111ebULL;
  return hash ^ (hash >> 31);
}

uint64_t Fingerprint(const Genotype& genotype) {
  return FingerprintOfText(CanonicalText(genotype));
}

std::string FingerprintHex(uint64_t fingerprint) {
  return absl::StrFormat("%016x", fingerprint);
}

}  // namespace amoeba
