#include "trainer/train.h"


#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "common/training_limits.h"
#include "trainer/cpu_allocator.h"
#include "trainer/generator.h"
#include "trainer/training_state.h"
#include "trainer/momentum_sgd.h"
#include "trainer/optimizer.h"
#include "trainer/rmsprop.h"
#include "trainer/step_graph.h"
#include "trainer/torch_util.h"
#include "trainer/weight_inheritance.h"
#include "trainer/train_parts.h"
#include "trainer/weight_average.h"

namespace amoeba {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double LearningRateAt(const TrainOptions& o, int64_t step, int64_t total,
                      int64_t steps_per_epoch) {
  const int64_t warmup = static_cast<int64_t>(
      o.warmup_epochs * static_cast<double>(steps_per_epoch));
  if (step < warmup) {
    return o.learning_rate * static_cast<double>(step + 1) / warmup;
  }
  if (o.schedule == LrSchedule::kExponential) {
    // tf.train.exponential_decay(staircase=True) on the global step, then
    // tf.maximum(lr, 0.0001 * lr) as amoeba_net_model.py does.
    const double decay_steps =
        std::max(1.0, o.lr_decay_epochs * static_cast<double>(steps_per_epoch));
    const double lr =
        o.learning_rate *
        std::pow(o.lr_decay, std::floor(static_cast<double>(step) / decay_steps));
    return std::max(lr, 1e-4 * o.learning_rate);
  }
  const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
  const double t = static_cast<double>(step - warmup) / span;
  return 0.5 * o.learning_rate * (1.0 + std::cos(M_PI * t));
}

std::unique_ptr<Optimizer> MakeOptimizer(const TrainOptions& o,
                                         std::vector<torch::Tensor> params) {
  if (o.optimizer == OptimizerKind::kRmsProp) {
    return std::make_unique<TfRmsProp>(std::move(params), o.rmsprop_decay,
                                       o.momentum, o.rmsprop_epsilon,
                                       o.weight_decay);
  }
  return std::make_unique<MomentumSgd>(std::move(params), o.momentum,
                                       o.weight_decay);
}

// A permutation of [0, n) from amoeba's RNG, as a tensor on `device`.
torch::Tensor Permutation(int64_t n, Rng& rng, const torch::Device& device) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(order[i], order[rng.Uniform(i + 1)]);
  }
  return torch::tensor(order, torch::kInt64).to(device);
}

// A uint8 CPU batch on `device`: through pinned memory on a GPU, so that
// the copy is queued instead of waiting for the GPU's queued work.
torch::Tensor ToDevice(const torch::Tensor& t, const torch::Device& device) {
  if (!device.is_cuda()) return t.to(device);
  return t.pin_memory().to(device, /*non_blocking=*/true);
}

absl::StatusOr<double> EvaluateImpl(Network& network, const ImageDataset& data,
                                    const Normalizer& normalizer,
                                    const torch::Device& device, int batch_size,
                                    Precision precision, bool channels_last) {
  if (data.size() == 0) {
    return absl::InvalidArgumentError("cannot evaluate on an empty dataset");
  }
  if (batch_size <= 0) batch_size = device.is_cuda() ? 1024 : 64;
  torch::NoGradGuard no_grad;
  network->eval();
  const Normalizer on_device = normalizer.OnDevice(device);
  torch::Tensor correct = torch::zeros(
      {}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  auto add = [&](const torch::Tensor& images, const torch::Tensor& labels) {
    torch::Tensor x = on_device.Apply(images);
    if (channels_last) x = ToChannelsLast(x);
    torch::Tensor logits;
    {
      AutocastScope autocast(precision, device);
      logits = network->forward(x).logits;
    }
    correct += logits.argmax(1).eq(labels).sum();
  };
  if (!data.streamed()) {
    for (int64_t start = 0; start < data.size(); start += batch_size) {
      const int64_t end = std::min(start + batch_size, data.size());
      add(data.images.slice(0, start, end).to(device),
          data.labels.slice(0, start, end).to(device));
    }
    return static_cast<double>(correct.item<int64_t>()) /
           static_cast<double>(data.size());
  }
  // Streamed: the files that decode are the evaluated set (each skipped
  // one was logged by name).
  std::unique_ptr<StreamedImages::Reader> reader =
      data.ReadInOrder(batch_size, /*training_view=*/false, 0);
  int64_t evaluated = 0;
  while (true) {
    absl::StatusOr<StreamedImages::Batch> batch = reader->Next();
    if (absl::IsOutOfRange(batch.status())) break;
    if (!batch.ok()) return batch.status();
    if (batch->images.size(0) == 0) continue;
    add(ToDevice(batch->images, device), ToDevice(batch->labels, device));
    evaluated += batch->images.size(0);
  }
  return static_cast<double>(correct.item<int64_t>()) /
         static_cast<double>(evaluated);
}

// A stream's training views are already cropped and flipped (on uint8,
// from the photo: data/image_views.h); the rest runs on the batch.
AugmentOptions AugmentOnDevice(AugmentOptions options,
                               const ImageDataset& train) {
  if (train.streamed()) {
    options.random_resized_crop = false;
    options.horizontal_flip = false;
  }
  return options;
}

absl::Status CheckTrainable(const PreparedData& data) {
  const int64_t n = data.train.size();
  if (n < 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("need at least 2 training images, got %d", n));
  }
  if (data.validation.size() == 0) {
    return absl::InvalidArgumentError("the validation set is empty");
  }
  return absl::OkStatus();
}

// Eager steps before a capture: the first creates the gradients and
// momentum buffers, the first few let cuDNN's autotuner settle.
constexpr int64_t kEagerStepsFirst = 3;

// Whether a run captures its step as a CUDA graph: asked for, on CUDA, in
// a build that can, and with a step that has nothing a graph cannot hold
// (fp16's skipped steps and gradient clipping read values back to the
// host; dropout and drop path draw from generators a graph does not
// advance).
bool WantsGraph(const TrainOptions& o, const NetworkOptions& network,
                const torch::Device& device, Precision precision) {
  return o.device.cuda_graphs && device.is_cuda() && StepGraph::Available() &&
         precision != Precision::kFloat16 && o.grad_clip_norm == 0 &&
         network.dropout == 0 && network.drop_path == 0;
}

// One training run: the schedule, the steps, the reports. Each part of a
// step has its own helper above; this holds what they share.
class TrainingRun {
 public:
  TrainingRun(Network& network, const PreparedData& data,
              const TrainOptions& o, const TrainCallbacks& callbacks,
              torch::Generator* training_generator, std::string_view resume)
      : network_(network),
        data_(data),
        o_(o),
        callbacks_(callbacks),
        device_(data.device),
        normalizer_(data.normalizer.OnDevice(data.device)),
        precision_(EffectivePrecision(o.device.precision, device_)),
        steps_per_epoch_((data.train.size() + o.batch_size - 1) /
                         o.batch_size),
        total_steps_(steps_per_epoch_ * o.epochs),
        // Reading the loss forces a device sync: every step on CPU (free),
        // every 50 steps on a GPU.
        check_every_(device_.is_cuda() ? 50 : 1),
        optimizer_(MakeOptimizer(o, network->parameters())),
        average_(o.ema_decay > 0
                     ? std::make_unique<WeightAverage>(network, o.ema_decay)
                     : nullptr),
        graph_wanted_(WantsGraph(o, network->options(), device_, precision_)),
        augment_(AugmentOnDevice(o.augment, data.train)),
        order_rng_(o.seed ^ 0x0da7a0dde5ULL),
        augment_generator_(at::detail::createCPUGenerator(o.seed)),
        scaler_(precision_),
        running_(device_),
        training_generator_(training_generator),
        resume_(resume) {}

  absl::StatusOr<TrainResult> Run() {
    result_.parameters = network_->num_parameters();
    result_.multiply_adds = network_->multiply_adds();
    start_ = Clock::now();
    int first_epoch = 1;
    if (!resume_.empty()) {
      ASSIGN_OR_RETURN(first_epoch, Restore(resume_));
    }
    for (int epoch = first_epoch;
         epoch <= o_.epochs && result_.stopped_epoch == 0; ++epoch) {
      RETURN_IF_ERROR(Epoch(epoch));
      if (o_.checkpoint_every > 0 && epoch % o_.checkpoint_every == 0 &&
          epoch < o_.epochs && result_.stopped_epoch == 0 &&
          callbacks_.save_checkpoint) {
        // A checkpoint that cannot be written loses only the work since
        // the last one; training goes on (train.h).
        absl::StatusOr<std::string> state = SaveState(epoch);
        if (state.ok()) {
          callbacks_.save_checkpoint(epoch, *state);
        } else {
          ++result_.checkpoints_failed;
          result_.checkpoint_error = absl::StrCat(
              "checkpoint after epoch ", epoch,
              " not serialised: ", state.status().message());
        }
      }
    }
    // The model a run hands over is the one its accuracy was measured on.
    if (average_ != nullptr) average_->CopyIntoNetwork();
    result_.steps = step_;
    result_.train_seconds = train_seconds_;
    result_.total_seconds = SecondsSince(start_);
    result_.images_per_second =
        train_seconds_ > 0 ? images_seen_ / train_seconds_ : 0;
    return result_;
  }

 private:
  // The state at the end of `epoch` (see training_state.h).
  absl::StatusOr<std::string> SaveState(int epoch) {
    TrainingState state;
    state.key = o_.checkpoint_key;
    state.epoch = epoch;
    state.epochs = o_.epochs;
    state.step = step_;
    state.images_seen = images_seen_;
    state.train_seconds = train_seconds_;
    state.validation_accuracy = result_.validation_accuracy;
    state.order_rng = order_rng_.state();
    state.augment_rng = augment_generator_.get_state();
    state.training_rng = training_generator_->get_state();
    state.optimizer = optimizer_->State();
    if (average_ != nullptr) state.average = average_->State();
    for (const auto& p : network_->named_parameters(/*recurse=*/true)) {
      state.network.emplace_back(p.key(), p.value());
    }
    for (const auto& b : network_->named_buffers(/*recurse=*/true)) {
      state.network.emplace_back(b.key(), b.value());
    }
    return SerializeTrainingState(state);
  }

  // Continues from a saved state; returns the first epoch still to train.
  // FailedPrecondition, changing nothing, when the state is not of this
  // run (another job, another network or optimizer, damaged): the caller
  // then starts over.
  absl::StatusOr<int> Restore(std::string_view bytes) {
    auto refuse = [](const std::string& why) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot resume from the checkpoint: ", why));
    };
    absl::StatusOr<TrainingState> parsed = ParseTrainingState(bytes);
    if (!parsed.ok()) return refuse(std::string(parsed.status().message()));
    TrainingState& state = *parsed;
    if (state.key != o_.checkpoint_key) {
      return refuse(absl::StrCat("it is of job '", state.key, "', not '",
                                 o_.checkpoint_key, "'"));
    }
    if (state.epochs != o_.epochs || state.epoch < 1 ||
        state.epoch >= o_.epochs ||
        state.step != state.epoch * steps_per_epoch_) {
      return refuse(absl::StrFormat(
          "it is at epoch %d of %d (step %d); this run has %d epochs of %d "
          "steps",
          state.epoch, state.epochs, state.step, o_.epochs, steps_per_epoch_));
    }
    // Every tensor is checked before any is copied.
    std::map<std::string, torch::Tensor> targets;
    for (const auto& p : network_->named_parameters(true)) {
      targets[p.key()] = p.value();
    }
    for (const auto& b : network_->named_buffers(true)) {
      targets[b.key()] = b.value();
    }
    if (state.network.size() != targets.size()) {
      return refuse(absl::StrFormat("it has %d network tensors, this network %d",
                                    state.network.size(), targets.size()));
    }
    for (const auto& [name, value] : state.network) {
      auto it = targets.find(name);
      if (it == targets.end() || it->second.sizes() != value.sizes() ||
          it->second.scalar_type() != value.scalar_type()) {
        return refuse(absl::StrCat("network tensor '", name,
                                   "' is missing or of another shape"));
      }
    }
    // Both generators' states are tried on scratch generators first, so
    // that a refusal leaves every part of this run as it was.
    try {
      at::detail::createCPUGenerator().set_state(state.augment_rng);
      at::detail::createCPUGenerator().set_state(state.training_rng);
    } catch (const std::exception& e) {
      return refuse(absl::StrCat("damaged generator state: ", e.what()));
    }
    if (!optimizer_->SetState(state.optimizer)) {
      return refuse("the optimizer state does not fit this optimizer");
    }
    // Both objects belong to this run only: a refusal after changing them
    // still leaves the network as it was.
    if (average_ != nullptr ? !average_->SetState(state.average)
                            : !state.average.empty()) {
      return refuse("its weight average does not fit this run's");
    }
    augment_generator_.set_state(state.augment_rng);
    training_generator_->set_state(state.training_rng);
    {
      torch::NoGradGuard no_grad;
      for (const auto& [name, value] : state.network) {
        targets[name].copy_(value);
      }
    }
    order_rng_ = Rng::FromState(state.order_rng);
    step_ = state.step;
    images_seen_ = state.images_seen;
    train_seconds_ = state.train_seconds;
    result_.validation_accuracy = state.validation_accuracy;
    return state.epoch + 1;
  }

  absl::Status Epoch(int epoch) {
    network_->train();
    const auto epoch_start = Clock::now();
    const int64_t n = data_.train.size();
    const int64_t batch = o_.batch_size;
    const torch::Tensor order = Permutation(
        n, order_rng_, data_.train.streamed() ? torch::kCPU : device_);
    std::unique_ptr<StreamedImages::Reader> reader;
    if (data_.train.streamed()) {
      // The epoch's files in the epoch's order; their crops are drawn from
      // the seed and the epoch alone, so a resumed run reads the same.
      ImageDataset shuffled = Subset(data_.train, order);
      reader = shuffled.ReadInOrder(
          static_cast<int>(batch), /*training_view=*/true,
          o_.seed * 0x100000001b3ULL + static_cast<uint64_t>(epoch));
    }
    for (int64_t s = 0; s < steps_per_epoch_; ++s) {
      if (callbacks_.should_cancel && callbacks_.should_cancel()) {
        return absl::CancelledError(absl::StrFormat(
            "training cancelled at epoch %d, step %d", epoch, step_));
      }
      torch::Tensor images, labels;
      if (reader != nullptr) {
        absl::StatusOr<StreamedImages::Batch> next = reader->Next();
        if (!next.ok()) return next.status();
        images = ToDevice(next->images, device_);
        labels = ToDevice(next->labels, device_);
      } else {
        const torch::Tensor idx =
            order.slice(0, s * batch, std::min((s + 1) * batch, n));
        images = data_.train.images.index_select(0, idx);
        labels = data_.train.labels.index_select(0, idx);
      }
      const double lr =
          LearningRateAt(o_, step_, total_steps_, steps_per_epoch_);
      // Batch norm needs two samples: a last batch of one image is left
      // out of this epoch (the shuffle puts another image there next
      // time), but the step still counts and the epoch still ends with its
      // report, so validation and early stopping see every epoch. So is a
      // streamed batch whose files did not decode.
      if (labels.size(0) >= 2) {
        RETURN_IF_ERROR(Step(images, labels, lr));
      } else {
        ++step_;
      }
      const bool end_of_epoch = s + 1 == steps_per_epoch_;
      const bool report =
          end_of_epoch || (o_.progress_every_steps > 0 &&
                           step_ % o_.progress_every_steps == 0);
      if (!report && step_ % check_every_ != 0) continue;
      RETURN_IF_ERROR(CheckDiverged(running_.LossSum(), epoch, step_, lr));
      if (!report) continue;
      RETURN_IF_ERROR(Report(epoch, end_of_epoch, epoch_start, lr));
    }
    if (reader != nullptr) {
      // The end of the pass: InvalidArgument when no file decoded.
      absl::StatusOr<StreamedImages::Batch> after = reader->Next();
      if (!after.ok() && !absl::IsOutOfRange(after.status())) {
        return after.status();
      }
    }
    return absl::OkStatus();
  }

  // The batch, then forward, loss, backward and the optimizer's step:
  // replayed from the CUDA graph when there is one for this batch size,
  // else eagerly (and captured, when graphs are wanted, after a few eager
  // steps have created every lazy state).
  // `images`: uint8 on the device.
  absl::Status Step(const torch::Tensor& images, const torch::Tensor& y,
                    double lr) {
    torch::Tensor x = normalizer_.Apply(images);
    x = Augment(x, augment_, augment_generator_);
    if (o_.device.channels_last) x = ToChannelsLast(x);
    if (graph_ != nullptr && x.size(0) == graph_->batch_size()) {
      graph_->Replay(x, y, lr);
      running_.Add(graph_->outputs().loss, graph_->outputs().logits,
                   graph_->labels());
      ++result_.graph_steps;
    } else {
      const StepGraph::Outputs out = StepBody(x, y, lr, nullptr);
      running_.Add(out.loss, out.logits, y);
      if (graph_wanted_ && graph_ == nullptr && step_ >= kEagerStepsFirst &&
          x.size(0) == o_.batch_size) {
        optimizer_->ClearGrads();
        ASSIGN_OR_RETURN(
            graph_, StepGraph::Capture(
                        [this](const torch::Tensor& images,
                               const torch::Tensor& labels,
                               const torch::Tensor& step_lr) {
                          return StepBody(images, labels, 0, &step_lr);
                        },
                        x, y));
      }
    }
    images_seen_ += y.size(0);
    ++step_;
    if (average_ != nullptr) average_->Update(step_);
    return absl::OkStatus();
  }

  // Forward, loss, backward, optimizer step; the learning rate from
  // `lr_tensor` when given (a captured step), else `lr`.
  StepGraph::Outputs StepBody(const torch::Tensor& x, const torch::Tensor& y,
                              double lr, const torch::Tensor* lr_tensor) {
    StepGraph::Outputs out;
    {
      AutocastScope autocast(precision_, device_);
      NetworkOutput forward =
          network_->forward(x, static_cast<double>(step_) / total_steps_);
      out.logits = forward.logits;
      out.loss = Loss(forward.logits, y, o_.label_smoothing);
      if (forward.aux_logits.defined()) {
        out.loss = out.loss + o_.aux_weight * Loss(forward.aux_logits, y,
                                                   o_.label_smoothing);
      }
    }
    optimizer_->ZeroGrad();
    if (scaler_.Backward(out.loss, network_, device_)) {
      if (o_.grad_clip_norm > 0) {
        torch::nn::utils::clip_grad_norm_(network_->parameters(),
                                          o_.grad_clip_norm);
      }
      if (lr_tensor != nullptr) {
        optimizer_->Step(*lr_tensor);
      } else {
        optimizer_->Step(lr);
      }
    }
    return out;
  }

  // Progress since the last report, and the validation accuracy at the end
  // of an epoch that asks for it.
  absl::Status Report(int epoch, bool end_of_epoch,
                      Clock::time_point epoch_start, double lr) {
    if (end_of_epoch) train_seconds_ += SecondsSince(epoch_start);
    TrainProgress progress;
    progress.epoch = epoch;
    progress.epochs = o_.epochs;
    progress.step = step_;
    progress.total_steps = total_steps_;
    progress.end_of_epoch = end_of_epoch;
    progress.learning_rate = lr;
    progress.train_loss = running_.MeanLoss(o_.batch_size);
    progress.train_accuracy = running_.Accuracy();
    const double seconds =
        train_seconds_ + (end_of_epoch ? 0 : SecondsSince(epoch_start));
    progress.images_per_second = seconds > 0 ? images_seen_ / seconds : 0;
    progress.train_seconds = seconds;
    result_.final_train_loss = progress.train_loss;
    result_.final_train_accuracy = progress.train_accuracy;
    running_.Reset();
    if (end_of_epoch && (o_.validate_every_epoch || epoch == o_.epochs)) {
      std::optional<WeightAverage::Scope> averaged;
      if (average_ != nullptr) averaged.emplace(*average_);
      ASSIGN_OR_RETURN(
          result_.validation_accuracy,
          EvaluateImpl(network_, data_.validation, normalizer_, device_,
                       o_.eval_batch_size > 0 || device_.is_cuda()
                           ? o_.eval_batch_size
                           : o_.batch_size,
                       precision_, o_.device.channels_last));
      progress.validation_accuracy = result_.validation_accuracy;
      network_->train();
    }
    progress.elapsed_seconds = SecondsSince(start_);
    if (callbacks_.on_progress) callbacks_.on_progress(progress);
    if (progress.validation_accuracy >= 0 && epoch < o_.epochs &&
        callbacks_.stop_early && callbacks_.stop_early(progress)) {
      result_.stopped_epoch = epoch;
    }
    return absl::OkStatus();
  }

  Network& network_;
  const PreparedData& data_;
  const TrainOptions& o_;
  const TrainCallbacks& callbacks_;
  const torch::Device device_;
  // data_.normalizer with its statistics on device_, copied once.
  const Normalizer normalizer_;
  const Precision precision_;
  const int64_t steps_per_epoch_;
  const int64_t total_steps_;
  const int64_t check_every_;
  const std::unique_ptr<Optimizer> optimizer_;
  // TrainOptions::ema_decay > 0 only.
  const std::unique_ptr<WeightAverage> average_;
  const bool graph_wanted_;
  // What is left of the augmentation after a stream's views (the crop and
  // flip done on uint8 when decoding).
  const AugmentOptions augment_;
  std::unique_ptr<StepGraph> graph_;  // once captured
  Rng order_rng_;
  torch::Generator augment_generator_;
  LossScaler scaler_;
  RunningStats running_;
  TrainResult result_;
  Clock::time_point start_;
  double train_seconds_ = 0;
  int64_t images_seen_ = 0;
  int64_t step_ = 0;
  torch::Generator* const training_generator_;
  const std::string_view resume_;
};

absl::StatusOr<TrainResult> TrainImpl(Network& network,
                                      const PreparedData& data,
                                      const TrainOptions& o,
                                      const TrainCallbacks& callbacks,
                                      torch::Generator* training_generator,
                                      std::string_view resume) {
  RETURN_IF_ERROR(ValidateTrainOptions(o));
  RETURN_IF_ERROR(CheckTrainable(data));
  return TrainingRun(network, data, o, callbacks, training_generator, resume)
      .Run();
}

}  // namespace

absl::StatusOr<PreparedData> PrepareData(const DataSplit& split,
                                         const torch::Device& device) {
  return GuardTorch(
      "moving the dataset to the device",
      [&]() -> absl::StatusOr<PreparedData> {
        PreparedData data;
        data.device = device;
        ASSIGN_OR_RETURN(data.normalizer, Normalizer::Measure(split.train));
        data.train = split.train;
        data.validation = split.validation;
        // Streamed sets stay files; their batches move as they are read.
        for (ImageDataset* set : {&data.train, &data.validation}) {
          if (set->streamed()) continue;
          set->images = set->images.to(device);
          set->labels = set->labels.to(device);
        }
        // The copies ran on this thread's stream; other threads (slots on
        // streams of their own) read the data without waiting on it.
        SynchronizeDevice(device);
        return data;
      });
}

absl::StatusOr<TrainResult> Train(Network& network, const PreparedData& data,
                                  const TrainOptions& options,
                                  const TrainCallbacks& callbacks,
                                  std::string_view resume_state) {
  return GuardTorch("training", [&]() {
    // Drop path and dropout of this run draw from its own generator.
    ScopedTrainingGenerator generator(options.seed ^ 0x5eedd4091ULL);
    return TrainImpl(network, data, options, callbacks, &generator.generator(),
                     resume_state);
  });
}

absl::StatusOr<double> EvaluateAccuracy(Network& network,
                                        const ImageDataset& data,
                                        const Normalizer& normalizer,
                                        const torch::Device& device,
                                        int batch_size, Precision precision) {
  if (batch_size < 0) {
    return absl::InvalidArgumentError("evaluation batch size must be >= 0");
  }
  return GuardTorch("evaluating", [&]() {
    return EvaluateImpl(network, data, normalizer, device, batch_size,
                        EffectivePrecision(precision, device),
                        /*channels_last=*/true);
  });
}

absl::StatusOr<TrainedModel> TrainGenotype(
    const Genotype& genotype, const NetworkOptions& network_options,
    const PreparedData& data, const TrainOptions& options,
    const TrainCallbacks& callbacks, std::string_view resume_state,
    const TrainedModel* parent) {
  RETURN_IF_ERROR(ValidateGenotype(genotype));
  RETURN_IF_ERROR(ValidateNetworkOptions(network_options));
  RETURN_IF_ERROR(ValidateTrainOptions(options));
  if (data.train.size() > 0 &&
      (data.train.channels() != network_options.input_channels ||
       data.train.image_size() != network_options.image_size ||
       data.train.num_classes != network_options.num_classes)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the network expects %dx%dx%d images and %d classes; the data has "
        "%dx%dx%d and %d",
        network_options.input_channels, network_options.image_size,
        network_options.image_size, network_options.num_classes,
        data.train.channels(), data.train.image_size(), data.train.image_size(),
        data.train.num_classes));
  }
  // On CUDA each run gets a stream of its own, so that the runs of a
  // worker's slots overlap on the GPU; a CUDA graph needs one in any case.
  DeviceStreamScope stream(options.device, data.device,
                           /*force=*/options.device.cuda_graphs);
  TrainedModel model;
  model.genotype = genotype;
  model.network_options = network_options;
  model.normalizer = data.normalizer;
  RETURN_IF_ERROR(GuardTorch("building the network", [&]() -> absl::Status {
    // Initialisation draws from the default generator: seed and build
    // under its lock, so a run in another slot cannot take draws between.
    {
      std::unique_lock<std::mutex> lock = LockDefaultGenerator();
      torch::manual_seed(options.seed);
      model.network = Network(genotype, network_options);
    }
    model.network->to(data.device);
    // NHWC weights too: a one-channel input (Fashion-MNIST) is the same in
    // both layouts, and the convolutions follow the layout of the weights
    // when the input has none.
    if (options.device.channels_last) {
      UseChannelsLast(model.network);
    }
    return absl::OkStatus();
  }));
  Inheritance inheritance;
  absl::Status inheritance_status = absl::OkStatus();
  if (parent != nullptr) {
    Network parent_network = parent->network;  // shares the module
    absl::StatusOr<Inheritance> inherited = InheritWeights(
        parent->genotype, parent_network, genotype, model.network);
    if (inherited.ok()) {
      inheritance = *inherited;
    } else {
      inheritance_status = inherited.status();
    }
  }
  absl::StatusOr<TrainResult> result =
      Train(model.network, data, options, callbacks, resume_state);
  // The next network has other shapes: cached blocks of this one would
  // only hold memory.
  ReleaseCachedCpuMemory();
  if (!result.ok()) return result.status();
  model.result = *std::move(result);
  if (parent != nullptr) {
    model.result.inherited = inheritance_status.ok();
    model.result.inherited_parameters = inheritance.parameters_copied;
    model.result.inheritable_parameters =
        inheritance_status.ok() ? inheritance.parameters
                                : model.network->num_parameters(true);
    model.result.inheritance_error = std::string(inheritance_status.message());
  }
  return model;
}

}  // namespace amoeba
