#include "worker/training_settings.h"

#include "catch2/catch.hpp"
#include "common/training_flags.h"

namespace amoeba {
namespace {

TEST_CASE("--data_dir: one folder, or one per dataset") {
  CHECK(ParseDataDirs("")->empty());
  CHECK(ParseDataDirs("/data")->at("") == "/data");
  const DataDirs both =
      *ParseDataDirs("cifar10=/data/cifar,fashion-mnist=/data/fm");
  CHECK(both.at("cifar10") == "/data/cifar");
  CHECK(both.at("fashion_mnist") == "/data/fm");
  CHECK(ParseDataDirs("imagenet=/x").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ParseDataDirs("cifar10=").status().code() ==
        absl::StatusCode::kInvalidArgument);

  v1::TrainingSettings settings = DefaultTrainingSettings();
  settings.set_dataset("cifar10");
  CHECK(DataOptionsFromSettings(settings, both)->dir == "/data/cifar");
  settings.set_dataset("fashion_mnist");
  CHECK(DataOptionsFromSettings(settings, {{"cifar10", "/c"}})->dir.empty());
  CHECK(DataOptionsFromSettings(settings, {{"", "/all"}})->dir == "/all");
  settings.set_dataset("mnist");
  CHECK(DataOptionsFromSettings(settings, {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("A task's settings become the trainer's options, one way") {
  v1::TrainingSettings s = DefaultTrainingSettings();
  s.set_epochs(3);
  s.set_learning_rate(0.024);
  s.set_seed(0);
  const TrainOptions train = TrainOptionsFromSettings(s, DatasetKind::kCifar10);
  CHECK(train.epochs == 3);
  CHECK(train.batch_size == 64);
  CHECK(train.learning_rate == 0.024);
  CHECK(train.weight_decay == 5e-4);
  CHECK(train.seed == 1);
  CHECK(train.augment.horizontal_flip);  // CIFAR-10's default augmentation
  const DataOptions data = *DataOptionsFromSettings(s, {});
  CHECK(data.validation_images == 1000);
  CHECK(data.max_train_images == 2000);
  CHECK(DataKey(data) != DataKey(*DataOptionsFromSettings(
                             [&] {
                               v1::TrainingSettings t = s;
                               t.set_max_train_images(0);
                               return t;
                             }(),
                             {})));
}

}  // namespace
}  // namespace amoeba
