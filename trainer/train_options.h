// How a network is trained: epochs, batch, optimizer, learning-rate
// schedule, losses, augmentation, device, checkpoints. Plain values without
// LibTorch (see data/data_options.h for why); trainer/train.h trains with
// them.
#ifndef AMOEBA_TRAINER_TRAIN_OPTIONS_H_
#define AMOEBA_TRAINER_TRAIN_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "data/data_options.h"
#include "trainer/device_options.h"

namespace amoeba {

enum class OptimizerKind {
  kMomentum,  // SGD with momentum (the search's)
  kRmsProp,   // TensorFlow 1's RMSProp (the released ImageNet code's)
};

enum class LrSchedule {
  kCosine,       // from the peak to 0 over training (the search's)
  // lr * lr_decay ^ floor(step / (lr_decay_epochs steps)), never below
  // 1e-4 lr (the released ImageNet code's build_learning_rate).
  kExponential,
};

struct TrainOptions {
  int epochs = 25;
  int batch_size = 128;
  double learning_rate = 0.024;  // peak of the schedule
  LrSchedule schedule = LrSchedule::kCosine;
  double lr_decay = 0.97;        // exponential schedule
  double lr_decay_epochs = 2.4;  // exponential schedule
  OptimizerKind optimizer = OptimizerKind::kMomentum;
  double momentum = 0.9;
  double rmsprop_decay = 0.9;
  double rmsprop_epsilon = 1.0;
  double weight_decay = 5e-4;
  double warmup_epochs = 0;  // linear warm-up to the peak
  double label_smoothing = 0;
  double grad_clip_norm = 0;  // 0 = off
  double aux_weight = 0.4;    // weight of the auxiliary head's loss
  // > 0: an exponential moving average of the weights (parameters and batch
  // norm statistics) is kept with this decay (EmaDecayAt), every
  // validation and the final result evaluate it, and the trained network
  // ends holding it (the released ImageNet code evaluates its EMA weights,
  // moving_average_decay=0.9999). 0: off.
  double ema_decay = 0;
  AugmentOptions augment;
  // Progress callback every this many steps as well as after every epoch;
  // 0 = after epochs only.
  int progress_every_steps = 0;
  // Evaluate the validation set after every epoch (the progress then carries
  // it); otherwise only at the end.
  bool validate_every_epoch = true;
  // 0: the training batch size on CPU (large batches run several times
  // slower there: 64 -> ~1000 img/s, 512 -> ~220 img/s for N=1 F=8), 1024
  // on CUDA.
  int eval_batch_size = 0;
  uint64_t seed = 1;  // weights, data order, augmentation, drop path
  DeviceOptions device;
  // Checkpoints: after every this many epochs (not after the last; 0 =
  // never) the whole training state goes to
  // TrainCallbacks::save_checkpoint.
  int checkpoint_every = 0;
  // Names the job in every checkpoint; a resume state of another key is
  // refused.
  std::string checkpoint_key;
};

absl::Status ValidateTrainOptions(const TrainOptions& options);

// The decay of the weights' moving average at its `updates`-th update
// (1-based): min(decay, (1 + updates) / (10 + updates)), as TensorFlow's
// ExponentialMovingAverage with num_updates = the global step, so that the
// average forgets its random initial weights early in training.
double EmaDecayAt(double decay, int64_t updates);

// The released ImageNet code's training recipe (tensorflow/tpu
// models/official/amoeba_net, amoeba_net_model.py imagenet_hparams and
// RMSPROP_* constants) on top of `options`: RMSProp (decay 0.9, momentum
// 0.9, epsilon 1.0), learning rate 0.015 (for batch 32) decayed by 0.97
// every 2.4 epochs after a 3-epoch warm-up (capped at the epochs trained),
// label smoothing 0.1, gradient clipping at global norm 10, weight decay
// 4e-5, aux loss weight 0.4. (Its dropout 0.5 and drop path 0.3 are network
// options.)
TrainOptions ImageNetRecipe(TrainOptions options);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_TRAIN_OPTIONS_H_
