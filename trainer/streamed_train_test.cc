// Training on an image folder streamed from disk (data/folder_dataset.h):
// real JPEGs, real LibTorch training, checkpoint and resume through a
// streamed epoch, and the same run whatever the decoding threads.
// LibTorch's headers before Catch2's (glog's CHECK must not replace it).
#include "data/folder_dataset.h"
#include "trainer/train.h"

#include <turbojpeg.h>

#include <map>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "genotype/known_cells.h"
#include "testing/test_files.h"
#include "testing/test_images.h"
#include "trainer/same_weights.h"

namespace amoeba {
namespace {

// DIR/{train,val}/{blue,red}: textured JPEGs of 40..70 x 32..52 pixels.
std::string PhotoFolder() {
  static const std::string dir = [] {
    const std::string root = FreshTestDir("streamed_photos");
    const std::vector<std::string> classes = {"blue", "red"};
    for (const std::string split : {"train", "val"}) {
      const int per_class = split == "train" ? 20 : 6;
      for (int c = 0; c < 2; ++c) {
        for (int i = 0; i < per_class; ++i) {
          const int w = 40 + (i * 7) % 31, h = 32 + (i * 5) % 21;
          std::vector<uint8_t> rgb;
          for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) {
              const int t = (x * (i + 2) + y * 3) % 90;
              rgb.push_back(static_cast<uint8_t>(c == 1 ? 150 + t : t));
              rgb.push_back(static_cast<uint8_t>(t));
              rgb.push_back(static_cast<uint8_t>(c == 0 ? 150 + t : t));
            }
          }
          WriteTestFile(root + "/" + split + "/" + classes[c] + "/" +
                            std::to_string(i) + ".jpg",
                        RgbJpeg(w, h, rgb));
        }
      }
    }
    // One damaged file: skipped in every epoch, training goes on.
    WriteTestFile(root + "/train/red/99_damaged.jpg", "not a JPEG");
    return root;
  }();
  return dir;
}

PreparedData Streamed(int decode_threads) {
  DataOptions options;
  options.kind = DatasetKind::kFolder;
  options.dir = PhotoFolder();
  options.image_size = 16;
  options.validation_images = 8;
  options.decode_threads = decode_threads;
  auto split = LoadDataSplit(options);
  REQUIRE(split.ok());
  REQUIRE(split->train.streamed());
  auto data = PrepareData(*split, torch::kCPU);
  REQUIRE(data.ok());
  return *std::move(data);
}

NetworkOptions Photos() {
  NetworkOptions n;
  n.input_channels = 3;
  n.image_size = 16;
  n.num_classes = 2;
  n.filters = 4;
  n.drop_path = 0.2;
  return n;
}

TrainOptions Options() {
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 8;  // 33 training files: a last batch of 1
  o.learning_rate = 0.05;
  o.augment = DefaultAugmentation(DatasetKind::kFolder);
  o.augment.cutout = 4;
  o.device.threads = 1;
  o.checkpoint_every = 1;
  o.checkpoint_key = "folder child";
  return o;
}

TEST_CASE("a streamed folder trains the same whatever the decoding threads, "
          "and resumes bit for bit") {
  const PreparedData two = Streamed(2);
  CHECK(two.train.size() == 33);  // 41 files, 8 held out
  std::map<int, std::string> states;
  TrainCallbacks callbacks;
  callbacks.save_checkpoint = [&](int epoch, const std::string& state) {
    states[epoch] = state;
  };
  auto whole = TrainGenotype(AmoebaNetA(), Photos(), two, Options(), callbacks);
  REQUIRE(whole.ok());
  // Four steps of 8 and a last batch of one a epoch (the damaged file
  // leaves 7 in one of them).
  CHECK(whole->result.steps == 15);
  CHECK(whole->result.validation_accuracy >= 0);
  REQUIRE(states.count(1) == 1);

  const PreparedData one = Streamed(1);
  auto again = TrainGenotype(AmoebaNetA(), Photos(), one, Options());
  REQUIRE(again.ok());
  CHECK(again->result.validation_accuracy == whole->result.validation_accuracy);
  RequireSameWeights(*whole, *again);

  auto resumed = TrainGenotype(AmoebaNetA(), Photos(), two, Options(), {},
                               states[1]);
  REQUIRE(resumed.ok());
  CHECK(resumed->result.validation_accuracy ==
        whole->result.validation_accuracy);
  RequireSameWeights(*whole, *resumed);

  // The test split evaluates streamed, every file once.
  DataOptions test_options;
  test_options.kind = DatasetKind::kFolder;
  test_options.dir = PhotoFolder();
  test_options.image_size = 16;
  test_options.validation_images = 0;
  test_options.load_test = true;
  auto split = LoadDataSplit(test_options);
  REQUIRE(split.ok());
  CHECK(split->test.size() == 12);
  auto accuracy = EvaluateAccuracy(whole->network, split->test,
                                   whole->normalizer, torch::kCPU);
  REQUIRE(accuracy.ok());
  CHECK(*accuracy >= 0);
  CHECK(*accuracy <= 1);
}

}  // namespace
}  // namespace amoeba
