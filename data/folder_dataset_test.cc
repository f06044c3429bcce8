// Image folders of real JPEG and PNG files, written here with TurboJPEG and
// libpng: odd sizes, grayscale, CMYK, a truncated file, a text file.
#include "data/folder_dataset.h"

#include <png.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "testing/test_files.h"
#include "data/augment.h"
#include "data/image_decoder.h"

namespace amoeba {
namespace {

// A w x h image of one colour (per channel), as `channels` bytes a pixel.
std::vector<unsigned char> Solid(int w, int h, std::vector<int> colour) {
  std::vector<unsigned char> pixels;
  for (int i = 0; i < w * h; ++i) {
    for (int c : colour) pixels.push_back(static_cast<unsigned char>(c));
  }
  return pixels;
}

std::string Jpeg(int w, int h, std::vector<int> colour, int pixel_format,
                 int subsampling) {
  tjhandle handle = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const std::vector<unsigned char> pixels = Solid(w, h, colour);
  REQUIRE(tjCompress2(handle, pixels.data(), w, 0, h, pixel_format, &out,
                      &size, subsampling, 95, 0) == 0);
  std::string bytes(reinterpret_cast<char*>(out), size);
  tjFree(out);
  tjDestroy(handle);
  return bytes;
}

void Write(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

void WritePng(const std::string& path, int w, int h, std::vector<int> rgb) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  png.width = w;
  png.height = h;
  png.format = PNG_FORMAT_RGB;
  const std::vector<unsigned char> pixels = Solid(w, h, rgb);
  REQUIRE(png_image_write_to_file(&png, path.c_str(), 0, pixels.data(), 0,
                                  nullptr) != 0);
}

TEST_CASE("JPEGs decode at reduced scale, in every colour space") {
  const std::string dir = FreshTestDir("image_decoder");
  Write(dir + "/rgb.jpg", Jpeg(333, 501, {200, 30, 40}, TJPF_RGB, TJSAMP_420));
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

  Write(dir + "/gray.jpg", Jpeg(41, 29, {90}, TJPF_GRAY, TJSAMP_GRAY));
  auto gray = DecodeImageFile(dir + "/gray.jpg", 8);
  REQUIRE(gray.ok());
  CHECK(gray->rgb.size() == static_cast<size_t>(gray->width) * gray->height * 3);
  CHECK(std::abs(gray->rgb[0] - 90) <= 2);
  CHECK(gray->rgb[0] == gray->rgb[2]);

  // CMYK (Adobe, inverted as libjpeg stores it): C=255 K=128 -> R = 128.
  Write(dir + "/cmyk.jpg",
        Jpeg(20, 20, {255, 0, 255, 128}, TJPF_CMYK, TJSAMP_444));
  auto cmyk = DecodeImageFile(dir + "/cmyk.jpg", 8);
  REQUIRE(cmyk.ok());
  CHECK(std::abs(cmyk->rgb[0] - 128) <= 3);
  CHECK(cmyk->rgb[1] <= 3);

  WritePng(dir + "/a.png", 17, 9, {1, 2, 250});
  auto png = DecodeImageFile(dir + "/a.png", 8);
  REQUIRE(png.ok());
  CHECK(png->width == 17);
  CHECK(png->rgb[2] == 250);

  // Damaged files: errors that name the file and say what is wrong.
  const std::string whole = Jpeg(300, 200, {1, 2, 3}, TJPF_RGB, TJSAMP_420);
  Write(dir + "/cut.jpg", whole.substr(0, whole.size() / 2));
  auto cut = DecodeImageFile(dir + "/cut.jpg", 64);
  REQUIRE_FALSE(cut.ok());
  CHECK_THAT(std::string(cut.status().message()),
             Catch::Contains("cut.jpg: damaged JPEG"));
  Write(dir + "/notes.jpg", "not an image");
  auto text = DecodeImageFile(dir + "/notes.jpg", 64);
  CHECK_THAT(std::string(text.status().message()),
             Catch::Contains("notes.jpg: neither a JPEG nor a PNG"));
  std::ifstream in(dir + "/a.png", std::ios::binary);
  std::string png_bytes((std::istreambuf_iterator<char>(in)), {});
  Write(dir + "/cut.png", png_bytes.substr(0, png_bytes.size() - 20));
  CHECK_THAT(std::string(DecodeImageFile(dir + "/cut.png", 8).status().message()),
             Catch::Contains("cut.png: damaged PNG"));
  CHECK(absl::IsNotFound(DecodeImageFile(dir + "/none.jpg", 8).status()));
}

// `jpeg` with the frame header (SOF0) claiming width x height.
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
  FAIL("no SOF0 marker");
  return jpeg;
}

// `png` with its IHDR claiming width x height (and a valid CRC).
std::string WithPngSize(std::string png, uint32_t width, uint32_t height) {
  auto put = [&](size_t at, uint32_t v) {
    for (int b = 0; b < 4; ++b) png[at + b] = static_cast<char>(v >> (24 - 8 * b));
  };
  put(16, width);
  put(20, height);
  put(29, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17)));
  return png;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST_CASE("Images larger than the pixel limit are refused before allocation") {
  const std::string dir = FreshTestDir("image_decoder_bombs");
  Write(dir + "/small.jpg", Jpeg(200, 100, {9, 9, 9}, TJPF_RGB, TJSAMP_444));
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
  Write(dir + "/bomb.jpg",
        WithJpegSize(Jpeg(16, 16, {1, 2, 3}, TJPF_RGB, TJSAMP_444), 65000, 65000));
  auto jpeg = DecodeImageFile(dir + "/bomb.jpg", 65000);
  REQUIRE(absl::IsInvalidArgument(jpeg.status()));
  CHECK_THAT(std::string(jpeg.status().message()),
             Catch::Contains("65000 x 65000"));
  WritePng(dir + "/small.png", 4, 4, {1, 2, 3});
  Write(dir + "/bomb.png",
        WithPngSize(ReadAll(dir + "/small.png"), 1000000, 1000000));
  auto png = DecodeImageFile(dir + "/bomb.png", 64);
  REQUIRE(absl::IsInvalidArgument(png.status()));
  CHECK_THAT(std::string(png.status().message()),
             Catch::Contains("1000000 x 1000000"));
}

TEST_CASE("An image folder skips and counts decompression bombs") {
  const std::string dir = FreshTestDir("image_folder_bombs");
  for (const std::string c : {"a", "b"}) {
    for (int i = 0; i < 3; ++i) {
      Write(dir + "/train/" + c + "/" + std::to_string(i) + ".jpg",
            Jpeg(40, 40, {i * 50, 20, 20}, TJPF_RGB, TJSAMP_444));
    }
  }
  WritePng(dir + "/small.png", 4, 4, {1, 2, 3});
  Write(dir + "/train/a/bomb.png",
        WithPngSize(ReadAll(dir + "/small.png"), 1000000, 1000000));
  Write(dir + "/train/b/bomb.jpg",
        WithJpegSize(Jpeg(16, 16, {1, 2, 3}, TJPF_RGB, TJSAMP_444), 65000, 65000));
  FolderOptions options;
  options.image_size = 16;
  options.threads = 2;
  auto loaded = LoadImageFolder(dir, /*train=*/true, options);
  REQUIRE(loaded.ok());
  CHECK(loaded->images.size() == 6);
  CHECK(loaded->skipped == 2);
  // A bound below every image: all skipped, an error that says why.
  options.max_image_pixels = 100;
  auto none = LoadImageFolder(dir, /*train=*/true, options);
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(std::string(none.status().message()),
             Catch::Contains("none of its 8 files decodes") &&
                 Catch::Contains("limit of 100 pixels"));
}

TEST_CASE("A center crop keeps the middle of the shorter side") {
  // Left half black, right half white, 200 x 100: the central 87.5 % of a
  // 64-pixel view keeps both halves, black on the left.
  DecodedImage image;
  image.width = 200;
  image.height = 100;
  for (int y = 0; y < 100; ++y) {
    for (int x = 0; x < 200; ++x) {
      for (int c = 0; c < 3; ++c) image.rgb.push_back(x < 100 ? 0 : 255);
    }
  }
  const torch::Tensor view = ResizeAndCenterCrop(image, 64, 0.875);
  CHECK(view.sizes() == torch::IntArrayRef({3, 64, 64}));
  CHECK(view[0][32][0].item<int>() == 0);
  CHECK(view[0][32][63].item<int>() == 255);
}

TEST_CASE("An image folder loads its classes and skips damaged files") {
  const std::string dir = FreshTestDir("image_folder");
  const std::vector<std::vector<int>> colours = {{250, 10, 10}, {10, 10, 250}};
  const std::vector<std::string> classes = {"cat", "dog"};
  for (int c = 0; c < 2; ++c) {
    for (int i = 0; i < 5; ++i) {
      Write(dir + "/train/" + classes[c] + "/" + std::to_string(i) + ".jpg",
            Jpeg(70 + 13 * i, 50 + 7 * i, colours[c], TJPF_RGB, TJSAMP_420));
    }
    Write(dir + "/val/" + classes[c] + "/v.jpg",
          Jpeg(90, 90, colours[c], TJPF_RGB, TJSAMP_444));
  }
  WritePng(dir + "/train/dog/extra.png", 33, 47, colours[1]);
  Write(dir + "/train/cat/gray.jpg", Jpeg(64, 64, {128}, TJPF_GRAY, TJSAMP_GRAY));
  const std::string cut = Jpeg(200, 200, {1, 2, 3}, TJPF_RGB, TJSAMP_420);
  Write(dir + "/train/cat/truncated.jpg", cut.substr(0, cut.size() / 3));
  Write(dir + "/train/dog/readme.txt", "photos of dogs");
  Write(dir + "/train/.hidden/x.jpg", "ignored");

  FolderOptions options;
  options.image_size = 32;
  options.threads = 3;
  auto train = LoadImageFolder(dir, /*train=*/true, options);
  REQUIRE(train.ok());
  CHECK(train->classes == classes);
  CHECK(train->images.size() == 12);  // 5 + gray + 5 + png
  CHECK(train->images.images.sizes() == torch::IntArrayRef({12, 3, 32, 32}));
  CHECK(train->skipped == 2);
  CHECK_THAT(train->skipped_files[0], Catch::Contains("truncated.jpg"));
  // Labels follow the class directories; the colour says which.
  for (int64_t i = 0; i < train->images.size(); ++i) {
    const int label = train->images.labels[i].item<int>();
    const int red = train->images.images[i][0][16][16].item<int>();
    const int blue = train->images.images[i][2][16][16].item<int>();
    if (red == blue) continue;  // the gray one
    CHECK((label == 0) == (red > blue));
  }
  auto val = LoadImageFolder(dir, /*train=*/false, options);
  REQUIRE(val.ok());
  CHECK(val->images.size() == 2);

  options.max_images = 4;
  auto capped = LoadImageFolder(dir, true, options);
  REQUIRE(capped.ok());
  CHECK(capped->images.size() + capped->skipped == 4);
  CHECK(capped->images.labels.sum().item<int>() >= 1);  // both classes kept

  // Through the dataset API, as the trainer loads it.
  DataOptions data;
  data.kind = DatasetKind::kFolder;
  data.dir = dir;
  data.image_size = 32;
  data.validation_images = 2;
  data.load_test = true;
  auto split = LoadDataSplit(data);
  REQUIRE(split.ok());
  CHECK(split->train.size() == 10);
  CHECK(split->validation.size() == 2);
  CHECK(split->test.size() == 2);

  // What cannot be loaded says why.
  CHECK(absl::IsNotFound(LoadImageFolder(dir + "/nope", true, options).status()));
  Write(dir + "/val/bird/b.jpg", Jpeg(20, 20, {1, 1, 1}, TJPF_RGB, TJSAMP_444));
  CHECK_THAT(std::string(LoadImageFolder(dir, false, options).status().message()),
             Catch::Contains("bird: a class that"));
  const std::string broken = FreshTestDir("image_folder_broken");
  Write(broken + "/train/a/x.jpg", "no");
  Write(broken + "/train/b/y.jpg", "no");
  CHECK_THAT(std::string(LoadImageFolder(broken, true, options).status().message()),
             Catch::Contains("none of its 2 files decodes"));
}

TEST_CASE("Links that loop in an image folder are skipped, not thrown on") {
  const std::string dir = FreshTestDir("image_folder_links");
  for (const std::string c : {"a", "b"}) {
    Write(dir + "/train/" + c + "/0.jpg",
          Jpeg(40, 40, {200, 20, 20}, TJPF_RGB, TJSAMP_444));
  }
  // Asking whether such a link is a folder or a file fails (ELOOP).
  std::filesystem::create_symlink(dir + "/train/loop", dir + "/train/loop");
  std::filesystem::create_symlink(dir + "/train/a/x.jpg",
                                  dir + "/train/a/x.jpg");
  FolderOptions options;
  options.image_size = 16;
  options.threads = 1;
  auto loaded = LoadImageFolder(dir, /*train=*/true, options);
  REQUIRE(loaded.ok());
  CHECK(loaded->classes == std::vector<std::string>{"a", "b"});
  CHECK(loaded->images.size() == 2);
}

TEST_CASE("Random-resized crops stay in the image and differ per sample") {
  // A gradient image: every crop's mean lies within the image's range, and
  // the crops of one batch differ.
  torch::Tensor ramp = torch::linspace(0, 1, 32).view({1, 1, 1, 32});
  torch::Tensor batch = ramp.expand({8, 3, 32, 32}).contiguous();
  AugmentOptions options;
  options.random_resized_crop = true;
  torch::Generator generator = at::detail::createCPUGenerator(3);
  const torch::Tensor out = Augment(batch, options, generator);
  CHECK(out.sizes() == batch.sizes());
  CHECK(out.min().item<float>() >= 0.0f);
  CHECK(out.max().item<float>() <= 1.0f);
  const torch::Tensor means = out.mean({1, 2, 3});
  CHECK((means.max() - means.min()).item<float>() > 0.01f);
  // The same seed, the same crops.
  torch::Generator again = at::detail::createCPUGenerator(3);
  CHECK(torch::equal(Augment(batch, options, again), out));
  CHECK(DefaultAugmentation(DatasetKind::kFolder).random_resized_crop);
}

TEST_CASE("Random-resized crops cover at least a tenth of the image") {
  // Channel 0 holds the column, channel 1 the row: a crop resized back
  // (upsampled, align_corners false) spans exactly its box's columns and
  // rows, so its value ranges give the box.
  const torch::Tensor cols =
      torch::arange(100, torch::kFloat32).view({1, 1, 1, 100}).expand({1, 1, 100, 100});
  const torch::Tensor rows =
      torch::arange(100, torch::kFloat32).view({1, 1, 100, 1}).expand({1, 1, 100, 100});
  const torch::Tensor image = torch::cat({cols, rows, rows}, 1);
  const torch::Tensor batch = image.expand({2000, 3, 100, 100}).contiguous();
  AugmentOptions options;
  options.random_resized_crop = true;
  torch::Generator generator = at::detail::createCPUGenerator(11);
  const torch::Tensor out = Augment(batch, options, generator);
  const torch::Tensor width =
      out.select(1, 0).amax({1, 2}) - out.select(1, 0).amin({1, 2}) + 1;
  const torch::Tensor height =
      out.select(1, 1).amax({1, 2}) - out.select(1, 1).amin({1, 2}) + 1;
  const torch::Tensor area = width * height / 10000.0;
  // The released code's area_range (0.1, 1.0); box sides are rounded to
  // whole pixels (at most 0.5 each), hence the small slack.
  CHECK(area.min().item<float>() >= 0.095f);
  CHECK(area.min().item<float>() < 0.13f);
  CHECK(area.max().item<float>() > 0.95f);
}

}  // namespace
}  // namespace amoeba
