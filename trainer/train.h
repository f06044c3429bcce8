// Training and evaluation of a network: SGD with momentum and weight decay,
// cosine learning rate (optional warm-up), label smoothing, gradient
// clipping, auxiliary-head loss, ScheduledDropPath; fitness = accuracy on the
// held-out validation set.
//
// Errors (never exceptions: LibTorch's are caught here and converted):
//   InvalidArgument    bad options
//   Aborted            training diverged (NaN/inf loss); the message says
//                      when. A failed evaluation, not a crash.
//   Cancelled          the cancellation check answered true
//   ResourceExhausted  out of memory (CUDA or host)
//   Internal           any other LibTorch error, with its message
//
// Thread safety: one training per Network at a time. Different networks may
// train concurrently (LibTorch's thread pool is shared per process).
#ifndef AMOEBA_TRAINER_TRAIN_H_
#define AMOEBA_TRAINER_TRAIN_H_

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "genotype/genotype.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "trainer/device.h"
#include "trainer/network.h"

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

// The released ImageNet code's training recipe (tensorflow/tpu
// models/official/amoeba_net, amoeba_net_model.py imagenet_hparams and
// RMSPROP_* constants) on top of `options`: RMSProp (decay 0.9, momentum
// 0.9, epsilon 1.0), learning rate 0.015 (for batch 32) decayed by 0.97
// every 2.4 epochs after a 3-epoch warm-up (capped at the epochs trained),
// label smoothing 0.1, gradient clipping at global norm 10, weight decay
// 4e-5, aux loss weight 0.4. (Its dropout 0.5 and drop path 0.3 are network
// options.)
TrainOptions ImageNetRecipe(TrainOptions options);

// The training and validation sets resident on the training device.
struct PreparedData {
  ImageDataset train;
  ImageDataset validation;
  Normalizer normalizer;  // statistics of the training set
  torch::Device device = torch::kCPU;
};

// Moves (copies) the split's train and validation sets to `device` once;
// later trainings reuse them.
absl::StatusOr<PreparedData> PrepareData(const DataSplit& split,
                                         const torch::Device& device);

struct TrainProgress {
  int epoch = 0;  // 1-based epoch in progress or just finished
  int epochs = 0;
  int64_t step = 0;  // steps done in total
  int64_t total_steps = 0;
  bool end_of_epoch = false;
  double learning_rate = 0;
  double train_loss = 0;            // mean since the last report
  double train_accuracy = 0;        // mean since the last report
  double validation_accuracy = -1;  // < 0 when not evaluated this time
  double images_per_second = 0;     // training throughput since the start
  // Time spent in training steps since the start, without validation passes.
  double train_seconds = 0;
  double elapsed_seconds = 0;  // everything since the start
};

struct TrainCallbacks {
  std::function<void(const TrainProgress&)> on_progress;
  // Asked between steps; true stops training with Cancelled.
  std::function<bool()> should_cancel;
  // Early stopping: asked after on_progress at the end of each epoch that
  // evaluated the validation set. True ends training there, successfully:
  // the result's validation_accuracy is that epoch's, stopped_epoch is set.
  std::function<bool(const TrainProgress&)> stop_early;
  // Receives the serialized TrainingState (training_state.h) at the end of
  // every TrainOptions::checkpoint_every-th epoch; training goes on
  // whatever it does with it.
  std::function<void(int epoch, const std::string& state)> save_checkpoint;
};

struct TrainResult {
  double validation_accuracy = 0;  // the fitness
  double final_train_loss = 0;
  double final_train_accuracy = 0;
  int64_t parameters = 0;
  int64_t multiply_adds = 0;
  double train_seconds = 0;  // training steps only
  double total_seconds = 0;  // including evaluations
  double images_per_second = 0;
  int64_t steps = 0;
  // Steps replayed from a CUDA graph (DeviceOptions::cuda_graphs); the
  // others ran eagerly (the first few, batches of another size).
  int64_t graph_steps = 0;
  int stopped_epoch = 0;  // stop_early ended training here; 0: every epoch
  // Checkpoints that could not be serialised (training went on), and the
  // last such error, for the caller to log.
  int checkpoints_failed = 0;
  std::string checkpoint_error;
};

// Trains `network` (already on data.device) and evaluates it on the
// validation set.
//
// With a `resume_state` (a save_checkpoint state) training continues after
// the epoch it was saved at, and ends with exactly the weights and
// accuracy of a run that was never interrupted (on CPU; on CUDA as far as
// its kernels are deterministic). FailedPrecondition, before any step and
// with the network unchanged, when the state is not of this run (another
// checkpoint_key, network, optimizer or epoch count, or damaged): the
// caller starts over without it.
absl::StatusOr<TrainResult> Train(Network& network, const PreparedData& data,
                                  const TrainOptions& options,
                                  const TrainCallbacks& callbacks = {},
                                  std::string_view resume_state = {});

// Fraction of `data` (on `device` or moved there batch by batch) that the
// network classifies correctly, in eval mode without gradients.
// batch_size 0: 64 on CPU, 1024 on CUDA.
absl::StatusOr<double> EvaluateAccuracy(Network& network,
                                        const ImageDataset& data,
                                        const Normalizer& normalizer,
                                        const torch::Device& device,
                                        int batch_size = 0,
                                        Precision precision = Precision::kAuto);

// A trained network with what is needed to rebuild and use it.
struct TrainedModel {
  Genotype genotype;
  NetworkOptions network_options;
  Normalizer normalizer;
  Network network{nullptr};
  TrainResult result;
};

// Seeds, builds the network for `genotype` on data.device, trains and
// evaluates it: one evaluation of the search.
absl::StatusOr<TrainedModel> TrainGenotype(
    const Genotype& genotype, const NetworkOptions& network_options,
    const PreparedData& data, const TrainOptions& options,
    const TrainCallbacks& callbacks = {}, std::string_view resume_state = {});

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_TRAIN_H_
