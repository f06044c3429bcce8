#include "settings/training_settings.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "settings/recipes.h"

namespace amoeba {

absl::StatusOr<DataDirs> ParseDataDirs(const std::string& spec) {
  DataDirs dirs;
  if (spec.empty()) return dirs;
  if (!absl::StrContains(spec, '=')) {
    dirs[""] = spec;
    return dirs;
  }
  for (absl::string_view entry : absl::StrSplit(spec, ',')) {
    const size_t eq = entry.find('=');
    if (eq == absl::string_view::npos || eq == 0 || eq + 1 == entry.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "data dir entry '", entry, "' is not NAME=FOLDER"));
    }
    absl::StatusOr<DatasetKind> kind = DatasetKindFromName(entry.substr(0, eq));
    if (!kind.ok()) return kind.status();
    dirs[DatasetName(*kind)] = std::string(entry.substr(eq + 1));
  }
  return dirs;
}

absl::StatusOr<DataOptions> DataOptionsFromSettings(
    const v1::TrainingSettings& settings, const DataDirs& dirs) {
  absl::StatusOr<DatasetKind> kind = DatasetKindFromName(settings.dataset());
  if (!kind.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("settings.dataset: ", kind.status().message()));
  }
  DataOptions data;
  data.kind = *kind;
  auto named = dirs.find(DatasetName(*kind));
  auto any = dirs.find("");
  data.dir = named != dirs.end() ? named->second
             : any != dirs.end() ? any->second
                                 : std::string();
  data.validation_images = settings.validation_images();
  data.max_train_images = settings.max_train_images();
  // Final training measures the test split (in place of the validation
  // set, which it does not hold out).
  data.load_test = settings.final_training();
  // Only a folder's images are resized to it; the other datasets' files
  // fix their size (and keeping the default keeps their DataKey).
  if (data.kind == DatasetKind::kFolder) {
    data.image_size = CompleteRecipe(settings.recipe()).image_size();
  }
  return data;
}

std::string DataKey(const DataOptions& data) {
  return absl::StrCat(DatasetName(data.kind), "|", data.dir, "|",
                      data.validation_images, "|", data.max_train_images, "|",
                      data.split_seed, "|", data.load_test ? "test" : "", "|",
                      data.image_size);
}

namespace {

// Every recipe value (its defaults where unset), " --flag=value" each: a
// job whose recipe changed between a checkpoint and its resume starts over.
std::string RecipeKey(const v1::TrainingRecipe& given) {
  std::string key;
  for (const auto& [flag, value] : RecipeFields(given)) {
    absl::StrAppend(&key, " --", flag, "=", value);
  }
  return key;
}

}  // namespace

std::string CheckpointKey(const v1::Task& task) {
  // Spelled out field by field: protobuf's text forms are not promised to
  // stay the same across versions, and a key must match across workers.
  const v1::TrainingSettings& s = task.settings();
  return absl::StrCat(
      task.search_id(), "#", task.model_id(), " ", task.genotype_text(),
      " | ", s.dataset(), " N=", s.cells_per_stack(), " F=", s.filters(),
      " epochs=", s.epochs(), " batch=", s.batch_size(),
      " lr=", absl::StrFormat("%.17g", s.learning_rate()),
      " wd=", absl::StrFormat("%.17g", s.weight_decay()),
      " validation=", s.validation_images(), " cap=", s.max_train_images(),
      " seed=", s.seed(), s.final_training() ? " final" : "",
      RecipeKey(s.recipe()));
}

NetworkOptions NetworkOptionsFromSettings(const v1::TrainingSettings& settings,
                                          const ImageShape& input) {
  const v1::TrainingRecipe r = CompleteRecipe(settings.recipe());
  NetworkOptions network;
  network.cells_per_stack = settings.cells_per_stack();
  network.filters = settings.filters();
  network.input_channels = input.channels;
  network.image_size = input.size;
  network.num_classes = input.num_classes;
  network.aux_head = r.aux_head();
  network.drop_path = r.drop_path();
  // An unknown name never reaches a worker (ValidateTrainingSettings).
  network.drop_path_schedule =
      DropPathScheduleFromName(r.drop_path_schedule())
          .value_or(DropPathSchedule::kTimeAndDepth);
  network.dropout = r.dropout();
  if (r.stem() == "imagenet") {
    network.stem = Stem::kImageNet;
    network.aux_scaling = 0.4;  // the released ImageNet code's aux_scaling
  }
  return network;
}

TrainOptions TrainOptionsFromSettings(const v1::TrainingSettings& settings,
                                      DatasetKind kind) {
  const v1::TrainingRecipe r = CompleteRecipe(settings.recipe());
  TrainOptions train;
  train.epochs = settings.epochs();
  train.batch_size = settings.batch_size();
  train.learning_rate = settings.learning_rate();
  train.weight_decay = settings.weight_decay();
  train.seed = settings.seed() == 0 ? 1 : settings.seed();
  train.optimizer = r.optimizer() == "rmsprop" ? OptimizerKind::kRmsProp
                                               : OptimizerKind::kMomentum;
  train.momentum = r.momentum();
  train.rmsprop_decay = r.rmsprop_decay();
  train.rmsprop_epsilon = r.rmsprop_epsilon();
  train.schedule = r.schedule() == "exponential" ? LrSchedule::kExponential
                                                 : LrSchedule::kCosine;
  train.lr_decay = r.lr_decay();
  train.lr_decay_epochs = r.lr_decay_epochs();
  // A preset's warm-up (the released ImageNet code's 3 epochs) also fits
  // a shorter run.
  train.warmup_epochs =
      std::min(r.warmup_epochs(), static_cast<double>(train.epochs));
  train.label_smoothing = r.label_smoothing();
  train.grad_clip_norm = r.grad_clip_norm();
  train.aux_weight = r.aux_weight();
  train.ema_decay = r.ema_decay();
  train.device.precision =
      PrecisionFromName(r.precision()).value_or(Precision::kAuto);
  train.augment =
      r.augment() == "none" ? AugmentOptions() : DefaultAugmentation(kind);
  train.augment.cutout = r.cutout();
  train.checkpoint_every = settings.checkpoint_every();
  // Final training measures the test split once, at the end: looking at it
  // every epoch would only cost time (and invite choosing by it).
  train.validate_every_epoch = !settings.final_training();
  return train;
}

namespace {

absl::Status OneOf(const char* flag, const std::string& value,
                   std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return absl::OkStatus();
  }
  std::string names;
  for (const char* a : allowed) {
    absl::StrAppend(&names, names.empty() ? "" : " or ", a);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, " must be ", names, ", got '", value.substr(0, 64), "'"));
}

// The images of a dataset before it is loaded: the files fix them, except
// a folder's classes (at least 2, checked when it loads).
absl::StatusOr<ImageShape> ShapeOfDataset(const v1::TrainingSettings& s) {
  ASSIGN_OR_RETURN(const DatasetKind kind, DatasetKindFromName(s.dataset()));
  switch (kind) {
    case DatasetKind::kFashionMnist:
      return ImageShape{1, 28, 10};
    case DatasetKind::kCifar10:
      return ImageShape{3, 32, 10};
    case DatasetKind::kFolder:
      return ImageShape{3, CompleteRecipe(s.recipe()).image_size(), 2};
  }
  return absl::InternalError("unknown dataset kind");
}

}  // namespace

absl::Status ValidateTrainingSettings(const v1::TrainingSettings& settings) {
  const v1::TrainingRecipe r = CompleteRecipe(settings.recipe());
  auto named = [](const absl::Status& s) {
    return s.ok() ? s
                  : absl::InvalidArgumentError(
                        absl::StrCat("training settings: ", s.message()));
  };
  for (const absl::Status& check :
       {OneOf("optimizer", r.optimizer(), {"momentum", "rmsprop"}),
        OneOf("lr_schedule", r.schedule(), {"cosine", "exponential"}),
        OneOf("augment", r.augment(), {"default", "none"}),
        OneOf("stem", r.stem(), {"cifar", "imagenet"}),
        DropPathScheduleFromName(r.drop_path_schedule()).status(),
        PrecisionFromName(r.precision()).status()}) {
    if (!check.ok()) return named(check);
  }
  if (r.image_size() < 8 || r.image_size() > 1024) {
    return named(absl::InvalidArgumentError(absl::StrCat(
        "--image_size must be in 8..1024, got ", r.image_size())));
  }
  absl::StatusOr<ImageShape> shape = ShapeOfDataset(settings);
  if (!shape.ok()) return named(shape.status());
  const absl::StatusOr<DatasetKind> kind = DatasetKindFromName(settings.dataset());
  RETURN_IF_ERROR(
      named(ValidateTrainOptions(TrainOptionsFromSettings(settings, *kind))));
  RETURN_IF_ERROR(named(
      ValidateNetworkOptions(NetworkOptionsFromSettings(settings, *shape))));
  return absl::OkStatus();
}

}  // namespace amoeba
