#include "trainer/train_options.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/training_limits.h"

namespace amoeba {

absl::Status ValidateTrainOptions(const TrainOptions& o) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("training options: ", what));
  };
  // The bounds the controller checks a search's settings with. Every
  // comparison is written so that NaN fails it.
  for (const absl::Status& check :
       {CheckEpochs(o.epochs), CheckBatchSize(o.batch_size),
        CheckLearningRate(o.learning_rate), CheckWeightDecay(o.weight_decay)}) {
    if (!check.ok()) return bad(std::string(check.message()));
  }
  if (!(o.momentum >= 0 && o.momentum < 1)) {
    return bad(
        absl::StrFormat("momentum must be in [0, 1), got %g", o.momentum));
  }
  if (!(o.rmsprop_decay >= 0 && o.rmsprop_decay < 1) ||
      !(o.rmsprop_epsilon > 0 && std::isfinite(o.rmsprop_epsilon))) {
    return bad(absl::StrFormat(
        "RMSProp decay must be in [0, 1) and epsilon > 0, got %g and %g",
        o.rmsprop_decay, o.rmsprop_epsilon));
  }
  if (!(o.lr_decay > 0 && o.lr_decay <= 1) ||
      !(o.lr_decay_epochs > 0 && std::isfinite(o.lr_decay_epochs))) {
    return bad(absl::StrFormat(
        "learning-rate decay must be in (0, 1] every > 0 epochs, got %g "
        "every %g",
        o.lr_decay, o.lr_decay_epochs));
  }
  if (!(o.warmup_epochs >= 0 && o.warmup_epochs <= o.epochs)) {
    return bad(absl::StrFormat("warm-up epochs must be in [0, epochs], got %g",
                               o.warmup_epochs));
  }
  if (!(o.label_smoothing >= 0 && o.label_smoothing < 1)) {
    return bad(absl::StrFormat("label smoothing must be in [0, 1), got %g",
                               o.label_smoothing));
  }
  if (!(o.grad_clip_norm >= 0 && std::isfinite(o.grad_clip_norm))) {
    return bad(absl::StrFormat("gradient clip norm must be >= 0, got %g",
                               o.grad_clip_norm));
  }
  if (!(o.aux_weight >= 0 && o.aux_weight <= 10)) {
    return bad(absl::StrFormat("aux loss weight must be in [0, 10], got %g",
                               o.aux_weight));
  }
  if (!(o.ema_decay >= 0 && o.ema_decay < 1)) {
    return bad(absl::StrFormat(
        "weight moving-average decay must be in [0, 1), got %g", o.ema_decay));
  }
  if (o.augment.crop_padding < 0 || o.augment.crop_padding > 64 ||
      o.augment.cutout < 0 || o.augment.cutout > 1024) {
    return bad(
        "augmentation: crop padding must be in 0..64, cutout in 0..1024");
  }
  if (o.eval_batch_size < 0 || o.progress_every_steps < 0) {
    return bad("eval batch size and progress steps must be >= 0");
  }
  return absl::OkStatus();
}

double EmaDecayAt(double decay, int64_t updates) {
  const double u = static_cast<double>(updates);
  return std::min(decay, (1.0 + u) / (10.0 + u));
}

TrainOptions ImageNetRecipe(TrainOptions o) {
  o.optimizer = OptimizerKind::kRmsProp;  // optimizer='rmsprop'
  o.rmsprop_decay = 0.9;                  // RMSPROP_DECAY
  o.momentum = 0.9;                       // RMSPROP_MOMENTUM
  o.rmsprop_epsilon = 1.0;                // RMSPROP_EPSILON
  o.learning_rate = 0.015;                // lr (train_batch_size=32)
  o.schedule = LrSchedule::kExponential;  // lr_decay_method='exponential'
  o.lr_decay = 0.97;                      // lr_decay_value
  o.lr_decay_epochs = 2.4;                // lr_num_epochs_per_decay
  o.warmup_epochs = std::min<double>(3.0, o.epochs);  // lr_warmup_epochs
  o.label_smoothing = 0.1;                // label_smoothing
  o.grad_clip_norm = 10.0;  // gradient_clipping_by_global_norm
  o.weight_decay = 4e-5;    // weight_decay
  o.aux_weight = 0.4;       // model_builder._build_loss weights=0.4
  o.ema_decay = 0.9999;     // moving_average_decay
  return o;
}

}  // namespace amoeba
