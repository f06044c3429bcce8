// The one conversion from a task's v1.TrainingSettings to what the trainer
// takes: the data to load, the network's size and the training options.
// The LibTorch evaluator and `amoeba train` both use it, so a child trains
// exactly as `amoeba train` with the same settings does.
#ifndef AMOEBA_SETTINGS_TRAINING_SETTINGS_H_
#define AMOEBA_SETTINGS_TRAINING_SETTINGS_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "proto/controller.pb.h"
#include "data/data_options.h"
#include "settings/data_dirs.h"
#include "trainer/network_options.h"
#include "trainer/train_options.h"

namespace amoeba {

// The data the settings ask for (dataset, validation split, training cap),
// from the dataset's folder in `dirs` (none: its default folder).
// InvalidArgument for an unknown dataset.
absl::StatusOr<DataOptions> DataOptionsFromSettings(
    const v1::TrainingSettings& settings, const DataDirs& dirs);

// A text naming those data options: equal keys, equal data.
std::string DataKey(const DataOptions& data);

// The key a task's checkpoints carry (TrainOptions::checkpoint_key): its
// search, child, genotype and every training setting. Equal for every
// attempt of the task, on any worker; different for any other job.
std::string CheckpointKey(const v1::Task& task);

// N and F from the settings, the stem, aux head, drop path (and its
// schedule) and dropout from its recipe; image shape and classes from the
// data.
NetworkOptions NetworkOptionsFromSettings(const v1::TrainingSettings& settings,
                                          const ImageShape& input);

// Epochs, batch size, learning rate, weight decay, seed (0 means 1), and
// the recipe (unset fields: settings/recipes.h's defaults): optimizer,
// schedule, warm-up (capped at the epochs), smoothing, clipping, aux loss
// weight, weight average, the dataset's augmentation (or none) with
// cutout, and device.precision (the rest of `device` is the caller's: the
// worker's or `amoeba train`'s flags).
TrainOptions TrainOptionsFromSettings(const v1::TrainingSettings& settings,
                                      DatasetKind kind);

// OK when the settings train on any worker that has the data: the names
// (dataset, optimizer, schedule, augmentation, stem, drop-path schedule,
// precision) are known and the
// options they map to pass ValidateTrainOptions and ValidateNetworkOptions
// for the dataset's images (a folder's at --image_size). InvalidArgument
// "training settings: ..." naming the setting otherwise. The controller
// checks every search and final training with it at create time;
// `amoeba train` checks its flags with it.
absl::Status ValidateTrainingSettings(const v1::TrainingSettings& settings);

}  // namespace amoeba

#endif  // AMOEBA_SETTINGS_TRAINING_SETTINGS_H_
