// The two views a network sees of a photo, made from the file on uint8
// pixels (no float image ever exists on the host):
//
//   training view    a random box of 10-100 % of the photo's area with an
//                    aspect ratio in [3/4, 4/3] (the released amoeba_net
//                    preprocessing's ranges; a box that would not fit is
//                    clamped to the photo instead of redrawn), flipped
//                    horizontally with probability 1/2, resized to
//                    size x size
//   evaluation view  Inception's: the shorter side resized to size / 0.875,
//                    the central size x size
//
// Both are drawn on the photo's full extent, and a JPEG is decoded at the
// largest reduced scale (1/2, 1/4, 1/8) that still gives the box at least
// `size` pixels a side, so a small network reading large photos decodes
// little. Resizing is bilinear with half-pixel centres (PyTorch's
// align_corners=false); a box more than twice the output is first halved
// by 2x2 averaging (as often as needed), so that shrinking never aliases.
//
// The random draws come from the caller's Rng only: the same Rng state
// gives the same view on any machine and thread.
// Thread safety: every call is independent.
#ifndef AMOEBA_DATA_IMAGE_VIEWS_H_
#define AMOEBA_DATA_IMAGE_VIEWS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/rng.h"
#include "data/image_decoder.h"

namespace amoeba {

// A box in an image's pixels, and whether its view is mirrored.
struct ViewBox {
  double x = 0, y = 0, width = 0, height = 0;
  bool flip = false;
};

// The training view's box in a width x height image; draws from `rng` in a
// fixed order (area, aspect ratio, x, y, then flip when `flip` is asked).
ViewBox RandomResizedBox(int width, int height, bool flip, Rng& rng);

// The evaluation view's box: the central square of 0.875 of the shorter
// side.
ViewBox CenterBox(int width, int height);

// `box` (in `image`'s pixels) resized to size x size, written as planar
// RGB (3 x size x size bytes) to `out`.
// REQUIRES: the box lies within the image, width and height >= 1e-3,
// size >= 1.
void ResampleBox(const DecodedImage& image, const ViewBox& box, int size,
                 uint8_t* out);

// What a view of a file is made of.
struct ViewOptions {
  int size = 64;
  int64_t max_image_pixels = kDefaultMaxImagePixels;
};

// The training view (rng != nullptr) or the evaluation view of the file at
// `path`, written to `out` (3 x size x size bytes). Errors as
// DecodeImageFile's, naming the file; `out` is then unspecified.
absl::Status ReadImageView(const std::string& path,
                           const ViewOptions& options, Rng* rng,
                           uint8_t* out);

}  // namespace amoeba

#endif  // AMOEBA_DATA_IMAGE_VIEWS_H_
