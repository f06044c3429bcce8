#include "trainer/train.h"


#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "trainer/cpu_allocator.h"
#include "trainer/generator.h"

namespace amoeba {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// LibTorch reports errors as exceptions; inside trainer/ they become
// statuses. Out-of-memory is told apart so the worker can report it as such.
absl::Status TorchErrorToStatus(const std::exception& e,
                                absl::string_view during) {
  std::string what = e.what();
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    what = c10_error->what_without_backtrace();
  }
  if (what.size() > 2000) what = what.substr(0, 2000) + "...";
  // CUDA says "out of memory"; LibTorch's CPU allocators "not enough memory".
  if (absl::StrContains(what, "out of memory") ||
      absl::StrContains(what, "not enough memory") ||
      dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory while ", during, ": ", what));
  }
  return absl::InternalError(
      absl::StrCat("LibTorch error while ", during, ": ", what));
}

template <typename Fn>
auto GuardTorch(absl::string_view during, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, during);
  }
}

double LearningRateAt(const TrainOptions& o, int64_t step, int64_t total,
                      int64_t steps_per_epoch) {
  const int64_t warmup = static_cast<int64_t>(
      o.warmup_epochs * static_cast<double>(steps_per_epoch));
  if (step < warmup) {
    return o.learning_rate * static_cast<double>(step + 1) / warmup;
  }
  const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
  const double t = static_cast<double>(step - warmup) / span;
  return 0.5 * o.learning_rate * (1.0 + std::cos(M_PI * t));
}

torch::Tensor Loss(const torch::Tensor& logits, const torch::Tensor& labels,
                   double label_smoothing) {
  return torch::nn::functional::cross_entropy(
      logits.to(torch::kFloat32), labels,
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(
          label_smoothing));
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

// contiguous(ChannelsLast) keeps a tensor whose strides already qualify,
// and with one channel (a Fashion-MNIST batch, the stem's weight, every
// depthwise weight) NCHW strides do; MKL-DNN and cuDNN then still see NCHW
// and reorder to and from their blocked layouts around every convolution.
// A copy into NHWC's own strides is unambiguous.
torch::Tensor ToChannelsLast(const torch::Tensor& t) {
  if (t.suggest_memory_format() == c10::MemoryFormat::ChannelsLast) return t;
  return torch::empty_like(t, {}, c10::MemoryFormat::ChannelsLast).copy_(t);
}

void UseChannelsLast(Network& network) {
  torch::NoGradGuard no_grad;
  for (auto& p : network->parameters()) {
    if (p.dim() == 4) p.set_data(ToChannelsLast(p.data()));
  }
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
  torch::Tensor correct = torch::zeros(
      {}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  for (int64_t start = 0; start < data.size(); start += batch_size) {
    const int64_t end = std::min(start + batch_size, data.size());
    torch::Tensor images = data.images.slice(0, start, end).to(device);
    torch::Tensor labels = data.labels.slice(0, start, end).to(device);
    torch::Tensor x = normalizer.Apply(images);
    if (channels_last) x = ToChannelsLast(x);
    torch::Tensor logits;
    {
      AutocastScope autocast(precision, device);
      logits = network->forward(x).logits;
    }
    correct += logits.argmax(1).eq(labels).sum();
  }
  return static_cast<double>(correct.item<int64_t>()) /
         static_cast<double>(data.size());
}

absl::StatusOr<TrainResult> TrainImpl(Network& network,
                                      const PreparedData& data,
                                      const TrainOptions& o,
                                      const TrainCallbacks& callbacks) {
  RETURN_IF_ERROR(ValidateTrainOptions(o));
  const int64_t n = data.train.size();
  if (n < 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("need at least 2 training images, got %d", n));
  }
  if (data.validation.size() == 0) {
    return absl::InvalidArgumentError("the validation set is empty");
  }
  const torch::Device device = data.device;
  const Precision precision = EffectivePrecision(o.device.precision, device);
  const bool channels_last = o.device.channels_last;
  const int64_t batch = o.batch_size;
  const int64_t steps_per_epoch = (n + batch - 1) / batch;
  const int64_t total_steps = steps_per_epoch * o.epochs;
  // Reading the loss forces a device sync: every step on CPU (free), every
  // 50 steps on a GPU.
  const int64_t check_every = device.is_cuda() ? 50 : 1;

  torch::optim::SGD optimizer(network->parameters(),
                              torch::optim::SGDOptions(o.learning_rate)
                                  .momentum(o.momentum)
                                  .weight_decay(o.weight_decay));
  Rng order_rng(o.seed ^ 0x0da7a0dde5ULL);
  torch::Generator augment_generator = at::detail::createCPUGenerator(o.seed);
  double loss_scale = 65536.0;  // fp16 only
  int good_steps = 0;

  TrainResult result;
  result.parameters = network->num_parameters();
  result.multiply_adds = network->multiply_adds();
  const auto start = Clock::now();
  double train_seconds = 0;
  int64_t images_seen = 0;
  int64_t step = 0;

  torch::Tensor running_loss;
  torch::Tensor running_correct;
  int64_t running_count = 0;
  auto reset_running = [&] {
    const auto opts = torch::TensorOptions().device(device);
    running_loss = torch::zeros({}, opts.dtype(torch::kFloat64));
    running_correct = torch::zeros({}, opts.dtype(torch::kInt64));
    running_count = 0;
  };
  reset_running();

  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    network->train();
    const auto epoch_start = Clock::now();
    const torch::Tensor order = Permutation(n, order_rng, device);
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      if (callbacks.should_cancel && callbacks.should_cancel()) {
        return absl::CancelledError(absl::StrFormat(
            "training cancelled at epoch %d, step %d", epoch, step));
      }
      const torch::Tensor idx =
          order.slice(0, s * batch, std::min((s + 1) * batch, n));
      const double lr = LearningRateAt(o, step, total_steps, steps_per_epoch);
      if (idx.size(0) < 2) {  // batch norm needs two samples
        ++step;
        continue;
      }
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      }
      torch::Tensor x =
          data.normalizer.Apply(data.train.images.index_select(0, idx));
      const torch::Tensor y = data.train.labels.index_select(0, idx);
      x = Augment(x, o.augment, augment_generator);
      if (channels_last) x = ToChannelsLast(x);

      NetworkOutput out;
      torch::Tensor loss;
      {
        AutocastScope autocast(precision, device);
        out = network->forward(x, static_cast<double>(step) / total_steps);
        loss = Loss(out.logits, y, o.label_smoothing);
        if (out.aux_logits.defined()) {
          loss =
              loss + o.aux_weight * Loss(out.aux_logits, y, o.label_smoothing);
        }
      }
      optimizer.zero_grad();
      bool apply_step = true;
      if (precision == Precision::kFloat16) {
        // Dynamic loss scaling: fp16 gradients underflow without it.
        (loss * loss_scale).backward();
        // One device sync per step for the overflow check, not one per
        // parameter.
        torch::Tensor all_finite = torch::ones(
            {}, torch::TensorOptions().dtype(torch::kBool).device(device));
        for (auto& p : network->parameters()) {
          if (!p.grad().defined()) continue;
          p.mutable_grad().div_(loss_scale);
          all_finite = all_finite.logical_and(torch::isfinite(p.grad()).all());
        }
        const bool finite = all_finite.item<bool>();
        if (!finite) {
          loss_scale /= 2;
          good_steps = 0;
          apply_step = loss_scale >= 1.0;
        } else if (++good_steps == 2000) {
          loss_scale *= 2;
          good_steps = 0;
        }
      } else {
        loss.backward();
      }
      if (apply_step) {
        if (o.grad_clip_norm > 0) {
          torch::nn::utils::clip_grad_norm_(network->parameters(),
                                            o.grad_clip_norm);
        }
        optimizer.step();
      }
      running_loss += loss.detach().to(torch::kFloat64);
      running_correct += out.logits.detach().argmax(1).eq(y).sum();
      running_count += idx.size(0);
      images_seen += idx.size(0);
      ++step;

      const bool end_of_epoch = s + 1 == steps_per_epoch;
      const bool report = end_of_epoch || (o.progress_every_steps > 0 &&
                                           step % o.progress_every_steps == 0);
      if (!report && step % check_every != 0) continue;

      const double loss_sum = running_loss.item<double>();
      if (!std::isfinite(loss_sum)) {
        return absl::AbortedError(absl::StrFormat(
            "training diverged: loss is %s at epoch %d, step %d (learning "
            "rate %g)",
            std::isnan(loss_sum) ? "nan" : "inf", epoch, step, lr));
      }
      if (!report) continue;
      if (end_of_epoch) train_seconds += SecondsSince(epoch_start);
      TrainProgress progress;
      progress.epoch = epoch;
      progress.epochs = o.epochs;
      progress.step = step;
      progress.total_steps = total_steps;
      progress.end_of_epoch = end_of_epoch;
      progress.learning_rate = lr;
      const double steps_in_window =
          std::ceil(static_cast<double>(running_count) / batch);
      progress.train_loss = running_loss.item<double>() / steps_in_window;
      progress.train_accuracy =
          static_cast<double>(running_correct.item<int64_t>()) / running_count;
      const double seconds =
          train_seconds + (end_of_epoch ? 0 : SecondsSince(epoch_start));
      progress.images_per_second = seconds > 0 ? images_seen / seconds : 0;
      progress.train_seconds = seconds;
      result.final_train_loss = progress.train_loss;
      result.final_train_accuracy = progress.train_accuracy;
      reset_running();
      if (end_of_epoch && (o.validate_every_epoch || epoch == o.epochs)) {
        ASSIGN_OR_RETURN(
            result.validation_accuracy,
            EvaluateImpl(network, data.validation, data.normalizer, device,
                         o.eval_batch_size > 0 || device.is_cuda()
                             ? o.eval_batch_size
                             : o.batch_size,
                         precision, channels_last));
        progress.validation_accuracy = result.validation_accuracy;
        network->train();
      }
      progress.elapsed_seconds = SecondsSince(start);
      if (callbacks.on_progress) callbacks.on_progress(progress);
    }
  }
  result.steps = step;
  result.train_seconds = train_seconds;
  result.total_seconds = SecondsSince(start);
  result.images_per_second =
      train_seconds > 0 ? images_seen / train_seconds : 0;
  return result;
}

}  // namespace

absl::Status ValidateTrainOptions(const TrainOptions& o) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("training options: ", what));
  };
  if (o.epochs < 1 || o.epochs > 100000) {
    return bad(
        absl::StrFormat("epochs must be in 1..100000, got %d", o.epochs));
  }
  if (o.batch_size < 2 || o.batch_size > 65536) {
    return bad(absl::StrFormat("batch size must be in 2..65536, got %d",
                               o.batch_size));
  }
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) {
    return bad(
        absl::StrFormat("learning rate must be > 0, got %g", o.learning_rate));
  }
  if (o.momentum < 0 || o.momentum >= 1) {
    return bad(
        absl::StrFormat("momentum must be in [0, 1), got %g", o.momentum));
  }
  if (o.weight_decay < 0) {
    return bad(
        absl::StrFormat("weight decay must be >= 0, got %g", o.weight_decay));
  }
  if (o.warmup_epochs < 0 || o.warmup_epochs > o.epochs) {
    return bad(absl::StrFormat("warm-up epochs must be in [0, epochs], got %g",
                               o.warmup_epochs));
  }
  if (o.label_smoothing < 0 || o.label_smoothing >= 1) {
    return bad(absl::StrFormat("label smoothing must be in [0, 1), got %g",
                               o.label_smoothing));
  }
  if (o.grad_clip_norm < 0) {
    return bad(absl::StrFormat("gradient clip norm must be >= 0, got %g",
                               o.grad_clip_norm));
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

absl::StatusOr<PreparedData> PrepareData(const DataSplit& split,
                                         const torch::Device& device) {
  return GuardTorch(
      "moving the dataset to the device",
      [&]() -> absl::StatusOr<PreparedData> {
        PreparedData data;
        data.device = device;
        data.normalizer = Normalizer::FromDataset(split.train);
        data.train = split.train;
        data.train.images = split.train.images.to(device);
        data.train.labels = split.train.labels.to(device);
        data.validation = split.validation;
        data.validation.images = split.validation.images.to(device);
        data.validation.labels = split.validation.labels.to(device);
        return data;
      });
}

absl::StatusOr<TrainResult> Train(Network& network, const PreparedData& data,
                                  const TrainOptions& options,
                                  const TrainCallbacks& callbacks) {
  return GuardTorch("training", [&]() {
    // Drop path and dropout of this run draw from its own generator.
    ScopedTrainingGenerator generator(options.seed ^ 0x5eedd4091ULL);
    return TrainImpl(network, data, options, callbacks);
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
    const TrainCallbacks& callbacks) {
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
  absl::StatusOr<TrainResult> result =
      Train(model.network, data, options, callbacks);
  // The next network has other shapes: cached blocks of this one would
  // only hold memory.
  ReleaseCachedCpuMemory();
  if (!result.ok()) return result.status();
  model.result = *std::move(result);
  return model;
}

}  // namespace amoeba
