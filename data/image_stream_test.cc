// Passes over a real folder of JPEGs: determinism whatever the threads,
// damaged and vanished files, a pass abandoned half-way.
#include "data/image_stream.h"

#include <turbojpeg.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "testing/test_files.h"
#include "testing/test_images.h"

namespace amoeba {
namespace {

// DIR/train/{red,blue}/NN.jpg: `per_class` JPEGs of 40..80 x 30..60 pixels
// with a different texture each.
std::shared_ptr<const ImageFileIndex> Folder(const std::string& dir,
                                             int per_class) {
  const std::vector<std::string> classes = {"blue", "red"};
  for (int c = 0; c < 2; ++c) {
    for (int i = 0; i < per_class; ++i) {
      const int w = 40 + (i * 7) % 41, h = 30 + (i * 5) % 31;
      std::vector<uint8_t> rgb;
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
          const uint8_t texture = static_cast<uint8_t>((x * (i + 1) + y) % 60);
          rgb.push_back(c == 1 ? 190 + texture : texture);
          rgb.push_back(texture);
          rgb.push_back(c == 0 ? 190 + texture : texture);
        }
      }
      WriteTestFile(dir + "/train/" + classes[c] + "/" +
                        std::to_string(10 + i) + ".jpg",
                    RgbJpeg(w, h, rgb));
    }
  }
  auto index = ImageFileIndex::Open(dir, /*train=*/true);
  REQUIRE(index.ok());
  return std::make_shared<const ImageFileIndex>(*std::move(index));
}

struct Pass {
  std::vector<std::vector<uint8_t>> pixels;
  std::vector<std::vector<int32_t>> labels;
  std::vector<std::string> skipped;
};

Pass ReadAll(std::shared_ptr<const ImageFileIndex> index,
             std::vector<int64_t> entries, const StreamOptions& options) {
  ImageStream stream(std::move(index), std::move(entries), options);
  Pass pass;
  std::vector<uint8_t> buffer(options.batch_size * stream.view_bytes());
  StreamBatch batch;
  for (int64_t b = 0; b < stream.batches(); ++b) {
    REQUIRE(stream.Next(buffer.data(), &batch));
    pass.pixels.emplace_back(buffer.begin(),
                             buffer.begin() + batch.count * stream.view_bytes());
    pass.labels.push_back(batch.labels);
    for (auto& s : batch.skipped) pass.skipped.push_back(s);
  }
  CHECK_FALSE(stream.Next(buffer.data(), &batch));
  return pass;
}

std::vector<int64_t> Shuffled(int64_t n) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = (i * 7 + 3) % n;  // n odd
  return order;
}

TEST_CASE("A pass gives the same batches whatever the threads") {
  auto index = Folder(FreshTestDir("stream_determinism"), 12);
  REQUIRE(index->size() == 24);
  std::vector<int64_t> order = Shuffled(23);  // 23 of the 24 files
  StreamOptions options;
  options.view.size = 16;
  options.batch_size = 5;  // a last batch of 3
  options.seed = 77;
  options.threads = 1;
  options.depth = 1;
  const Pass one = ReadAll(index, order, options);
  REQUIRE(one.pixels.size() == 5);
  CHECK(one.labels.back().size() == 3);
  CHECK(one.skipped.empty());
  options.threads = 4;
  options.depth = 3;
  const Pass four = ReadAll(index, order, options);
  CHECK(four.pixels == one.pixels);
  CHECK(four.labels == one.labels);
  // Labels follow the pass's order; the colour says the class.
  for (size_t b = 0; b < one.labels.size(); ++b) {
    for (size_t i = 0; i < one.labels[b].size(); ++i) {
      const int64_t entry = order[b * 5 + i];
      CHECK(one.labels[b][i] == index->label(entry));
      const size_t plane = 16 * 16, at = i * 3 * plane + 8 * 16 + 8;
      const int red = one.pixels[b][at], blue = one.pixels[b][at + 2 * plane];
      CHECK((red > blue) == (index->label(entry) == 1));
    }
  }
  // Another seed, other crops; the evaluation view ignores the seed.
  options.seed = 78;
  CHECK(ReadAll(index, order, options).pixels != one.pixels);
  options.training_view = false;
  const Pass eval = ReadAll(index, order, options);
  options.seed = 77;
  CHECK(ReadAll(index, order, options).pixels == eval.pixels);
}

TEST_CASE("Damaged and vanished files are left out and named") {
  const std::string dir = FreshTestDir("stream_damaged");
  const std::string good = SolidJpeg(50, 40, {200, 10, 10}, TJPF_RGB,
                                     TJSAMP_420);
  for (const std::string c : {"a", "b"}) {
    for (int i = 0; i < 4; ++i) {
      WriteTestFile(dir + "/train/" + c + "/" + std::to_string(i) + ".jpg",
                    good);
    }
  }
  WriteTestFile(dir + "/train/a/5_truncated.jpg",
                good.substr(0, good.size() / 3));
  WriteTestFile(dir + "/train/b/5_notes.txt", "not a photo");
  WriteTestFile(dir + "/train/b/6_vanishing.jpg", good);
  auto opened = ImageFileIndex::Open(dir, true);
  REQUIRE(opened.ok());
  auto index = std::make_shared<const ImageFileIndex>(*std::move(opened));
  REQUIRE(index->size() == 11);
  std::filesystem::remove(dir + "/train/b/6_vanishing.jpg");
  std::vector<int64_t> all;
  for (int64_t i = 0; i < 11; ++i) all.push_back(i);
  StreamOptions options;
  options.view.size = 8;
  options.batch_size = 4;
  options.threads = 3;
  const Pass pass = ReadAll(index, all, options);
  REQUIRE(pass.skipped.size() == 3);
  CHECK_THAT(pass.skipped[0], Catch::Contains("5_truncated.jpg"));
  CHECK_THAT(pass.skipped[1], Catch::Contains("5_notes.txt"));
  CHECK_THAT(pass.skipped[2], Catch::Contains("6_vanishing.jpg"));
  int64_t kept = 0;
  for (const auto& labels : pass.labels) kept += labels.size();
  CHECK(kept == 8);
  // Batch 2 (files 8..10) holds one good file and its label.
  REQUIRE(pass.labels[2].size() == 1);
  CHECK(pass.labels[2][0] == 1);
}

TEST_CASE("A pass abandoned half-way stops its threads") {
  auto index = Folder(FreshTestDir("stream_abandoned"), 30);
  std::vector<int64_t> all;
  for (int64_t i = 0; i < index->size(); ++i) all.push_back(i);
  StreamOptions options;
  options.view.size = 16;
  options.batch_size = 4;
  options.threads = 3;
  options.depth = 2;
  for (int read = 0; read < 3; ++read) {
    ImageStream stream(index, all, options);
    std::vector<uint8_t> buffer(4 * stream.view_bytes());
    StreamBatch batch;
    for (int b = 0; b < read; ++b) REQUIRE(stream.Next(buffer.data(), &batch));
    // The destructor joins the threads, which wait for a free slot.
  }
  // An empty pass has no batch.
  ImageStream empty(index, {}, options);
  std::vector<uint8_t> buffer(4 * empty.view_bytes());
  StreamBatch batch;
  CHECK(empty.batches() == 0);
  CHECK_FALSE(empty.Next(buffer.data(), &batch));
}

}  // namespace
}  // namespace amoeba
