// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF):
// what protobuf's proto3 string fields accept. A message with anything
// else in a string field does not parse.
#ifndef AMOEBA_COMMON_UTF8_H_
#define AMOEBA_COMMON_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace amoeba {

// The length of the valid UTF-8 character starting at text[i], or 0 when
// the bytes there are not one. REQUIRES: i < text.size().
size_t Utf8CharLength(absl::string_view text, size_t i);

bool IsValidUtf8(absl::string_view text);

// `text` with every byte that is not part of a valid character replaced by
// '?', cut (at a character boundary) to at most `max_bytes`.
std::string ToValidUtf8(absl::string_view text, size_t max_bytes);

}  // namespace amoeba

#endif  // AMOEBA_COMMON_UTF8_H_
