#include "settings/training_settings.h"

#include <functional>
#include <vector>

#include "catch2/catch.hpp"
#include "settings/training_flags.h"

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

TEST_CASE("a checkpoint key is the job's: every attempt alike, any change apart") {
  v1::Task task;
  task.set_search_id("fm-final");
  task.set_model_id(3);
  task.set_attempt(1);
  task.set_genotype_text("normal: ...");
  task.mutable_settings()->set_epochs(10);
  task.mutable_settings()->set_seed(42);
  const std::string key = CheckpointKey(task);
  v1::Task retry = task;
  retry.set_attempt(2);
  retry.set_checkpoint_epoch(4);
  REQUIRE(CheckpointKey(retry) == key);
  for (auto change : std::vector<std::function<void(v1::Task&)>>{
           [](v1::Task& t) { t.set_model_id(4); },
           [](v1::Task& t) { t.set_search_id("other"); },
           [](v1::Task& t) { t.set_genotype_text("normal: other"); },
           [](v1::Task& t) { t.mutable_settings()->set_seed(43); },
           [](v1::Task& t) { t.mutable_settings()->set_learning_rate(0.1); },
           [](v1::Task& t) { t.mutable_settings()->set_max_train_images(9); },
       }) {
    v1::Task other = task;
    change(other);
    CHECK(CheckpointKey(other) != key);
  }
}

}  // namespace
}  // namespace amoeba
