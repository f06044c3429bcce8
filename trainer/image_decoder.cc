#include "trainer/image_decoder.h"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "absl/strings/str_cat.h"

namespace amoeba {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  if (in.bad()) return absl::NotFoundError(absl::StrCat(path, ": read error"));
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

absl::StatusOr<DecodedImage> DecodeJpeg(const std::string& path,
                                        const std::string& bytes,
                                        int min_side) {
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
  // The smallest scale whose shorter side still reaches min_side.
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  int scaled_w = width, scaled_h = height;
  for (int i = 0; i < count; ++i) {
    // Only 1/2, 1/4, 1/8: TurboJPEG's other factors (3/4, 5/8, ...) use a
    // slower IDCT, and measured slower than decoding in full.
    if (factors[i].num != 1 || factors[i].denom == 1) continue;
    const int w = TJSCALED(width, factors[i]);
    const int h = TJSCALED(height, factors[i]);
    if (std::min(w, h) >= std::min(min_side, std::min(width, height)) &&
        static_cast<int64_t>(w) * h <
            static_cast<int64_t>(scaled_w) * scaled_h) {
      scaled_w = w;
      scaled_h = h;
    }
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

absl::StatusOr<DecodedImage> DecodePng(const std::string& path,
                                       const std::string& bytes) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a readable PNG: ", png.message));
  }
  png.format = PNG_FORMAT_RGB;
  DecodedImage image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.rgb.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image.rgb.data(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": damaged PNG: ", message));
  }
  return image;
}

}  // namespace

absl::StatusOr<DecodedImage> DecodeImageFile(const std::string& path,
                                             int min_side) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<DecodedImage> image =
      IsJpeg(*bytes) ? DecodeJpeg(path, *bytes, min_side)
      : IsPng(*bytes)
          ? DecodePng(path, *bytes)
          : absl::InvalidArgumentError(
                absl::StrCat(path, ": neither a JPEG nor a PNG file"));
  if (image.ok() && (image->width < 1 || image->height < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": an empty image"));
  }
  return image;
}

torch::Tensor ResizeAndCenterCrop(const DecodedImage& image, int size,
                                  double crop) {
  torch::NoGradGuard no_grad;
  const torch::Tensor hwc =
      torch::from_blob(const_cast<uint8_t*>(image.rgb.data()),
                       {image.height, image.width, 3}, torch::kUInt8);
  torch::Tensor x = hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);
  const double shorter = std::min(image.width, image.height);
  const double scale = size / crop / shorter;
  const int64_t h = std::max<int64_t>(size, std::lround(image.height * scale));
  const int64_t w = std::max<int64_t>(size, std::lround(image.width * scale));
  x = torch::nn::functional::interpolate(
      x, torch::nn::functional::InterpolateFuncOptions()
             .size(std::vector<int64_t>{h, w})
             .mode(torch::kBilinear)
             .align_corners(false)
             .antialias(true));
  const int64_t top = (h - size) / 2;
  const int64_t left = (w - size) / 2;
  x = x.slice(2, top, top + size).slice(3, left, left + size);
  return x.squeeze(0).round().clamp(0, 255).to(torch::kUInt8).contiguous();
}

}  // namespace amoeba
