// Decoding real JPEG and PNG files, and the two views made from them.
#include "data/image_views.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "data/image_decoder.h"
#include "testing/test_files.h"
#include "testing/test_images.h"

namespace amoeba {
namespace {

TEST_CASE("JPEGs decode at reduced scale, in every colour space") {
  const std::string dir = FreshTestDir("image_decoder");
  WriteTestFile(dir + "/rgb.jpg", SolidJpeg(333, 501, {200, 30, 40}, TJPF_RGB, TJSAMP_420));
  auto rgb = DecodeImageFile(dir + "/rgb.jpg", 64);
  REQUIRE(rgb.ok());
  // 1/4 scale keeps the shorter side (333 -> 84) at least 64; 1/8 would not.
  CHECK(rgb->width == 84);
  CHECK(rgb->height == 126);
  CHECK(std::abs(rgb->rgb[0] - 200) <= 3);
  CHECK(std::abs(rgb->rgb[1] - 30) <= 3);
  // Small targets never upscale the decode; a large one decodes in full.
  auto full = DecodeImageFile(dir + "/rgb.jpg", 1000);
  REQUIRE(full.ok());
  CHECK(full->width == 333);

  WriteTestFile(dir + "/gray.jpg", SolidJpeg(41, 29, {90}, TJPF_GRAY, TJSAMP_GRAY));
  auto gray = DecodeImageFile(dir + "/gray.jpg", 8);
  REQUIRE(gray.ok());
  CHECK(gray->rgb.size() == static_cast<size_t>(gray->width) * gray->height * 3);
  CHECK(std::abs(gray->rgb[0] - 90) <= 2);
  CHECK(gray->rgb[0] == gray->rgb[2]);

  // CMYK (Adobe, inverted as libjpeg stores it): C=255 K=128 -> R = 128.
  WriteTestFile(dir + "/cmyk.jpg",
        SolidJpeg(20, 20, {255, 0, 255, 128}, TJPF_CMYK, TJSAMP_444));
  auto cmyk = DecodeImageFile(dir + "/cmyk.jpg", 8);
  REQUIRE(cmyk.ok());
  CHECK(std::abs(cmyk->rgb[0] - 128) <= 3);
  CHECK(cmyk->rgb[1] <= 3);

  WriteSolidPng(dir + "/a.png", 17, 9, {1, 2, 250});
  auto png = DecodeImageFile(dir + "/a.png", 8);
  REQUIRE(png.ok());
  CHECK(png->width == 17);
  CHECK(png->rgb[2] == 250);

  // Damaged files: errors that name the file and say what is wrong.
  const std::string whole = SolidJpeg(300, 200, {1, 2, 3}, TJPF_RGB, TJSAMP_420);
  WriteTestFile(dir + "/cut.jpg", whole.substr(0, whole.size() / 2));
  auto cut = DecodeImageFile(dir + "/cut.jpg", 64);
  REQUIRE_FALSE(cut.ok());
  CHECK_THAT(std::string(cut.status().message()),
             Catch::Contains("cut.jpg: damaged JPEG"));
  WriteTestFile(dir + "/notes.jpg", "not an image");
  auto text = DecodeImageFile(dir + "/notes.jpg", 64);
  CHECK_THAT(std::string(text.status().message()),
             Catch::Contains("notes.jpg: neither a JPEG nor a PNG"));
  std::ifstream in(dir + "/a.png", std::ios::binary);
  std::string png_bytes((std::istreambuf_iterator<char>(in)), {});
  WriteTestFile(dir + "/cut.png", png_bytes.substr(0, png_bytes.size() - 20));
  CHECK_THAT(std::string(DecodeImageFile(dir + "/cut.png", 8).status().message()),
             Catch::Contains("cut.png: damaged PNG"));
  CHECK(absl::IsNotFound(DecodeImageFile(dir + "/none.jpg", 8).status()));
}

TEST_CASE("Images larger than the pixel limit are refused before allocation") {
  const std::string dir = FreshTestDir("image_decoder_bombs");
  WriteTestFile(dir + "/small.jpg", SolidJpeg(200, 100, {9, 9, 9}, TJPF_RGB, TJSAMP_444));
  CHECK(DecodeImageFile(dir + "/small.jpg", 200, 20000).ok());
  auto over = DecodeImageFile(dir + "/small.jpg", 200, 19999);
  REQUIRE(absl::IsInvalidArgument(over.status()));
  CHECK_THAT(std::string(over.status().message()),
             Catch::Contains("small.jpg: image of 200 x 100 pixels") &&
                 Catch::Contains("limit of 19999"));
  // A reduced-scale decode is what counts: 1/2 of it fits.
  CHECK(DecodeImageFile(dir + "/small.jpg", 50, 5000).ok());

  // Headers that claim 65,000 x 65,000 (12 GB of RGB in full) and
  // 1,000,000 x 1,000,000 pixels: refused at once, with the default limit.
  // (A network of 64 pixels decodes that JPEG at 1/8: 8,125 x 8,125 fits
  // the limit, and the missing data is then an error.)
  WriteTestFile(dir + "/bomb.jpg",
        WithJpegSize(SolidJpeg(16, 16, {1, 2, 3}, TJPF_RGB, TJSAMP_444), 65000, 65000));
  auto jpeg = DecodeImageFile(dir + "/bomb.jpg", 65000);
  REQUIRE(absl::IsInvalidArgument(jpeg.status()));
  CHECK_THAT(std::string(jpeg.status().message()),
             Catch::Contains("65000 x 65000"));
  WriteSolidPng(dir + "/small.png", 4, 4, {1, 2, 3});
  WriteTestFile(dir + "/bomb.png",
        WithPngSize(ReadWholeFile(dir + "/small.png"), 1000000, 1000000));
  auto png = DecodeImageFile(dir + "/bomb.png", 64);
  REQUIRE(absl::IsInvalidArgument(png.status()));
  CHECK_THAT(std::string(png.status().message()),
             Catch::Contains("1000000 x 1000000"));
}

// A w x h image whose red channel is its column and green its row (both
// scaled to 0..255), blue 0.
DecodedImage Gradient(int w, int h) {
  DecodedImage image;
  image.width = image.full_width = w;
  image.height = image.full_height = h;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      image.rgb.push_back(static_cast<uint8_t>(x * 255 / (w - 1)));
      image.rgb.push_back(static_cast<uint8_t>(y * 255 / (h - 1)));
      image.rgb.push_back(0);
    }
  }
  return image;
}

TEST_CASE("The evaluation view keeps the middle of the shorter side") {
  // Left half black, right half white, 200 x 100: the central 87.5 % of a
  // 64-pixel view keeps both halves, black on the left.
  DecodedImage image;
  image.width = image.full_width = 200;
  image.height = image.full_height = 100;
  for (int y = 0; y < 100; ++y) {
    for (int x = 0; x < 200; ++x) {
      for (int c = 0; c < 3; ++c) image.rgb.push_back(x < 100 ? 0 : 255);
    }
  }
  const ViewBox box = CenterBox(200, 100);
  CHECK(box.width == 87.5);
  CHECK(box.x == 56.25);
  std::vector<uint8_t> view(3 * 64 * 64);
  ResampleBox(image, box, 64, view.data());
  CHECK(view[32 * 64 + 0] == 0);
  CHECK(view[32 * 64 + 63] == 255);
  CHECK(view[2 * 64 * 64 + 32 * 64 + 63] == 255);  // blue plane
}

TEST_CASE("Resampling maps the box's corners and flips columns") {
  const DecodedImage image = Gradient(256, 256);
  ViewBox box{64, 32, 128, 128, false};
  std::vector<uint8_t> view(3 * 32 * 32);
  ResampleBox(image, box, 32, view.data());
  auto red = [&](int y, int x) { return static_cast<int>(view[y * 32 + x]); };
  auto green = [&](int y, int x) {
    return static_cast<int>(view[32 * 32 + y * 32 + x]);
  };
  // Output pixel 0 samples source x = 64 + 0.5 * 4 - 0.5 = 65.5.
  CHECK(std::abs(red(0, 0) - 65) <= 1);
  CHECK(std::abs(red(0, 31) - 189) <= 1);
  CHECK(std::abs(green(0, 5) - 33) <= 1);
  CHECK(std::abs(green(31, 5) - 157) <= 1);
  box.flip = true;
  std::vector<uint8_t> flipped(3 * 32 * 32);
  ResampleBox(image, box, 32, flipped.data());
  for (int x = 0; x < 32; ++x) CHECK(flipped[x] == view[31 - x]);
}

TEST_CASE("Shrinking more than twofold averages instead of aliasing") {
  // One-pixel stripes: sampling them picks stripes; averaging gives gray.
  DecodedImage image;
  image.width = image.full_width = 512;
  image.height = image.full_height = 512;
  for (int y = 0; y < 512; ++y) {
    for (int x = 0; x < 512; ++x) {
      for (int c = 0; c < 3; ++c) image.rgb.push_back(x % 2 == 0 ? 0 : 255);
    }
  }
  std::vector<uint8_t> view(3 * 16 * 16);
  ResampleBox(image, ViewBox{0, 0, 512, 512, false}, 16, view.data());
  for (uint8_t v : view) {
    CHECK(v >= 120);
    CHECK(v <= 135);
  }
}

TEST_CASE("Random boxes cover 10-100 % of the photo and repeat with the seed") {
  Rng rng(11);
  double least = 1, most = 0;
  int flips = 0;
  for (int i = 0; i < 2000; ++i) {
    const ViewBox b = RandomResizedBox(500, 375, true, rng);
    REQUIRE(b.x >= 0);
    REQUIRE(b.y >= 0);
    REQUIRE(b.x + b.width <= 500);
    REQUIRE(b.y + b.height <= 375);
    const double area = b.width * b.height / (500.0 * 375.0);
    least = std::min(least, area);
    most = std::max(most, area);
    flips += b.flip;
  }
  // The released code's area_range (0.1, 1.0); sides are whole pixels.
  CHECK(least >= 0.095);
  CHECK(least < 0.13);
  CHECK(most > 0.95);
  CHECK(flips > 900);
  CHECK(flips < 1100);
  Rng a(5), b(5);
  for (int i = 0; i < 10; ++i) {
    const ViewBox x = RandomResizedBox(64, 48, true, a);
    const ViewBox y = RandomResizedBox(64, 48, true, b);
    CHECK(x.x == y.x);
    CHECK(x.width == y.width);
    CHECK(x.flip == y.flip);
  }
}

TEST_CASE("A file's training view is its random box, decoded at reduced "
          "scale when the box allows") {
  const std::string dir = FreshTestDir("image_views");
  const DecodedImage gradient = Gradient(800, 800);
  WriteTestFile(dir + "/g.jpg", RgbJpeg(800, 800, gradient.rgb));
  ViewOptions options;
  options.size = 32;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    Rng rng(seed), copy(seed);
    std::vector<uint8_t> view(3 * 32 * 32);
    REQUIRE(ReadImageView(dir + "/g.jpg", options, &rng, view.data()).ok());
    const ViewBox box = RandomResizedBox(800, 800, true, copy);
    // The view's first and last columns lie at the box's edges (a box of
    // at least 250 pixels decodes at 1/8, hence the tolerance).
    const double left = (box.x + box.width / 64) * 255 / 799;
    const double right = (box.x + box.width - box.width / 64) * 255 / 799;
    const int first = view[16 * 32 + 0], last = view[16 * 32 + 31];
    CHECK(std::abs((box.flip ? last : first) - left) <= 6);
    CHECK(std::abs((box.flip ? first : last) - right) <= 6);
  }
  // The evaluation view: the central 700 of 800.
  std::vector<uint8_t> view(3 * 32 * 32);
  REQUIRE(ReadImageView(dir + "/g.jpg", options, nullptr, view.data()).ok());
  CHECK(std::abs(view[16 * 32] - (50 + 700.0 / 64) * 255 / 799) <= 6);
  // Errors name the file.
  WriteTestFile(dir + "/bad.jpg", "no");
  const absl::Status bad =
      ReadImageView(dir + "/bad.jpg", options, nullptr, view.data());
  CHECK_THAT(std::string(bad.message()), Catch::Contains("bad.jpg"));
}

}  // namespace
}  // namespace amoeba
