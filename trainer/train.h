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
#include "trainer/train_options.h"

namespace amoeba {


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
  // Weight inheritance (TrainGenotype's `parent`): whether the network
  // started from the parent's weights, how many of its trainable scalars
  // came from them (aux head included), of how many; or why it started
  // from fresh weights although a parent was given.
  bool inherited = false;
  int64_t inherited_parameters = 0;
  int64_t inheritable_parameters = 0;
  std::string inheritance_error;
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
//
// With a `parent` (a trained model of the genotype this one was mutated
// from), the fresh network first takes what it can of the parent's weights
// (weight_inheritance.h); a parent of another network shape leaves it
// fresh (result.inheritance_error says so). Deterministic: the same seeds
// and parent give the same run. A resumed run restores its state over the
// inherited weights, so resuming stays exact.
absl::StatusOr<TrainedModel> TrainGenotype(
    const Genotype& genotype, const NetworkOptions& network_options,
    const PreparedData& data, const TrainOptions& options,
    const TrainCallbacks& callbacks = {}, std::string_view resume_state = {},
    const TrainedModel* parent = nullptr);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_TRAIN_H_
