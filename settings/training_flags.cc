#include "settings/training_flags.h"

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

namespace amoeba {
namespace {

constexpr const char* kTrainingFlags[] = {
    "dataset",           "N",     "F",
    "epochs",            "batch_size", "lr",
    "weight_decay",      "validation_images",
    "max_train_images",  "training_seed"};

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
  return t;
}

v1::TrainingSettings TrainingSettingsFromFlags() {
  v1::TrainingSettings t;
  t.set_dataset(FLAGS_dataset);
  t.set_cells_per_stack(FLAGS_N);
  t.set_filters(FLAGS_F);
  t.set_epochs(FLAGS_epochs);
  t.set_batch_size(FLAGS_batch_size);
  t.set_learning_rate(FLAGS_lr);
  t.set_weight_decay(FLAGS_weight_decay);
  t.set_validation_images(FLAGS_validation_images);
  t.set_max_train_images(FLAGS_max_train_images);
  t.set_seed(FLAGS_training_seed);
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
         "  --training_seed=N        (default 1)\n";
}

}  // namespace amoeba
