// Decoding one image file (JPEG with libjpeg-turbo's TurboJPEG, PNG with
// libpng) to 8-bit RGB, and the resize + center crop that stores it.
//
// The format comes from the file's first bytes, not its name. A JPEG is
// decoded at the smallest of TurboJPEG's scales 1/8, 1/4, 1/2 that keeps
// its shorter side at least `min_side` (else in full): decoding a 500x375
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

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace amoeba {

struct DecodedImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // height * width * 3, row-major
};

// Decoding refuses an image whose decoded size would exceed this many
// pixels (after a JPEG's reduced-scale decode): a file's header may claim
// any size, and 65,000 x 65,000 asks for 12 GB. PIL's own bound for
// decompression bombs (Image.MAX_IMAGE_PIXELS), about 89 megapixels: a
// 268 MB RGB buffer per decoding thread at most.
inline constexpr int64_t kDefaultMaxImagePixels = 89478485;

// REQUIRES: min_side >= 1, max_pixels >= 1.
// InvalidArgument naming the file and both sizes when the image is larger
// than `max_pixels` (nothing is allocated for it).
absl::StatusOr<DecodedImage> DecodeImageFile(
    const std::string& path, int min_side,
    int64_t max_pixels = kDefaultMaxImagePixels);

// The evaluation view of an image, as Inception's preprocessing takes it:
// the shorter side resized (bilinear, antialiased) to `size` / `crop`, then
// the central `size` x `size`. uint8 [3, size, size].
// REQUIRES: 0 < crop <= 1, size >= 1.
torch::Tensor ResizeAndCenterCrop(const DecodedImage& image, int size,
                                  double crop);

}  // namespace amoeba

#endif  // AMOEBA_DATA_IMAGE_DECODER_H_
