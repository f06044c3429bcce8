#include "settings/training_settings.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

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
  return data;
}

std::string DataKey(const DataOptions& data) {
  return absl::StrCat(DatasetName(data.kind), "|", data.dir, "|",
                      data.validation_images, "|", data.max_train_images, "|",
                      data.split_seed, "|", data.load_test ? "test" : "");
}

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
      " seed=", s.seed(), s.final_training() ? " final" : "");
}

NetworkOptions NetworkOptionsFromSettings(const v1::TrainingSettings& settings,
                                          const ImageShape& input) {
  NetworkOptions network;
  network.cells_per_stack = settings.cells_per_stack();
  network.filters = settings.filters();
  network.input_channels = input.channels;
  network.image_size = input.size;
  network.num_classes = input.num_classes;
  return network;
}

TrainOptions TrainOptionsFromSettings(const v1::TrainingSettings& settings,
                                      DatasetKind kind) {
  TrainOptions train;
  train.epochs = settings.epochs();
  train.batch_size = settings.batch_size();
  train.learning_rate = settings.learning_rate();
  train.weight_decay = settings.weight_decay();
  train.seed = settings.seed() == 0 ? 1 : settings.seed();
  train.augment = DefaultAugmentation(kind);
  train.checkpoint_every = settings.checkpoint_every();
  // Final training measures the test split once, at the end: looking at it
  // every epoch would only cost time (and invite choosing by it).
  train.validate_every_epoch = !settings.final_training();
  return train;
}

}  // namespace amoeba
