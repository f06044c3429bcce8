#include "worker/libtorch_evaluator.h"

#include "absl/strings/str_cat.h"
#include "genotype/genotype_proto.h"
#include "glog/logging.h"

namespace amoeba {

LibTorchEvaluator::LibTorchEvaluator(DeviceOptions device, std::string data_dir)
    : device_options_(std::move(device)), data_dir_(std::move(data_dir)) {}

absl::StatusOr<std::shared_ptr<const PreparedData>> LibTorchEvaluator::Data(
    const v1::TrainingSettings& settings, const torch::Device& device) {
  const std::string key =
      absl::StrCat(settings.dataset(), "/", settings.validation_images(), "/",
                   settings.max_train_images());
  absl::MutexLock lock(&mu_);
  auto it = data_.find(key);
  if (it != data_.end()) return it->second;
  auto kind = DatasetKindFromName(settings.dataset());
  if (!kind.ok()) return kind.status();
  DataOptions options;
  options.kind = *kind;
  options.dir = data_dir_;
  options.validation_images = settings.validation_images();
  options.max_train_images = settings.max_train_images();
  LOG(INFO) << "loading " << settings.dataset() << " (validation "
            << options.validation_images << ", train cap "
            << options.max_train_images << ") onto " << device.str();
  auto split = LoadDataSplit(options);
  if (!split.ok()) return split.status();
  auto prepared = PrepareData(*split, device);
  if (!prepared.ok()) return prepared.status();
  auto shared = std::make_shared<const PreparedData>(std::move(*prepared));
  data_[key] = shared;
  return shared;
}

EvaluationResult LibTorchEvaluator::Evaluate(
    const v1::Task& task, const EvaluationCallbacks& callbacks) {
  EvaluationResult result;
  auto genotype = GenotypeFromProto(task.genotype());
  if (!genotype.ok()) {
    result.failure = absl::StrCat("bad genotype from the controller: ",
                                  genotype.status().message());
    return result;
  }
  auto device = ResolveDevice(device_options_);
  if (!device.ok()) {
    result.failure = std::string(device.status().message());
    return result;
  }
  ConfigureRuntime(device_options_, *device);
  auto data = Data(task.settings(), *device);
  if (!data.ok()) {
    result.failure = std::string(data.status().message());
    return result;
  }
  const v1::TrainingSettings& s = task.settings();
  NetworkOptions network;
  network.cells_per_stack = s.cells_per_stack();
  network.filters = s.filters();
  network.input_channels = (*data)->train.channels();
  network.image_size = (*data)->train.image_size();
  network.num_classes = (*data)->train.num_classes;
  TrainOptions train;
  train.epochs = s.epochs();
  train.batch_size = s.batch_size();
  train.learning_rate = s.learning_rate();
  train.weight_decay = s.weight_decay();
  train.seed = s.seed() == 0 ? 1 : s.seed();
  auto kind = DatasetKindFromName(s.dataset());
  if (kind.ok()) train.augment = DefaultAugmentation(*kind);
  train.device = device_options_;
  TrainCallbacks train_callbacks;
  train_callbacks.should_cancel = callbacks.should_cancel;
  train_callbacks.on_progress = [&](const TrainProgress& p) {
    if (!callbacks.on_progress || !p.end_of_epoch) return;
    EvaluationProgress e;
    e.epoch = p.epoch;
    e.epochs = p.epochs;
    e.train_loss = p.train_loss;
    e.train_accuracy = p.train_accuracy;
    e.validation_accuracy = p.validation_accuracy;
    e.images_per_second = p.images_per_second;
    callbacks.on_progress(e);
  };
  auto model = TrainGenotype(*genotype, network, **data, train, train_callbacks);
  if (!model.ok()) {
    result.failure = std::string(model.status().message());
    result.diverged = model.status().code() == absl::StatusCode::kAborted;
    result.cancelled = model.status().code() == absl::StatusCode::kCancelled;
    return result;
  }
  result.ok = true;
  result.fitness = model->result.validation_accuracy;
  result.parameters = model->result.parameters;
  result.multiply_adds = model->result.multiply_adds;
  result.train_seconds = model->result.train_seconds;
  result.images_per_second = model->result.images_per_second;
  return result;
}

}  // namespace amoeba
