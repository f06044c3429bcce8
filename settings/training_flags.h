// The training settings of a search (v1.TrainingSettings), defined once:
// their defaults, and the command-line flags that set them, shared by
// `amoeba-controller` (a first search), `amoeba search create` and
// `amoeba train`.
//
//   --dataset --N --F --epochs --batch_size --lr --weight_decay
//   --validation_images --max_train_images --training_seed
#ifndef AMOEBA_SETTINGS_TRAINING_FLAGS_H_
#define AMOEBA_SETTINGS_TRAINING_FLAGS_H_

#include <cstdint>
#include <string>

#include "gflags/gflags.h"
#include "proto/controller.pb.h"

DECLARE_string(dataset);
DECLARE_int32(N);
DECLARE_int32(F);
DECLARE_int32(epochs);
DECLARE_int32(batch_size);
DECLARE_double(lr);
DECLARE_double(weight_decay);
DECLARE_int64(validation_images);
DECLARE_int64(max_train_images);
DECLARE_uint64(training_seed);

namespace amoeba {

// The defaults: a small search-phase child on Fashion-MNIST (N=1, F=8, one
// epoch of at most 2,000 images, batch 64, peak learning rate 0.05, weight
// decay 5e-4, 1,000 validation images, seed 1).
inline constexpr char kDefaultDataset[] = "fashion_mnist";
inline constexpr int kDefaultCellsPerStack = 1;
inline constexpr int kDefaultFilters = 8;
inline constexpr int kDefaultEpochs = 1;
inline constexpr int kDefaultBatchSize = 64;
inline constexpr double kDefaultLearningRate = 0.05;
inline constexpr double kDefaultWeightDecay = 5e-4;
inline constexpr int64_t kDefaultValidationImages = 1000;
inline constexpr int64_t kDefaultMaxTrainImages = 2000;
inline constexpr uint64_t kDefaultTrainingSeed = 1;

// Every field set to its default.
v1::TrainingSettings DefaultTrainingSettings();

// The settings the flags say (defaults where not given).
v1::TrainingSettings TrainingSettingsFromFlags();

// Whether the flag `name` was given on the command line (not left at its
// default); false for an unknown name.
bool FlagGiven(const char* name);

// Whether any of the flags was given on the command line.
bool TrainingFlagsGiven();

// The flags, for the help of the commands that use them.
std::string TrainingFlagsHelp();

}  // namespace amoeba

#endif  // AMOEBA_SETTINGS_TRAINING_FLAGS_H_
