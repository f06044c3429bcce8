// Decoding one image file (JPEG with libjpeg-turbo's TurboJPEG, PNG with
// libpng) to 8-bit RGB.
//
// The format comes from the file's first bytes, not its name. A JPEG may
// be decoded at one of TurboJPEG's reduced scales 1/2, 1/4, 1/8 (the caller
// chooses, knowing the image's size from its header): decoding a 500x375
// photo for a 64-pixel network at 1/4 scale is much faster than in full.
// Grayscale becomes RGB; CMYK and YCCK JPEGs (Adobe, inverted) become RGB
// as R = C * K / 255 (and so on), as PIL converts them.
//
// Errors name the file: NotFound (cannot read), InvalidArgument (not a JPEG
// or PNG, damaged: truncated data is an error, not a gray bottom, or
// larger than the caller's bound), ResourceExhausted (out of memory).
// Never throws. Thread safety: every call is independent.
#ifndef AMOEBA_DATA_IMAGE_DECODER_H_
#define AMOEBA_DATA_IMAGE_DECODER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace amoeba {

struct DecodedImage {
  int width = 0;   // as decoded (reduced scale included)
  int height = 0;
  int full_width = 0;  // as the file stores it
  int full_height = 0;
  std::vector<uint8_t> rgb;  // height * width * 3, row-major
};

// Given the image's full width and height (from its header), the reduction
// to decode a JPEG at: 1, 2, 4 or 8 (a decoded side is the full side / d,
// rounded up). Called once per decoding, before any pixel; also for a PNG,
// which is always decoded in full.
using ReductionChooser = std::function<int(int width, int height)>;

// Decoding refuses an image whose decoded size would exceed this many
// pixels (after a JPEG's reduced-scale decode): a file's header may claim
// any size, and 65,000 x 65,000 asks for 12 GB. PIL's own bound for
// decompression bombs (Image.MAX_IMAGE_PIXELS), about 89 megapixels: a
// 268 MB RGB buffer per decoding thread at most.
inline constexpr int64_t kDefaultMaxImagePixels = 89478485;

// REQUIRES: max_pixels >= 1.
// InvalidArgument naming the file and both sizes when the image is larger
// than `max_pixels` after its reduction (nothing is allocated for it).
absl::StatusOr<DecodedImage> DecodeImageFile(
    const std::string& path, const ReductionChooser& reduction,
    int64_t max_pixels = kDefaultMaxImagePixels);

// The same, at the largest reduction that keeps the shorter side at least
// `min_side` (or in full when it is shorter already).
// REQUIRES: min_side >= 1.
absl::StatusOr<DecodedImage> DecodeImageFile(
    const std::string& path, int min_side,
    int64_t max_pixels = kDefaultMaxImagePixels);

}  // namespace amoeba

#endif  // AMOEBA_DATA_IMAGE_DECODER_H_
