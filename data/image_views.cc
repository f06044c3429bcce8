#include "data/image_views.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace amoeba {
namespace {

// The released amoeba_net inception_preprocessing.py: preprocess_for_train
// passes area_range=(min_object_covered, 1.0) with min_object_covered 0.1
// (the function's own default, 0.05, is what slim's copy uses).
constexpr double kMinCropArea = 0.1;
// Inception's evaluation crop: the central 87.5 %.
constexpr double kCenterCrop = 0.875;

// `image` halved along x and/or y by averaging pixel pairs (an odd last
// pixel stands alone), with `box` moved to the new pixels.
DecodedImage Halved(const DecodedImage& image, bool along_x, bool along_y,
                    ViewBox& box) {
  const int w = image.width, h = image.height;
  DecodedImage out;
  out.width = along_x ? (w + 1) / 2 : w;
  out.height = along_y ? (h + 1) / 2 : h;
  out.full_width = image.full_width;
  out.full_height = image.full_height;
  out.rgb.resize(static_cast<size_t>(out.width) * out.height * 3);
  const int sx = along_x ? 2 : 1, sy = along_y ? 2 : 1;
  for (int y = 0; y < out.height; ++y) {
    const int y0 = y * sy, y1 = std::min(y0 + sy - 1, h - 1);
    const uint8_t* row0 = image.rgb.data() + static_cast<size_t>(y0) * w * 3;
    const uint8_t* row1 = image.rgb.data() + static_cast<size_t>(y1) * w * 3;
    uint8_t* dst = out.rgb.data() + static_cast<size_t>(y) * out.width * 3;
    for (int x = 0; x < out.width; ++x) {
      const int x0 = x * sx, x1 = std::min(x0 + sx - 1, w - 1);
      for (int c = 0; c < 3; ++c) {
        const int sum = row0[x0 * 3 + c] + row0[x1 * 3 + c] +
                        row1[x0 * 3 + c] + row1[x1 * 3 + c];
        dst[x * 3 + c] = static_cast<uint8_t>((sum + 2) / 4);
      }
    }
  }
  if (along_x) {
    box.x /= 2;
    box.width /= 2;
  }
  if (along_y) {
    box.y /= 2;
    box.height /= 2;
  }
  return out;
}

// Bilinear taps of one output coordinate: source pixels i0, i1 and the
// weight of i1 in 1/256.
struct Tap {
  int i0, i1;
  uint32_t w1;
};

std::vector<Tap> Taps(double start, double length, int size, int limit) {
  std::vector<Tap> taps(size);
  const double step = length / size;
  for (int o = 0; o < size; ++o) {
    double s = start + (o + 0.5) * step - 0.5;
    s = std::clamp(s, 0.0, static_cast<double>(limit - 1));
    const int i0 = static_cast<int>(s);
    const int i1 = std::min(i0 + 1, limit - 1);
    taps[o] = {i0, i1,
               static_cast<uint32_t>(std::lround((s - i0) * 256.0))};
  }
  return taps;
}

}  // namespace

ViewBox RandomResizedBox(int width, int height, bool flip, Rng& rng) {
  // Sides as fractions of the image's: area a and aspect ratio r give
  // width sqrt(a r) and height sqrt(a / r).
  const double area =
      kMinCropArea + rng.UniformDouble() * (1.0 - kMinCropArea);
  const double lo = std::log(3.0 / 4.0), hi = std::log(4.0 / 3.0);
  const double ratio = std::exp(lo + rng.UniformDouble() * (hi - lo));
  ViewBox box;
  box.width = std::clamp(std::round(std::sqrt(area * ratio) * width), 1.0,
                         static_cast<double>(width));
  box.height = std::clamp(std::round(std::sqrt(area / ratio) * height), 1.0,
                          static_cast<double>(height));
  box.x = std::floor(rng.UniformDouble() * (width - box.width + 1));
  box.y = std::floor(rng.UniformDouble() * (height - box.height + 1));
  box.flip = flip && rng.UniformDouble() < 0.5;
  return box;
}

ViewBox CenterBox(int width, int height) {
  const double side = kCenterCrop * std::min(width, height);
  ViewBox box;
  box.width = box.height = side;
  box.x = (width - side) / 2;
  box.y = (height - side) / 2;
  return box;
}

void ResampleBox(const DecodedImage& source, const ViewBox& source_box,
                 int size, uint8_t* out) {
  const DecodedImage* image = &source;
  DecodedImage halved;
  ViewBox box = source_box;
  // Halved straight from the source: the decoded photo is never copied.
  while (box.width > 2.0 * size || box.height > 2.0 * size) {
    halved = Halved(*image, box.width > 2.0 * size, box.height > 2.0 * size,
                    box);
    image = &halved;
  }
  const int w = image->width, h = image->height;
  std::vector<Tap> xs = Taps(box.x, box.width, size, w);
  const std::vector<Tap> ys = Taps(box.y, box.height, size, h);
  if (box.flip) std::reverse(xs.begin(), xs.end());
  // The horizontal pass for the source rows the output needs, in 1/256.
  const int first_row = ys.front().i0;
  const int rows = ys.back().i1 - first_row + 1;
  thread_local std::vector<uint16_t> horizontal;
  horizontal.resize(static_cast<size_t>(rows) * size * 3);
  for (int r = 0; r < rows; ++r) {
    const uint8_t* src =
        image->rgb.data() + static_cast<size_t>(first_row + r) * w * 3;
    uint16_t* dst = horizontal.data() + static_cast<size_t>(r) * size * 3;
    for (int x = 0; x < size; ++x) {
      const Tap& t = xs[x];
      const uint8_t* a = src + t.i0 * 3;
      const uint8_t* b = src + t.i1 * 3;
      for (int c = 0; c < 3; ++c) {
        dst[x * 3 + c] =
            static_cast<uint16_t>(a[c] * (256 - t.w1) + b[c] * t.w1);
      }
    }
  }
  const size_t plane = static_cast<size_t>(size) * size;
  for (int y = 0; y < size; ++y) {
    const Tap& t = ys[y];
    const uint16_t* a =
        horizontal.data() + static_cast<size_t>(t.i0 - first_row) * size * 3;
    const uint16_t* b =
        horizontal.data() + static_cast<size_t>(t.i1 - first_row) * size * 3;
    uint8_t* row = out + static_cast<size_t>(y) * size;
    for (int x = 0; x < size; ++x) {
      for (int c = 0; c < 3; ++c) {
        const uint32_t v =
            a[x * 3 + c] * (256 - t.w1) + b[x * 3 + c] * t.w1;
        row[c * plane + x] = static_cast<uint8_t>((v + 32768) >> 16);
      }
    }
  }
}

absl::Status ReadImageView(const std::string& path,
                           const ViewOptions& options, Rng* rng,
                           uint8_t* out) {
  const int size = options.size;
  ViewBox box;
  absl::StatusOr<DecodedImage> image = DecodeImageFile(
      path,
      [&](int width, int height) {
        box = rng != nullptr ? RandomResizedBox(width, height, true, *rng)
                             : CenterBox(width, height);
        // The largest reduction that leaves the box `size` pixels a side.
        int d = 8;
        while (d > 1 && (box.width / d < size || box.height / d < size)) {
          d /= 2;
        }
        return d;
      },
      options.max_image_pixels);
  if (!image.ok()) return image.status();
  if (image->width < 1 || image->height < 1 || image->full_width < 1 ||
      image->full_height < 1) {
    return absl::InvalidArgumentError(path + ": an empty image");
  }
  // The box in decoded pixels.
  const double sx = static_cast<double>(image->width) / image->full_width;
  const double sy = static_cast<double>(image->height) / image->full_height;
  box.x *= sx;
  box.width = std::min(box.width * sx, image->width - box.x);
  box.y *= sy;
  box.height = std::min(box.height * sy, image->height - box.y);
  box.width = std::max(box.width, 1e-3);
  box.height = std::max(box.height, 1e-3);
  ResampleBox(*image, box, size, out);
  return absl::OkStatus();
}

}  // namespace amoeba
