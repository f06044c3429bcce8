// Image folders of real JPEG and PNG files as streamed datasets, through
// the dataset API the trainer uses: classes, damaged files, decompression
// bombs, the split, the input statistics.
#include "data/folder_dataset.h"

#include <turbojpeg.h>

#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "data/augment.h"
#include "testing/test_files.h"
#include "testing/test_images.h"

namespace amoeba {
namespace {

struct ReadBack {
  torch::Tensor images;  // every decoded view, in order
  torch::Tensor labels;
  int64_t skipped = 0;
  absl::Status end;  // the status that ended the pass
};

ReadBack ReadPass(const ImageDataset& data, int batch_size,
                  bool training_view = false) {
  auto reader = data.ReadInOrder(batch_size, training_view, /*seed=*/1);
  std::vector<torch::Tensor> images, labels;
  ReadBack out;
  while (true) {
    absl::StatusOr<StreamedImages::Batch> batch = reader->Next();
    if (!batch.ok()) {
      out.end = batch.status();
      break;
    }
    images.push_back(batch->images);
    labels.push_back(batch->labels);
    out.skipped += batch->skipped;
  }
  if (!images.empty()) {
    out.images = torch::cat(images);
    out.labels = torch::cat(labels);
  }
  return out;
}

TEST_CASE("An image folder streams its classes and skips damaged files") {
  const std::string dir = FreshTestDir("image_folder");
  const std::vector<std::vector<int>> colours = {{250, 10, 10}, {10, 10, 250}};
  const std::vector<std::string> classes = {"cat", "dog"};
  for (int c = 0; c < 2; ++c) {
    for (int i = 0; i < 5; ++i) {
      WriteTestFile(
          dir + "/train/" + classes[c] + "/" + std::to_string(i) + ".jpg",
          SolidJpeg(70 + 13 * i, 50 + 7 * i, colours[c], TJPF_RGB,
                    TJSAMP_420));
    }
    WriteTestFile(dir + "/val/" + classes[c] + "/v.jpg",
                  SolidJpeg(90, 90, colours[c], TJPF_RGB, TJSAMP_444));
  }
  WriteSolidPng(dir + "/train/dog/extra.png", 33, 47, colours[1]);
  WriteTestFile(dir + "/train/cat/gray.jpg",
                SolidJpeg(64, 64, {128}, TJPF_GRAY, TJSAMP_GRAY));
  const std::string cut = SolidJpeg(200, 200, {1, 2, 3}, TJPF_RGB, TJSAMP_420);
  WriteTestFile(dir + "/train/cat/truncated.jpg", cut.substr(0, cut.size() / 3));
  WriteTestFile(dir + "/train/dog/readme.txt", "photos of dogs");
  WriteTestFile(dir + "/train/.hidden/x.jpg", "ignored");

  FolderOptions options;
  options.image_size = 32;
  options.threads = 3;
  auto train = OpenImageFolder(dir, /*train=*/true, options);
  REQUIRE(train.ok());
  REQUIRE(train->streamed());
  CHECK(train->stream->classes() == classes);
  CHECK(train->size() == 14);  // every file; which decode, a pass learns
  CHECK(train->shape().channels == 3);
  CHECK(train->image_size() == 32);
  CHECK(train->num_classes == 2);
  for (bool training_view : {false, true}) {
    INFO("training view " << training_view);
    const ReadBack pass = ReadPass(*train, 5, training_view);
    CHECK(absl::IsOutOfRange(pass.end));
    CHECK(pass.images.sizes() == torch::IntArrayRef({12, 3, 32, 32}));
    CHECK(pass.skipped == 2);  // truncated.jpg and readme.txt
    // Labels follow the class directories; the colour says which.
    for (int64_t i = 0; i < 12; ++i) {
      const int label = pass.labels[i].item<int>();
      const int red = pass.images[i][0][16][16].item<int>();
      const int blue = pass.images[i][2][16][16].item<int>();
      if (red == blue) continue;  // the gray one
      CHECK((label == 0) == (red > blue));
    }
  }
  auto val = OpenImageFolder(dir, /*train=*/false, options);
  REQUIRE(val.ok());
  CHECK(val->size() == 2);

  options.max_images = 4;
  auto capped = OpenImageFolder(dir, true, options);
  REQUIRE(capped.ok());
  CHECK(capped->size() == 4);
  CHECK(capped->labels.sum().item<int>() == 2);  // both classes kept

  // Through the dataset API, as the trainer loads it: the split is of the
  // files, and the statistics come from decoded views.
  DataOptions data;
  data.kind = DatasetKind::kFolder;
  data.dir = dir;
  data.image_size = 32;
  data.validation_images = 2;
  data.load_test = true;
  auto split = LoadDataSplit(data);
  REQUIRE(split.ok());
  CHECK(split->train.size() == 12);
  CHECK(split->train.streamed());
  CHECK(split->validation.size() == 2);
  CHECK(split->test.size() == 2);
  auto normalizer = Normalizer::Measure(split->train);
  REQUIRE(normalizer.ok());
  // Red and blue photos in equal parts: both channels well above green.
  CHECK(normalizer->mean[0].item<float>() > 0.3f);
  CHECK(normalizer->mean[1].item<float>() < 0.2f);
  // A subset streams the same files as the rows it takes.
  // (Files in class order: cat/0..4, gray, truncated, dog/0..4, extra.png,
  // readme.txt.)
  const ImageDataset two =
      Subset(*train, torch::tensor({12, 0, 13}, torch::kInt64));
  const ReadBack rows = ReadPass(two, 8);
  REQUIRE(rows.labels.size(0) == 2);
  CHECK(rows.skipped == 1);
  CHECK(rows.labels[0].item<int>() == 1);
  CHECK(rows.labels[1].item<int>() == 0);
  CHECK(rows.images[0][2][16][16].item<int>() > 200);  // extra.png is blue

  // What cannot be opened says why.
  CHECK(absl::IsNotFound(OpenImageFolder(dir + "/nope", true, options).status()));
  options.threads = -1;
  CHECK_THAT(std::string(OpenImageFolder(dir, true, options).status().message()),
             Catch::Contains("decode threads in 0..256 (got -1"));
  options.threads = 0;
  CHECK(DecodeThreads(0) >= 1);
  CHECK(DecodeThreads(5) == 5);
}

TEST_CASE("A pass skips and counts decompression bombs; none decoding is an error") {
  const std::string dir = FreshTestDir("image_folder_bombs");
  for (const std::string c : {"a", "b"}) {
    for (int i = 0; i < 3; ++i) {
      WriteTestFile(dir + "/train/" + c + "/" + std::to_string(i) + ".jpg",
                    SolidJpeg(40, 40, {i * 50, 20, 20}, TJPF_RGB, TJSAMP_444));
    }
  }
  WriteSolidPng(dir + "/small.png", 4, 4, {1, 2, 3});
  WriteTestFile(dir + "/train/a/bomb.png",
                WithPngSize(ReadWholeFile(dir + "/small.png"), 1000000, 1000000));
  WriteTestFile(dir + "/train/b/bomb.jpg",
                WithJpegSize(SolidJpeg(16, 16, {1, 2, 3}, TJPF_RGB, TJSAMP_444),
                             65000, 65000));
  FolderOptions options;
  options.image_size = 16;
  options.threads = 2;
  auto loaded = OpenImageFolder(dir, /*train=*/true, options);
  REQUIRE(loaded.ok());
  const ReadBack pass = ReadPass(*loaded, 3);
  CHECK(pass.images.size(0) == 6);
  CHECK(pass.skipped == 2);
  // A bound below every image: all skipped, an error at the pass's end
  // that says why.
  options.max_image_pixels = 100;
  auto none = OpenImageFolder(dir, /*train=*/true, options);
  REQUIRE(none.ok());
  const ReadBack nothing = ReadPass(*none, 3);
  REQUIRE(absl::IsInvalidArgument(nothing.end));
  CHECK_THAT(std::string(nothing.end.message()),
             Catch::Contains("none of its 8 files decodes") &&
                 Catch::Contains("limit of 100 pixels"));
  // The statistics of such a folder fail the same way, before training.
  CHECK(absl::IsInvalidArgument(Normalizer::Measure(*none).status()));
}

TEST_CASE("ImageNet's flat validation folder evaluates as the test split") {
  const std::string dir = FreshTestDir("image_folder_flat");
  const std::vector<std::string> classes = {"n01440764", "n01443537"};
  const std::vector<std::vector<int>> colours = {{250, 10, 10}, {10, 10, 250}};
  for (int c = 0; c < 2; ++c) {
    for (int i = 0; i < 3; ++i) {
      WriteTestFile(dir + "/train/" + classes[c] + "/" + std::to_string(i) +
                        ".JPEG",
                    SolidJpeg(40, 30, colours[c], TJPF_RGB, TJSAMP_444));
    }
  }
  // Five validation files, labelled by the devkit's numbers.
  const std::vector<int> truth = {2, 1, 1, 2, 2};
  std::string labels;
  for (int i = 0; i < 5; ++i) {
    WriteTestFile(dir + "/val/ILSVRC2012_val_0000000" + std::to_string(i + 1) +
                      ".JPEG",
                  SolidJpeg(50, 40, colours[truth[i] - 1], TJPF_RGB,
                            TJSAMP_444));
    labels += std::to_string(truth[i]) + "\n";
  }
  WriteTestFile(dir + "/val_labels.txt", labels);
  WriteTestFile(dir + "/synsets.txt", "n01440764 tench\nn01443537 goldfish\n");
  DataOptions data;
  data.kind = DatasetKind::kFolder;
  data.dir = dir;
  data.image_size = 16;
  data.validation_images = 0;
  data.load_test = true;
  auto split = LoadDataSplit(data);
  REQUIRE(split.ok());
  REQUIRE(split->test.size() == 5);
  const ReadBack pass = ReadPass(split->test, 2);
  REQUIRE(pass.labels.size(0) == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(pass.labels[i].item<int>() == truth[i] - 1);
    const int red = pass.images[i][0][8][8].item<int>();
    CHECK((red > 128) == (truth[i] == 1));
  }
}

}  // namespace
}  // namespace amoeba
