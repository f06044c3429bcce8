// The training settings of a search (v1.TrainingSettings), defined once:
// their defaults, and the command-line flags that set them, shared by
// `amoeba-controller` (a first search), `amoeba search create` and
// `amoeba train`.
//
//   --dataset --N --F --epochs --batch_size --lr --weight_decay
//   --validation_images --max_train_images --training_seed
// and the recipe (v1.TrainingRecipe, settings/recipes.h):
//   --recipe=NAME (a preset) --optimizer --momentum --rmsprop_decay
//   --rmsprop_epsilon --lr_schedule --lr_decay --lr_decay_epochs
//   --warmup_epochs --label_smoothing --grad_clip --aux_head --aux_weight
//   --drop_path --drop_path_schedule --ema_decay --precision --dropout
//   --augment --cutout --stem --image_size
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
DECLARE_string(recipe);
DECLARE_string(optimizer);
DECLARE_double(momentum);
DECLARE_double(rmsprop_decay);
DECLARE_double(rmsprop_epsilon);
DECLARE_string(lr_schedule);
DECLARE_double(lr_decay);
DECLARE_double(lr_decay_epochs);
DECLARE_double(warmup_epochs);
DECLARE_double(label_smoothing);
DECLARE_double(grad_clip);
DECLARE_bool(aux_head);
DECLARE_double(aux_weight);
DECLARE_double(drop_path);
DECLARE_string(drop_path_schedule);
DECLARE_double(ema_decay);
DECLARE_string(precision);
DECLARE_double(dropout);
DECLARE_string(augment);
DECLARE_int32(cutout);
DECLARE_string(stem);
DECLARE_int32(image_size);

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

// Every field set to its default, the recipe's too.
v1::TrainingSettings DefaultTrainingSettings();

// Only what the command line asks for: the fields of the --recipe preset,
// then every flag given explicitly (it wins over the preset). Unset fields
// are for the receiver to fill (a controller: its defaults; a final
// training: the source search's settings).
v1::TrainingSettings GivenTrainingSettings();

// The settings the flags say: DefaultTrainingSettings() with
// GivenTrainingSettings() on top.
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
