#include "settings/training_settings.h"

#include <cmath>
#include <functional>
#include <vector>

#include "catch2/catch.hpp"
#include "settings/recipes.h"
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
  // A folder's image size is its data; Fashion-MNIST's and CIFAR-10's
  // files fix theirs, so the recipe's does not load them again.
  v1::TrainingSettings big = s;
  big.mutable_recipe()->set_image_size(331);
  CHECK(DataKey(*DataOptionsFromSettings(big, {})) == DataKey(data));
  big.set_dataset("folder");
  v1::TrainingSettings small = big;
  small.mutable_recipe()->set_image_size(64);
  CHECK(DataKey(*DataOptionsFromSettings(big, {})) !=
        DataKey(*DataOptionsFromSettings(small, {})));
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
           [](v1::Task& t) {
             t.mutable_settings()->mutable_recipe()->set_cutout(16);
           },
           [](v1::Task& t) {
             t.mutable_settings()->mutable_recipe()->set_optimizer("rmsprop");
           },
           [](v1::Task& t) {
             t.mutable_settings()->mutable_recipe()->set_ema_decay(0.99);
           },
           [](v1::Task& t) {
             t.mutable_settings()->mutable_recipe()->set_drop_path_schedule(
                 "time");
           },
           [](v1::Task& t) {
             t.mutable_settings()->mutable_recipe()->set_precision("fp16");
           },
       }) {
    v1::Task other = task;
    change(other);
    CHECK(CheckpointKey(other) != key);
  }
}

// DefaultTrainingSettings() with the preset's fields on top, as a
// controller fills a search's settings.
v1::TrainingSettings WithPreset(const char* name) {
  v1::TrainingSettings s = DefaultTrainingSettings();
  s.MergeFrom(FindRecipePreset(name)->settings);
  return s;
}

TEST_CASE("the recipe reaches every trainer option it names") {
  const v1::TrainingSettings cifar = WithPreset("cifar-final");
  const TrainOptions train =
      TrainOptionsFromSettings(cifar, DatasetKind::kCifar10);
  CHECK(train.epochs == 600);
  CHECK(train.batch_size == 128);
  CHECK(train.learning_rate == 0.024);
  CHECK(train.optimizer == OptimizerKind::kMomentum);
  CHECK(train.schedule == LrSchedule::kCosine);
  CHECK(train.augment.cutout == 16);
  CHECK(train.augment.crop_padding == 4);  // CIFAR-10's default, kept
  CHECK(train.aux_weight == 0.4);
  const NetworkOptions network =
      NetworkOptionsFromSettings(cifar, ImageShape{3, 32, 10});
  CHECK(network.cells_per_stack == 6);
  CHECK(network.filters == 36);
  CHECK(network.aux_head);
  CHECK(network.drop_path == 0.3);
  CHECK(network.stem == Stem::kCifar);

  // The imagenet preset is the trainer's ImageNetRecipe, value for value.
  v1::TrainingSettings imagenet = WithPreset("imagenet");
  imagenet.set_epochs(10);
  TrainOptions base = TrainOptionsFromSettings(DefaultTrainingSettings(),
                                               DatasetKind::kFolder);
  base.epochs = 10;
  const TrainOptions expected = ImageNetRecipe(base);
  const TrainOptions got =
      TrainOptionsFromSettings(imagenet, DatasetKind::kFolder);
  CHECK(got.optimizer == OptimizerKind::kRmsProp);
  CHECK(got.optimizer == expected.optimizer);
  CHECK(got.schedule == expected.schedule);
  CHECK(got.learning_rate == expected.learning_rate);
  CHECK(got.momentum == expected.momentum);
  CHECK(got.rmsprop_decay == expected.rmsprop_decay);
  CHECK(got.rmsprop_epsilon == expected.rmsprop_epsilon);
  CHECK(got.lr_decay == expected.lr_decay);
  CHECK(got.lr_decay_epochs == expected.lr_decay_epochs);
  CHECK(got.warmup_epochs == expected.warmup_epochs);
  CHECK(got.label_smoothing == expected.label_smoothing);
  CHECK(got.grad_clip_norm == expected.grad_clip_norm);
  CHECK(got.weight_decay == expected.weight_decay);
  CHECK(got.aux_weight == expected.aux_weight);
  // A warm-up longer than the run is capped, as ImageNetRecipe does.
  imagenet.set_epochs(2);
  CHECK(TrainOptionsFromSettings(imagenet, DatasetKind::kFolder)
            .warmup_epochs == 2);

  const v1::TrainingSettings photos = WithPreset("imagenet-final");
  CHECK(DataOptionsFromSettings(photos, {})->image_size == 331);
  const NetworkOptions big =
      NetworkOptionsFromSettings(photos, ImageShape{3, 331, 1000});
  CHECK(big.stem == Stem::kImageNet);
  CHECK(big.aux_scaling == 0.4);
  CHECK(big.filters == 190);
  CHECK(big.dropout == 0.5);

  // The weight average, drop path's schedule and the precision.
  CHECK(got.ema_decay == 0.9999);
  CHECK(NetworkOptionsFromSettings(imagenet, ImageShape{3, 64, 10})
            .drop_path_schedule == DropPathSchedule::kTime);
  CHECK(network.drop_path_schedule == DropPathSchedule::kTime);  // cifar-final
  const TrainOptions defaults =
      TrainOptionsFromSettings(DefaultTrainingSettings(), DatasetKind::kCifar10);
  CHECK(defaults.ema_decay == 0);
  CHECK(defaults.device.precision == Precision::kAuto);
  CHECK(NetworkOptionsFromSettings(DefaultTrainingSettings(),
                                   ImageShape{1, 28, 10})
            .drop_path_schedule == DropPathSchedule::kTimeAndDepth);
  v1::TrainingSettings half = DefaultTrainingSettings();
  half.mutable_recipe()->set_precision("bf16");
  half.mutable_recipe()->set_drop_path_schedule("depth");
  CHECK(TrainOptionsFromSettings(half, DatasetKind::kCifar10).device.precision ==
        Precision::kBFloat16);
  CHECK(NetworkOptionsFromSettings(half, ImageShape{1, 28, 10})
            .drop_path_schedule == DropPathSchedule::kDepth);

  v1::TrainingSettings none = DefaultTrainingSettings();
  none.mutable_recipe()->set_augment("none");
  none.mutable_recipe()->set_cutout(8);
  const AugmentOptions augment =
      TrainOptionsFromSettings(none, DatasetKind::kCifar10).augment;
  CHECK(augment.crop_padding == 0);
  CHECK_FALSE(augment.horizontal_flip);
  CHECK(augment.cutout == 8);
}

TEST_CASE("settings that cannot train are refused, naming the setting") {
  CHECK(ValidateTrainingSettings(DefaultTrainingSettings()).ok());
  for (const RecipePreset& preset : RecipePresets()) {
    INFO(preset.name);
    CHECK(ValidateTrainingSettings(WithPreset(preset.name.c_str())).ok());
  }
  struct Bad {
    std::function<void(v1::TrainingSettings&)> change;
    const char* message;
  };
  for (const Bad& bad : std::vector<Bad>{
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_stem("imagenet");  // 28-pixel images
            },
            "at least 64 with the ImageNet stem"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_optimizer("adam");
            },
            "--optimizer must be momentum or rmsprop, got 'adam'"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_schedule("linear");
            },
            "--lr_schedule must be cosine or exponential"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_drop_path(1.5);
            },
            "drop path"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_label_smoothing(-0.1);
            },
            "label smoothing"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_cutout(5000);
            },
            "cutout"},
           {[](v1::TrainingSettings& s) {
              s.set_dataset("folder");
              s.mutable_recipe()->set_image_size(4);
            },
            "--image_size must be in 8..1024, got 4"},
           {[](v1::TrainingSettings& s) { s.set_dataset("imagenet"); },
            "unknown dataset 'imagenet'"},
           // Not a number fails every bound (a request is anyone's JSON).
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_momentum(std::nan(""));
            },
            "momentum must be in [0, 1), got nan"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_drop_path(std::nan(""));
            },
            "drop path must be in [0, 1), got nan"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_warmup_epochs(std::nan(""));
            },
            "warm-up epochs"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_grad_clip_norm(INFINITY);
            },
            "gradient clip norm"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_aux_weight(-1);
            },
            "aux loss weight must be in [0, 10], got -1"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_ema_decay(1.0);
            },
            "moving-average decay must be in [0, 1), got 1"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_drop_path_schedule("v3");
            },
            "--drop_path_schedule must be time-and-depth, time or depth"},
           {[](v1::TrainingSettings& s) {
              s.mutable_recipe()->set_precision("fp8");
            },
            "unknown precision 'fp8'"},
       }) {
    v1::TrainingSettings s = DefaultTrainingSettings();
    bad.change(s);
    const absl::Status status = ValidateTrainingSettings(s);
    INFO(status.message());
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()),
               Catch::StartsWith("training settings: ") &&
                   Catch::Contains(bad.message));
  }
}

}  // namespace
}  // namespace amoeba
