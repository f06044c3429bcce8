#include "testing/test_images.h"

#include <png.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace amoeba {
namespace {

std::vector<unsigned char> Solid(int w, int h, const std::vector<int>& colour) {
  std::vector<unsigned char> pixels;
  for (int i = 0; i < w * h; ++i) {
    for (int c : colour) pixels.push_back(static_cast<unsigned char>(c));
  }
  return pixels;
}

std::string Compress(const unsigned char* pixels, int w, int h,
                     int pixel_format, int subsampling) {
  tjhandle handle = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle, pixels, w, 0, h, pixel_format, &out,
                             &size, subsampling, 95, 0);
  std::string bytes =
      rc == 0 ? std::string(reinterpret_cast<char*>(out), size) : "";
  tjFree(out);
  tjDestroy(handle);
  if (rc != 0) throw std::runtime_error("TurboJPEG could not compress");
  return bytes;
}

}  // namespace

std::string SolidJpeg(int w, int h, std::vector<int> colour, int pixel_format,
                      int subsampling) {
  const std::vector<unsigned char> pixels = Solid(w, h, colour);
  return Compress(pixels.data(), w, h, pixel_format, subsampling);
}

std::string RgbJpeg(int w, int h, const std::vector<uint8_t>& rgb) {
  return Compress(rgb.data(), w, h, TJPF_RGB, TJSAMP_444);
}

void WriteSolidPng(const std::string& path, int w, int h,
                   std::vector<int> rgb) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  png.width = w;
  png.height = h;
  png.format = PNG_FORMAT_RGB;
  const std::vector<unsigned char> pixels = Solid(w, h, rgb);
  if (png_image_write_to_file(&png, path.c_str(), 0, pixels.data(), 0,
                              nullptr) == 0) {
    throw std::runtime_error("libpng could not write " + path);
  }
}

std::string WithJpegSize(std::string jpeg, int width, int height) {
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (static_cast<unsigned char>(jpeg[i]) == 0xff &&
        static_cast<unsigned char>(jpeg[i + 1]) == 0xc0) {
      jpeg[i + 5] = static_cast<char>(height >> 8);
      jpeg[i + 6] = static_cast<char>(height & 0xff);
      jpeg[i + 7] = static_cast<char>(width >> 8);
      jpeg[i + 8] = static_cast<char>(width & 0xff);
      return jpeg;
    }
  }
  throw std::runtime_error("no SOF0 marker");
}

std::string WithPngSize(std::string png, uint32_t width, uint32_t height) {
  auto put = [&](size_t at, uint32_t v) {
    for (int b = 0; b < 4; ++b) {
      png[at + b] = static_cast<char>(v >> (24 - 8 * b));
    }
  };
  put(16, width);
  put(20, height);
  put(29, static_cast<uint32_t>(
              crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17)));
  return png;
}

}  // namespace amoeba
