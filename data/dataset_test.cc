#include "data/dataset.h"

#include <zlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "testing/test_files.h"
#include "data/augment.h"

namespace amoeba {
namespace {

void PutBigEndian(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back((v >> shift) & 0xff);
}

std::vector<uint8_t> IdxImages(uint32_t count, uint32_t rows, uint32_t cols,
                               uint32_t magic = 0x803) {
  std::vector<uint8_t> out;
  PutBigEndian(out, magic);
  PutBigEndian(out, count);
  PutBigEndian(out, rows);
  PutBigEndian(out, cols);
  for (uint32_t i = 0; i < count * rows * cols; ++i) out.push_back(i % 251);
  return out;
}

std::vector<uint8_t> IdxLabels(const std::vector<uint8_t>& labels,
                               uint32_t magic = 0x801) {
  std::vector<uint8_t> out;
  PutBigEndian(out, magic);
  PutBigEndian(out, static_cast<uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

std::string WritePlain(const std::string& name, const std::vector<uint8_t>& data) {
  const std::string path = TestTempPath(name);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), data.size());
  return path;
}

std::string WriteGzip(const std::string& name, const std::vector<uint8_t>& data) {
  const std::string path = TestTempPath(name);
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  gzwrite(f, data.data(), static_cast<unsigned>(data.size()));
  gzclose(f);
  return path;
}

std::string ErrorOf(const absl::StatusOr<ImageDataset>& r) {
  REQUIRE_FALSE(r.ok());
  return std::string(r.status().message());
}

const std::vector<uint8_t> kTenLabels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

TEST_CASE("IDX files load, gzipped or plain") {
  const auto images = WriteGzip("img.gz", IdxImages(10, 4, 5));
  const auto labels = WritePlain("lbl", IdxLabels(kTenLabels));
  const auto data = LoadIdxPair(images, labels);
  REQUIRE(data.ok());
  CHECK(data->size() == 10);
  CHECK(data->images.sizes() == torch::IntArrayRef({10, 1, 4, 5}));
  CHECK(data->images.dtype() == torch::kUInt8);
  CHECK(data->images[1][0][0][0].item<int>() == 20);  // pixel 20 of the file
  CHECK(data->labels[7].item<int64_t>() == 7);
}

TEST_CASE("Corrupt IDX files give errors naming the file and the problem") {
  const auto labels = WritePlain("ok_labels", IdxLabels(kTenLabels));
  const auto images = WritePlain("ok_images", IdxImages(10, 4, 5));

  CHECK_THAT(ErrorOf(LoadIdxPair(TestTempPath("missing.gz"), labels)),
             Catch::Contains("missing.gz: cannot open"));

  const auto bad_magic = WritePlain("bad_magic", IdxImages(10, 4, 5, 0x1234));
  CHECK_THAT(ErrorOf(LoadIdxPair(bad_magic, labels)),
             Catch::Contains("bad_magic: magic number 0x00001234 is not that "
                             "of an IDX image file"));

  auto truncated = IdxImages(10, 4, 5);
  truncated.resize(truncated.size() - 7);
  CHECK_THAT(ErrorOf(LoadIdxPair(WriteGzip("trunc.gz", truncated), labels)),
             Catch::Contains("trunc.gz: truncated: the header announces 10 "
                             "images of 4x5 (200 bytes) but 193 bytes follow"));

  CHECK_THAT(ErrorOf(LoadIdxPair(WritePlain("short", {0, 0, 8}), labels)),
             Catch::Contains("short: truncated: 3 bytes"));

  auto extra = IdxImages(10, 4, 5);
  extra.push_back(1);
  CHECK_THAT(ErrorOf(LoadIdxPair(WritePlain("extra", extra), labels)),
             Catch::Contains("1 unexpected bytes after the 10 images"));

  CHECK_THAT(ErrorOf(LoadIdxPair(WritePlain("huge_dims", IdxImages(0, 0, 5)),
                                 labels)),
             Catch::Contains("implausible image size 0x5"));

  const auto nine = WritePlain("nine", IdxLabels({0, 1, 2, 3, 4, 5, 6, 7, 8}));
  CHECK_THAT(ErrorOf(LoadIdxPair(images, nine)),
             Catch::Contains("has 10 images but") &&
                 Catch::Contains("nine has 9 labels"));

  const auto out_of_range =
      WritePlain("range", IdxLabels({0, 1, 2, 12, 4, 5, 6, 7, 8, 9}));
  CHECK_THAT(ErrorOf(LoadIdxPair(images, out_of_range)),
             Catch::Contains("range: label 12 of item 3 is out of range 0..9"));

  const auto label_magic = WritePlain("lmagic", IdxLabels(kTenLabels, 0x803));
  CHECK_THAT(ErrorOf(LoadIdxPair(images, label_magic)),
             Catch::Contains("not that of an IDX label file"));

  auto short_labels = IdxLabels(kTenLabels);
  short_labels.pop_back();
  CHECK_THAT(ErrorOf(LoadIdxPair(images, WritePlain("lshort", short_labels))),
             Catch::Contains("truncated: the header announces 10 labels but 9"));

  // A gzip stream cut in the middle.
  std::ifstream gz(WriteGzip("whole.gz", IdxImages(200, 28, 28)),
                   std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(gz)),
                             std::istreambuf_iterator<char>());
  bytes.resize(bytes.size() / 2);
  CHECK_THAT(ErrorOf(LoadIdxPair(WritePlain("cut.gz", bytes), labels)),
             Catch::Contains("cut.gz: "));
}

std::vector<uint8_t> CifarRecords(int count, int first_label) {
  std::vector<uint8_t> out;
  for (int r = 0; r < count; ++r) {
    out.push_back(static_cast<uint8_t>((first_label + r) % 10));
    for (int i = 0; i < 3072; ++i) out.push_back(static_cast<uint8_t>((r + i) % 256));
  }
  return out;
}

std::string MakeCifarDir(const std::string& name) {
  const std::string dir = FreshTestDir(name);
  for (int i = 1; i <= 5; ++i) {
    WritePlain(name + "/data_batch_" + std::to_string(i) + ".bin",
               CifarRecords(3, i));
  }
  WritePlain(name + "/test_batch.bin", CifarRecords(2, 0));
  return dir;
}

TEST_CASE("CIFAR-10 binary files load as RGB planes") {
  const std::string dir = MakeCifarDir("cifar_ok");
  const auto train = LoadCifar10(dir, true);
  REQUIRE(train.ok());
  CHECK(train->images.sizes() == torch::IntArrayRef({15, 3, 32, 32}));
  CHECK(train->labels[0].item<int64_t>() == 1);
  CHECK(train->labels[3].item<int64_t>() == 2);  // first of batch 2
  // Record 1, channel 1 (G) starts at pixel byte 1024: value (1 + 1024) % 256.
  CHECK(train->images[1][1][0][0].item<int>() == (1 + 1024) % 256);
  const auto test = LoadCifar10(dir, false);
  REQUIRE(test.ok());
  CHECK(test->size() == 2);
}

TEST_CASE("Corrupt CIFAR-10 files give errors naming the file") {
  std::string dir = MakeCifarDir("cifar_missing");
  std::remove((dir + "/data_batch_3.bin").c_str());
  CHECK_THAT(ErrorOf(LoadCifar10(dir, true)),
             Catch::Contains("data_batch_3.bin: cannot open"));

  dir = MakeCifarDir("cifar_trunc");
  auto records = CifarRecords(3, 0);
  records.resize(records.size() - 100);
  WritePlain("cifar_trunc/data_batch_2.bin", records);
  CHECK_THAT(ErrorOf(LoadCifar10(dir, true)),
             Catch::Contains("data_batch_2.bin: size 9119 bytes is not a whole "
                             "number of 3073-byte CIFAR-10 records"));

  dir = MakeCifarDir("cifar_label");
  records = CifarRecords(3, 0);
  records[3073] = 10;
  WritePlain("cifar_label/data_batch_5.bin", records);
  CHECK_THAT(ErrorOf(LoadCifar10(dir, true)),
             Catch::Contains("data_batch_5.bin: label 10 of item 1 is out of "
                             "range 0..9"));

  dir = MakeCifarDir("cifar_empty");
  WritePlain("cifar_empty/test_batch.bin", {});
  CHECK_THAT(ErrorOf(LoadCifar10(dir, false)),
             Catch::Contains("test_batch.bin: size 0 bytes"));

  CHECK_THAT(ErrorOf(LoadCifar10("", true)), Catch::Contains("no data folder"));
}

TEST_CASE("The validation split is deterministic, disjoint and capped") {
  DataOptions options;
  options.kind = DatasetKind::kCifar10;
  options.dir = MakeCifarDir("cifar_split");
  options.validation_images = 4;
  const auto a = LoadDataSplit(options);
  const auto b = LoadDataSplit(options);
  REQUIRE(a.ok());
  CHECK(a->validation.size() == 4);
  CHECK(a->train.size() == 11);
  CHECK(torch::equal(a->validation.images, b->validation.images));
  CHECK(a->test.size() == 0);
  // Disjoint: every image of the generated set is distinct by its first
  // pixel and label, so count unique (label, pixel) pairs.
  const torch::Tensor keys =
      torch::cat({a->train.labels * 256 +
                      a->train.images.index({torch::indexing::Slice(), 0, 0, 0}),
                  a->validation.labels * 256 +
                      a->validation.images.index(
                          {torch::indexing::Slice(), 0, 0, 0})});
  CHECK(std::get<0>(torch::_unique(keys)).size(0) == 15);

  options.split_seed = 9;
  const auto c = LoadDataSplit(options);
  const bool same_split =
      torch::equal(a->validation.labels, c->validation.labels) &&
      torch::equal(a->validation.images, c->validation.images);
  CHECK_FALSE(same_split);

  options.max_train_images = 5;
  options.load_test = true;
  const auto capped = LoadDataSplit(options);
  REQUIRE(capped.ok());
  CHECK(capped->train.size() == 5);
  CHECK(capped->test.size() == 2);

  options.validation_images = 15;
  CHECK_THAT(std::string(LoadDataSplit(options).status().message()),
             Catch::Contains("validation images must be in 0..14"));

  // Final training holds nothing out (it measures the test split); a
  // search must hold out at least one image.
  options.validation_images = 0;
  options.max_train_images = 0;
  const auto all_train = LoadDataSplit(options);
  REQUIRE(all_train.ok());
  CHECK(all_train->train.size() == 15);
  CHECK(all_train->validation.size() == 0);
  options.load_test = false;
  CHECK_THAT(std::string(LoadDataSplit(options).status().message()),
             Catch::Contains("validation images must be in 1..14"));
}

TEST_CASE("Fashion-MNIST from Debian's package loads") {
  DataOptions options;  // defaults: Fashion-MNIST in /usr/share/datasets
  options.validation_images = 1000;
  options.max_train_images = 2000;
  options.load_test = true;
  const auto split = LoadDataSplit(options);
  REQUIRE(split.ok());
  CHECK(split->train.images.sizes() == torch::IntArrayRef({2000, 1, 28, 28}));
  CHECK(split->validation.size() == 1000);
  CHECK(split->test.size() == 10000);
  CHECK(split->train.labels.max().item<int64_t>() == 9);
  CHECK(DatasetKindFromName("Fashion-MNIST").value() == DatasetKind::kFashionMnist);
  CHECK_FALSE(DatasetKindFromName("imagenet").ok());
  options.dir = TestTempPath("nowhere");
  CHECK_THAT(std::string(LoadDataSplit(options).status().message()),
             Catch::Contains("train-images-idx3-ubyte(.gz) not found"));
}

TEST_CASE("Normalization and augmentation") {
  ImageDataset data;
  data.images = torch::randint(0, 256, {64, 3, 8, 8}, torch::kInt64).to(torch::kUInt8);
  data.labels = torch::zeros({64}, torch::kInt64);
  const Normalizer n = Normalizer::FromDataset(data);
  const torch::Tensor x = n.Apply(data.images);
  CHECK(x.mean({0, 2, 3}).abs().max().item<double>() < 1e-4);
  CHECK(x.std().item<double>() == Approx(1.0).margin(0.05));
  const Normalizer on_device = n.OnDevice(torch::kCPU);
  CHECK(torch::equal(on_device.mean, n.mean));
  CHECK(torch::equal(on_device.std, n.std));
  CHECK(torch::equal(on_device.Apply(data.images), x));

  torch::Generator g1 = at::detail::createCPUGenerator(5);
  torch::Generator g2 = at::detail::createCPUGenerator(5);
  AugmentOptions crop;
  crop.crop_padding = 2;
  const torch::Tensor a = Augment(x, crop, g1);
  CHECK(a.sizes() == x.sizes());
  CHECK(torch::equal(a, Augment(x, crop, g2)));  // same seed, same crops
  CHECK_FALSE(torch::equal(a, x));

  AugmentOptions flip;
  flip.horizontal_flip = true;
  const torch::Tensor f = Augment(x, flip, g1);
  int flipped = 0;
  for (int i = 0; i < 64; ++i) {
    if (torch::equal(f[i], x[i].flip({2}))) ++flipped;
    else REQUIRE(torch::equal(f[i], x[i]));
  }
  CHECK(flipped > 16);
  CHECK(flipped < 48);

  AugmentOptions cutout;
  cutout.cutout = 2;
  const torch::Tensor ones = torch::ones({32, 1, 16, 16});
  const torch::Tensor c = Augment(ones, cutout, g1);
  const torch::Tensor zeros_per_image = (c == 0).sum({1, 2, 3});
  CHECK(zeros_per_image.max().item<int64_t>() == 4);
  CHECK(zeros_per_image.min().item<int64_t>() >= 1);
  CHECK(torch::equal(Augment(x, AugmentOptions(), g1), x));
}

}  // namespace
}  // namespace amoeba
