// The file index of real folders: both layouts, ImageNet's flat validation
// folder, and every layout error a user can make.
#include "data/image_files.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "testing/test_files.h"

namespace amoeba {
namespace {

void Touch(const std::string& path) { WriteTestFile(path, "x"); }

std::string Message(const absl::Status& status) {
  return std::string(status.message());
}

TEST_CASE("A class-folder split lists its files with their classes") {
  const std::string dir = FreshTestDir("index_classes");
  for (const std::string c : {"dog", "cat", "emu"}) {
    for (int i = 2; i >= 0; --i) {
      Touch(dir + "/train/" + c + "/" + std::to_string(i) + ".jpg");
    }
  }
  Touch(dir + "/train/.hidden/x.jpg");
  Touch(dir + "/train/cat/.DS_Store");
  Touch(dir + "/val/cat/v.jpg");
  Touch(dir + "/val/emu/v.png");
  auto train = ImageFileIndex::Open(dir, /*train=*/true);
  REQUIRE(train.ok());
  CHECK(train->classes() == std::vector<std::string>{"cat", "dog", "emu"});
  REQUIRE(train->size() == 9);
  // Class by class, file-name order within each.
  CHECK(train->path(0) == dir + "/train/cat/0.jpg");
  CHECK(train->label(0) == 0);
  CHECK(train->path(5) == dir + "/train/dog/2.jpg");
  CHECK(train->label(5) == 1);
  CHECK(train->label(8) == 2);
  CHECK(train->split_dir() == dir + "/train");
  auto val = ImageFileIndex::Open(dir, /*train=*/false);
  REQUIRE(val.ok());
  REQUIRE(val->size() == 2);
  CHECK(val->label(0) == 0);
  CHECK(val->label(1) == 2);  // emu: train's numbering, not val's

  // A cap takes files round-robin over the classes.
  auto capped = ImageFileIndex::Open(dir, true, 4);
  REQUIRE(capped.ok());
  REQUIRE(capped->size() == 4);
  std::set<int> labels;
  for (int64_t i = 0; i < 4; ++i) labels.insert(capped->label(i));
  CHECK(labels == std::set<int>{0, 1, 2});
  CHECK(absl::IsInvalidArgument(ImageFileIndex::Open(dir, true, -1).status()));
}

TEST_CASE("Layout errors name the folder and what is wrong") {
  const std::string dir = FreshTestDir("index_errors");
  CHECK(absl::IsNotFound(ImageFileIndex::Open(dir + "/nope", true).status()));
  Touch(dir + "/train/a/1.jpg");
  CHECK_THAT(Message(ImageFileIndex::Open(dir, true).status()),
             Catch::Contains("needs at least 2 class directories, found 1"));
  Touch(dir + "/train/b/1.jpg");
  CHECK(ImageFileIndex::Open(dir, true).ok());
  // A class whose folder holds nothing is an error, never a silent drop.
  std::filesystem::create_directories(dir + "/train/c");
  CHECK_THAT(Message(ImageFileIndex::Open(dir, true).status()),
             Catch::Contains(dir + "/train/c: a class folder without files"));
  Touch(dir + "/train/c/1.jpg");
  CHECK(absl::IsNotFound(ImageFileIndex::Open(dir, false).status()));
  Touch(dir + "/val/bird/b.jpg");
  CHECK_THAT(Message(ImageFileIndex::Open(dir, false).status()),
             Catch::Contains("bird: a class that"));
}

TEST_CASE("Links that loop in an image folder are skipped, not thrown on") {
  const std::string dir = FreshTestDir("index_links");
  Touch(dir + "/train/a/0.jpg");
  Touch(dir + "/train/b/0.jpg");
  // Asking whether such a link is a folder or a file fails (ELOOP).
  std::filesystem::create_symlink(dir + "/train/loop", dir + "/train/loop");
  std::filesystem::create_symlink(dir + "/train/a/x.jpg",
                                  dir + "/train/a/x.jpg");
  auto index = ImageFileIndex::Open(dir, true);
  REQUIRE(index.ok());
  CHECK(index->classes() == std::vector<std::string>{"a", "b"});
  CHECK(index->size() == 2);
}

TEST_CASE("ImageNet's flat validation folder reads its label list") {
  const std::string dir = FreshTestDir("index_flat");
  for (const std::string c : {"n01440764", "n01443537", "n01484850"}) {
    Touch(dir + "/train/" + c + "/a.JPEG");
  }
  for (int i = 1; i <= 4; ++i) {
    Touch(dir + "/val/ILSVRC2012_val_0000000" + std::to_string(i) + ".JPEG");
  }
  SECTION("without a label list, an error that says what is needed") {
    const absl::Status status = ImageFileIndex::Open(dir, false).status();
    CHECK(absl::IsNotFound(status));
    CHECK_THAT(Message(status), Catch::Contains("val_labels.txt"));
  }
  SECTION("labels as class names") {
    WriteTestFile(dir + "/val_labels.txt",
          "n01484850\nn01440764\n n01443537 \nn01440764\n");
    auto val = ImageFileIndex::Open(dir, false);
    REQUIRE(val.ok());
    REQUIRE(val->size() == 4);
    CHECK(val->path(0) == dir + "/val/ILSVRC2012_val_00000001.JPEG");
    CHECK(val->label(0) == 2);
    CHECK(val->label(1) == 0);
    CHECK(val->label(2) == 1);
    CHECK(val->label(3) == 0);
    // Capped: round-robin over the classes.
    auto capped = ImageFileIndex::Open(dir, false, 3);
    REQUIRE(capped.ok());
    std::set<int> labels;
    for (int64_t i = 0; i < capped->size(); ++i) labels.insert(capped->label(i));
    CHECK(labels == std::set<int>{0, 1, 2});
  }
  SECTION("labels as the devkit's numbers, through synsets.txt") {
    // The devkit's numbering is not sorted order.
    WriteTestFile(dir + "/synsets.txt",
          "n01443537 goldfish\nn01484850 great white shark\nn01440764 tench\n");
    WriteTestFile(dir + "/val_labels.txt", "3\n1\n2\n3\n");
    auto val = ImageFileIndex::Open(dir, false);
    REQUIRE(val.ok());
    CHECK(val->label(0) == 0);  // 3 -> n01440764, the first sorted class
    CHECK(val->label(1) == 1);
    CHECK(val->label(2) == 2);
  }
  SECTION("a label list that does not fit the folder") {
    WriteTestFile(dir + "/val_labels.txt", "n01440764\nn01440764\nn01440764\n");
    CHECK_THAT(Message(ImageFileIndex::Open(dir, false).status()),
               Catch::Contains("has 3 labels but") &&
                   Catch::Contains("has 4 files"));
    WriteTestFile(dir + "/val_labels.txt", "n01440764\nn0\nn01440764\nn01440764\n");
    CHECK_THAT(Message(ImageFileIndex::Open(dir, false).status()),
               Catch::Contains("line 2: 'n0' is not a class"));
    WriteTestFile(dir + "/val_labels.txt", "1\n2\n3\n4\n");
    CHECK_THAT(Message(ImageFileIndex::Open(dir, false).status()),
               Catch::Contains("synsets.txt must name them"));
    WriteTestFile(dir + "/synsets.txt", "n01443537\nn01484850\nn01440764\n");
    CHECK_THAT(Message(ImageFileIndex::Open(dir, false).status()),
               Catch::Contains("line 4: class number 4 is not in 1..3"));
  }
}

TEST_CASE("The index holds a few tens of bytes a file") {
  const std::string dir = FreshTestDir("index_memory");
  for (const std::string c : {"a", "b"}) {
    std::filesystem::create_directories(dir + "/train/" + c);
    for (int i = 0; i < 2000; ++i) {
      std::ofstream(dir + "/train/" + c + "/img_" + std::to_string(100000 + i) +
                    ".jpg");
    }
  }
  auto index = ImageFileIndex::Open(dir, true);
  REQUIRE(index.ok());
  REQUIRE(index->size() == 4000);
  // 14-byte names, 12 bytes of offsets and labels: ~26 bytes a file plus
  // the vectors' growth.
  CHECK(index->memory_bytes() < 4000 * 60);
  CHECK(index->memory_bytes() > 4000 * 20);
}

}  // namespace
}  // namespace amoeba
