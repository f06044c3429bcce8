#include "data/image_decoder.h"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/atomic_file.h"

namespace amoeba {
namespace {

// The file's bytes, refused beyond `max_bytes` before they are read.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     int64_t max_bytes) {
  absl::StatusOr<std::string> bytes = ReadFileUpTo(path, max_bytes);
  if (absl::IsResourceExhausted(bytes.status())) {
    return absl::InvalidArgumentError(absl::StrCat(
        bytes.status().message(),
        ": larger than any image within the pixel limit (--max_image_pixels)"));
  }
  return bytes;
}

bool IsJpeg(const std::string& b) {
  return b.size() >= 3 && static_cast<uint8_t>(b[0]) == 0xff &&
         static_cast<uint8_t>(b[1]) == 0xd8 && static_cast<uint8_t>(b[2]) == 0xff;
}

bool IsPng(const std::string& b) {
  return b.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(b.data()),
                                      0, 8) == 0;
}

absl::Status TooLarge(const std::string& path, int64_t width, int64_t height,
                      int64_t max_pixels) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: image of %d x %d pixels decodes larger than the limit of %d "
      "pixels (--max_image_pixels)",
      path, width, height, max_pixels));
}

absl::StatusOr<DecodedImage> DecodeJpeg(const std::string& path,
                                        const std::string& bytes,
                                        const ReductionChooser& reduction,
                                        int64_t max_pixels) {
  std::unique_ptr<void, int (*)(tjhandle)> handle(tjInitDecompress(),
                                                  &tjDestroy);
  if (handle == nullptr) {
    return absl::InternalError("TurboJPEG: cannot create a decompressor");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), data, bytes.size(), &width, &height,
                          &subsampling, &colorspace) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a readable JPEG: ", tjGetErrorStr2(handle.get())));
  }
  // Only 1/2, 1/4, 1/8: TurboJPEG's other factors (3/4, 5/8, ...) use a
  // slower IDCT, and measured slower than decoding in full.
  const int denominator = reduction ? reduction(width, height) : 1;
  if (denominator != 1 && denominator != 2 && denominator != 4 &&
      denominator != 8) {
    return absl::InternalError(absl::StrCat(
        path, ": asked to decode at 1/", denominator, " (1, 2, 4 or 8)"));
  }
  const tjscalingfactor factor{1, denominator};
  const int scaled_w = TJSCALED(width, factor);
  const int scaled_h = TJSCALED(height, factor);
  if (static_cast<int64_t>(scaled_w) * scaled_h > max_pixels) {
    return TooLarge(path, width, height, max_pixels);
  }
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const int pixel_size = cmyk ? 4 : 3;
  std::vector<uint8_t> pixels(static_cast<size_t>(scaled_w) * scaled_h *
                              pixel_size);
  // STOPONWARNING: a truncated file is an error, not an image with a gray
  // bottom that would train silently.
  if (tjDecompress2(handle.get(), data, bytes.size(), pixels.data(), scaled_w,
                    0, scaled_h, cmyk ? TJPF_CMYK : TJPF_RGB,
                    TJFLAG_STOPONWARNING | TJFLAG_FASTDCT) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": damaged JPEG: ", tjGetErrorStr2(handle.get())));
  }
  DecodedImage image;
  image.width = scaled_w;
  image.height = scaled_h;
  image.full_width = width;
  image.full_height = height;
  if (!cmyk) {
    image.rgb = std::move(pixels);
    return image;
  }
  image.rgb.resize(static_cast<size_t>(scaled_w) * scaled_h * 3);
  for (size_t p = 0; p < static_cast<size_t>(scaled_w) * scaled_h; ++p) {
    const int k = pixels[4 * p + 3];
    for (int c = 0; c < 3; ++c) {
      image.rgb[3 * p + c] = static_cast<uint8_t>(pixels[4 * p + c] * k / 255);
    }
  }
  return image;
}

// Frees libpng's read state on every path out, an exception included.
class PngImage {
 public:
  PngImage() {
    std::memset(&png_, 0, sizeof(png_));
    png_.version = PNG_IMAGE_VERSION;
  }
  ~PngImage() { png_image_free(&png_); }
  PngImage(const PngImage&) = delete;
  PngImage& operator=(const PngImage&) = delete;
  png_image* get() { return &png_; }

 private:
  png_image png_;
};

absl::StatusOr<DecodedImage> DecodePng(const std::string& path,
                                       const std::string& bytes,
                                       const ReductionChooser& reduction,
                                       int64_t max_pixels) {
  PngImage holder;
  png_image& png = *holder.get();
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a readable PNG: ", png.message));
  }
  if (static_cast<int64_t>(png.width) * png.height > max_pixels) {
    return TooLarge(path, png.width, png.height, max_pixels);
  }
  png.format = PNG_FORMAT_RGB;
  DecodedImage image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.full_width = image.width;
  image.full_height = image.height;
  // PNG has no reduced decode; the chooser still sees the size (it may
  // draw a crop from it).
  if (reduction) reduction(image.width, image.height);
  image.rgb.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image.rgb.data(), 0, nullptr)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": damaged PNG: ", png.message));
  }
  return image;
}

absl::StatusOr<DecodedImage> Decode(const std::string& path,
                                    const ReductionChooser& reduction,
                                    int64_t max_pixels) {
  // A JPEG or PNG within the pixel limit takes at most about 4 bytes a
  // pixel (PNG's filter bytes and chunks on raw RGBA), plus its metadata.
  const int64_t max_bytes =
      std::min<int64_t>(max_pixels, int64_t{1} << 40) * 4 + (int64_t{16} << 20);
  absl::StatusOr<std::string> bytes = ReadFile(path, max_bytes);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<DecodedImage> image =
      IsJpeg(*bytes) ? DecodeJpeg(path, *bytes, reduction, max_pixels)
      : IsPng(*bytes)
          ? DecodePng(path, *bytes, reduction, max_pixels)
          : absl::InvalidArgumentError(
                absl::StrCat(path, ": neither a JPEG nor a PNG file"));
  if (image.ok() && (image->width < 1 || image->height < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": an empty image"));
  }
  return image;
}

}  // namespace

absl::StatusOr<DecodedImage> DecodeImageFile(
    const std::string& path, const ReductionChooser& reduction,
    int64_t max_pixels) {
  // A file's bytes and its pixels are allocated here: a bound above the
  // memory at hand still fails, as an error naming the file.
  try {
    return Decode(path, reduction, max_pixels);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, ": out of memory decoding it"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(path, ": ", e.what()));
  }
}

absl::StatusOr<DecodedImage> DecodeImageFile(const std::string& path,
                                             int min_side,
                                             int64_t max_pixels) {
  return DecodeImageFile(
      path,
      [min_side](int width, int height) {
        const int shorter = std::min(width, height);
        int d = 8;
        while (d > 1 && (shorter + d - 1) / d < std::min(min_side, shorter)) {
          d /= 2;
        }
        return d;
      },
      max_pixels);
}

}  // namespace amoeba
