#include "settings/training_flags.h"

#include <iostream>

#include "settings/recipes.h"

DEFINE_string(dataset, amoeba::kDefaultDataset,
              "fashion_mnist, cifar10 or folder (amoeba train: photos in "
              "DIR/train/CLASS, DIR/val/CLASS)");
DEFINE_int32(N, amoeba::kDefaultCellsPerStack,
             "normal cells per stack (the paper's N)");
DEFINE_int32(F, amoeba::kDefaultFilters,
             "filters of the first stack (the paper's F)");
DEFINE_int32(epochs, amoeba::kDefaultEpochs, "training epochs per child");
DEFINE_int32(batch_size, amoeba::kDefaultBatchSize, "batch size");
DEFINE_double(lr, amoeba::kDefaultLearningRate,
              "peak learning rate of the cosine schedule");
DEFINE_double(weight_decay, amoeba::kDefaultWeightDecay, "weight decay");
DEFINE_int64(validation_images, amoeba::kDefaultValidationImages,
             "training images held out for the fitness");
DEFINE_int64(max_train_images, amoeba::kDefaultMaxTrainImages,
             "training images per child (0 = all)");
DEFINE_uint64(training_seed, amoeba::kDefaultTrainingSeed,
              "seed of the training (weights, data order, augmentation)");

// The recipe (v1.TrainingRecipe; defaults in settings/recipes.h).
DEFINE_string(recipe, "",
              "a named preset of the training settings (`amoeba recipe "
              "list`); flags given explicitly win over it");
DEFINE_string(optimizer, "momentum", "momentum (SGD) or rmsprop");
DEFINE_double(momentum, 0.9, "momentum of SGD or RMSProp");
DEFINE_double(rmsprop_decay, 0.9, "RMSProp: decay of the mean square");
DEFINE_double(rmsprop_epsilon, 1.0, "RMSProp: epsilon (inside the root)");
DEFINE_string(lr_schedule, "cosine",
              "cosine, or exponential (x lr_decay every lr_decay_epochs, "
              "staircase)");
DEFINE_double(lr_decay, 0.97, "exponential schedule: the factor");
DEFINE_double(lr_decay_epochs, 2.4, "exponential schedule: epochs per step");
DEFINE_double(warmup_epochs, 0,
              "linear learning-rate warm-up, in epochs (capped at --epochs)");
DEFINE_double(label_smoothing, 0, "label smoothing");
DEFINE_double(grad_clip, 0, "gradient clipping by global norm (0 = off)");
DEFINE_bool(aux_head, false, "auxiliary head at 2/3 depth (final training)");
DEFINE_double(aux_weight, 0.4, "loss weight of the auxiliary head");
DEFINE_double(drop_path, 0,
              "ScheduledDropPath: the largest *drop* probability (final "
              "training; the released code keeps 0.7, i.e. 0.3 here)");
DEFINE_string(drop_path_schedule, "time-and-depth",
              "how drop path grows: time-and-depth ((k+1)/K of it in cell "
              "k of K, rising over training), time (every cell alike, the "
              "released AmoebaNet code's) or depth");
DEFINE_double(ema_decay, 0,
              "moving average of the weights, evaluated and kept (the "
              "released ImageNet code: 0.9999); 0 = off");
DEFINE_string(precision, "auto",
              "auto (fp32 on CPU, bf16 autocast on CUDA), fp32, bf16 or "
              "fp16 (CUDA; CPU trains fp32)");
DEFINE_double(dropout, 0, "dropout before the classifier");
DEFINE_string(augment, "default",
              "default (CIFAR-10: crop 4 + flip; Fashion-MNIST: crop 2; "
              "folders: random-resized crop + flip) or none");
DEFINE_int32(cutout, 0, "cutout square side (0 = off)");
DEFINE_string(stem, "cifar",
              "cifar (3x3 conv, as the search trains) or imagenet (the "
              "released ImageNet network: stride-2 conv and two reduction "
              "cells; aux head scaled by 0.4)");
DEFINE_int32(image_size, 64,
             "--dataset=folder: the stored and trained image size");

namespace {

bool ValidateRecipeName(const char* flag, const std::string& value) {
  if (value.empty() || amoeba::FindRecipePreset(value) != nullptr) return true;
  std::cerr << "--" << flag << ": unknown recipe '" << value
            << "'; known: " << amoeba::RecipePresetNames() << "\n";
  return false;
}
const bool recipe_validator =
    gflags::RegisterFlagValidator(&FLAGS_recipe, &ValidateRecipeName);

}  // namespace

namespace amoeba {
namespace {

constexpr const char* kTrainingFlags[] = {
    "dataset",         "N",
    "F",               "epochs",
    "batch_size",      "lr",
    "weight_decay",    "validation_images",
    "max_train_images", "training_seed",
    "recipe",          "optimizer",
    "momentum",        "rmsprop_decay",
    "rmsprop_epsilon", "lr_schedule",
    "lr_decay",        "lr_decay_epochs",
    "warmup_epochs",   "label_smoothing",
    "grad_clip",       "aux_head",
    "aux_weight",      "drop_path",
    "drop_path_schedule", "ema_decay",
    "precision",       "dropout",
    "augment",         "cutout",
    "stem",            "image_size"};

}  // namespace

v1::TrainingSettings DefaultTrainingSettings() {
  v1::TrainingSettings t;
  t.set_dataset(kDefaultDataset);
  t.set_cells_per_stack(kDefaultCellsPerStack);
  t.set_filters(kDefaultFilters);
  t.set_epochs(kDefaultEpochs);
  t.set_batch_size(kDefaultBatchSize);
  t.set_learning_rate(kDefaultLearningRate);
  t.set_weight_decay(kDefaultWeightDecay);
  t.set_validation_images(kDefaultValidationImages);
  t.set_max_train_images(kDefaultMaxTrainImages);
  t.set_seed(kDefaultTrainingSeed);
  *t.mutable_recipe() = DefaultRecipe();
  return t;
}

v1::TrainingSettings GivenTrainingSettings() {
  v1::TrainingSettings t;
  if (const RecipePreset* preset = FindRecipePreset(FLAGS_recipe)) {
    t = preset->settings;
    t.mutable_recipe()->set_name(preset->name);
  }
  if (FlagGiven("dataset")) t.set_dataset(FLAGS_dataset);
  if (FlagGiven("N")) t.set_cells_per_stack(FLAGS_N);
  if (FlagGiven("F")) t.set_filters(FLAGS_F);
  if (FlagGiven("epochs")) t.set_epochs(FLAGS_epochs);
  if (FlagGiven("batch_size")) t.set_batch_size(FLAGS_batch_size);
  if (FlagGiven("lr")) t.set_learning_rate(FLAGS_lr);
  if (FlagGiven("weight_decay")) t.set_weight_decay(FLAGS_weight_decay);
  if (FlagGiven("validation_images")) {
    t.set_validation_images(FLAGS_validation_images);
  }
  if (FlagGiven("max_train_images")) {
    t.set_max_train_images(FLAGS_max_train_images);
  }
  if (FlagGiven("training_seed")) t.set_seed(FLAGS_training_seed);
  v1::TrainingRecipe& r = *t.mutable_recipe();
  if (FlagGiven("optimizer")) r.set_optimizer(FLAGS_optimizer);
  if (FlagGiven("momentum")) r.set_momentum(FLAGS_momentum);
  if (FlagGiven("rmsprop_decay")) r.set_rmsprop_decay(FLAGS_rmsprop_decay);
  if (FlagGiven("rmsprop_epsilon")) {
    r.set_rmsprop_epsilon(FLAGS_rmsprop_epsilon);
  }
  if (FlagGiven("lr_schedule")) r.set_schedule(FLAGS_lr_schedule);
  if (FlagGiven("lr_decay")) r.set_lr_decay(FLAGS_lr_decay);
  if (FlagGiven("lr_decay_epochs")) r.set_lr_decay_epochs(FLAGS_lr_decay_epochs);
  if (FlagGiven("warmup_epochs")) r.set_warmup_epochs(FLAGS_warmup_epochs);
  if (FlagGiven("label_smoothing")) {
    r.set_label_smoothing(FLAGS_label_smoothing);
  }
  if (FlagGiven("grad_clip")) r.set_grad_clip_norm(FLAGS_grad_clip);
  if (FlagGiven("aux_head")) r.set_aux_head(FLAGS_aux_head);
  if (FlagGiven("aux_weight")) r.set_aux_weight(FLAGS_aux_weight);
  if (FlagGiven("drop_path")) r.set_drop_path(FLAGS_drop_path);
  if (FlagGiven("drop_path_schedule")) {
    r.set_drop_path_schedule(FLAGS_drop_path_schedule);
  }
  if (FlagGiven("ema_decay")) r.set_ema_decay(FLAGS_ema_decay);
  if (FlagGiven("precision")) r.set_precision(FLAGS_precision);
  if (FlagGiven("dropout")) r.set_dropout(FLAGS_dropout);
  if (FlagGiven("augment")) r.set_augment(FLAGS_augment);
  if (FlagGiven("cutout")) r.set_cutout(FLAGS_cutout);
  if (FlagGiven("stem")) r.set_stem(FLAGS_stem);
  if (FlagGiven("image_size")) r.set_image_size(FLAGS_image_size);
  if (r.ByteSizeLong() == 0) t.clear_recipe();
  return t;
}

v1::TrainingSettings TrainingSettingsFromFlags() {
  v1::TrainingSettings t = DefaultTrainingSettings();
  t.MergeFrom(GivenTrainingSettings());
  return t;
}

bool FlagGiven(const char* name) {
  gflags::CommandLineFlagInfo info;
  return gflags::GetCommandLineFlagInfo(name, &info) && !info.is_default;
}

bool TrainingFlagsGiven() {
  for (const char* name : kTrainingFlags) {
    if (FlagGiven(name)) return true;
  }
  return false;
}

std::string TrainingFlagsHelp() {
  return "  --dataset=NAME           fashion_mnist (default) or cifar10\n"
         "  --N=N --F=F              cells per stack, filters (default 1, 8)\n"
         "  --epochs=N               training epochs per child (default 1)\n"
         "  --batch_size=N           (default 64)\n"
         "  --lr=X                   peak learning rate (default 0.05)\n"
         "  --weight_decay=X         (default 5e-4)\n"
         "  --validation_images=N    held out for the fitness (default 1000)\n"
         "  --max_train_images=N     training images (default 2000; 0 = all)\n"
         "  --training_seed=N        (default 1)\n"
         "  --recipe=NAME            a preset of these and the recipe's "
         "flags:\n"
         "                           search, paper-search, cifar-final, "
         "imagenet,\n"
         "                           imagenet-final (`amoeba recipe show "
         "NAME`)\n"
         "  recipe: --optimizer --momentum --rmsprop_decay --rmsprop_epsilon\n"
         "          --lr_schedule --lr_decay --lr_decay_epochs --warmup_epochs\n"
         "          --label_smoothing --grad_clip --aux_head --aux_weight\n"
         "          --drop_path --drop_path_schedule --ema_decay --precision\n"
         "          --dropout --augment --cutout --stem --image_size\n";
}

}  // namespace amoeba
